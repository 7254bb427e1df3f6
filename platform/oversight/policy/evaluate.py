"""A loaded policy set: its version and first-match evaluation.

The version is ``sha256:`` + the SHA-256 of the set's canonical form: the UTF-8 JSON, keys
sorted, no spaces, of ``{"format": 1, "rules": [...]}`` where ``rules`` lists every rule in
evaluation order as validated and normalised (defaults filled in, durations as ISO 8601,
value shorthands kept as written). Comments, formatting, key order, anchors and file names
do not change the version; rule order, ids, descriptions and every condition do.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from oversight.logs import get_logger
from oversight.policy.consistency import PlacedRule
from oversight.policy.outcomes import PolicyEvent, PolicyOutcome
from oversight.policy.rules import PolicyRule, compile_rule


@dataclass(frozen=True)
class PolicySource:
    """One policy file as read: the name shown to people and its text."""

    path: str
    text: str


def canonical_form(rules: Sequence[PlacedRule]) -> bytes:
    """The canonical JSON of a set whose rules are in evaluation order."""
    document = {"format": 1,
                "rules": [rule.spec.model_dump(mode="json", by_alias=True) for rule in rules]}
    return json.dumps(document, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode()


class PolicySet:
    """Rules in evaluation order; ``evaluate`` returns the first match's outcome."""

    def __init__(self, placed: Sequence[PlacedRule], sources: Sequence[PolicySource]) -> None:
        self.canonical = canonical_form(placed)
        self.version = "sha256:" + hashlib.sha256(self.canonical).hexdigest()
        self.sources = tuple(sources)
        self.rules: tuple[PolicyRule, ...] = tuple(compile_rule(rule, self.version)
                                                   for rule in placed)
        self._by_id = {rule.id: rule for rule in self.rules}
        # Rules that can only match one of a few actions are skipped for other actions.
        unconstrained = tuple(rule for rule in self.rules if rule.actions is None)
        actions = {action for rule in self.rules for action in rule.actions or ()}
        self._unconstrained = unconstrained
        self._by_action = {action: tuple(rule for rule in self.rules
                                         if rule.actions is None or action in rule.actions)
                           for action in actions}

    def __repr__(self) -> str:
        return f"<PolicySet {self.version[:19]}… {len(self.rules)} rules>"

    def rule(self, rule_id: str) -> PolicyRule | None:
        """The rule with this id, if any."""
        return self._by_id.get(rule_id)

    def candidates(self, event: PolicyEvent) -> tuple[PolicyRule, ...]:
        """The rules that could match this event, in order."""
        action = event.action
        if type(action) is not str:
            return self.rules
        return self._by_action.get(action, self._unconstrained)

    def first_match(self, event: PolicyEvent) -> PolicyRule | None:
        """The rule that decides this event (None only if the set lacks a catch-all)."""
        for rule in self.candidates(event):
            if rule.condition.holds(event):
                return rule
        return None

    def evaluate(self, event: PolicyEvent) -> PolicyOutcome:
        """The outcome for an event. Never raises: a failure denies, and is logged."""
        try:
            rule = self.first_match(event)
            if rule is not None:
                return rule.outcome_for(event)
            reason = "no rule matched this event"
        except Exception as exc:
            get_logger("policy").error("policy.evaluation_failed", policy_version=self.version,
                      graph=str(event.graph)[:200], action=str(event.action)[:200],
                      error=type(exc).__name__)
            reason = "the policy engine failed on this event"
        return PolicyOutcome(kind="deny", rule_id="", policy_version=self.version,
                             reason=reason + "; denied for safety")

    def walk(self, event: PolicyEvent) -> Iterator[tuple[PolicyRule, bool]]:
        """Every rule in order with whether it matched, up to the first match."""
        for rule in self.rules:
            matched = rule.condition.holds(event)
            yield rule, matched
            if matched:
                return

    def source_texts(self) -> dict[str, str]:
        """File name → text of every source file."""
        return {source.path: source.text for source in self.sources}
