"""Rules that can never match, and the catch-all every set must end with.

A rule's ``match`` is read as a conjunction of atoms (one per key, with ``all_of``
flattened). A later rule B is shadowed by an earlier rule A when every atom of A is implied
by an atom of B: the same atom, or, for plain ``equals``/``one_of`` of text on the same
field, B's accepted values are a subset of A's. The analysis is sound (no false alarms) and
deliberately incomplete: it cannot see through ``any_of``, ``not`` or regexes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from oversight.policy.consistency import PlacedRule
from oversight.policy.exceptions import Problem
from oversight.policy.matching import exact_values
from oversight.policy.schemas import Match, Operators


@dataclass(frozen=True)
class Atoms:
    """The conjunction a ``match`` stands for."""

    exact: frozenset[str]
    sets: dict[str, frozenset[str]]
    keys: frozenset[str]

    @classmethod
    def of(cls, exact: frozenset[str], sets: dict[str, frozenset[str]]) -> Atoms:
        return cls(exact, sets, exact | frozenset("set:" + target for target in sets))

    @property
    def everything(self) -> bool:
        return not self.keys

    def implied_by(self, other: Atoms) -> bool:
        """True when every event matching ``other`` also matches ``self``."""
        if not self.keys <= other.keys:
            return False
        return all(other.sets[target] <= accepted for target, accepted in self.sets.items())


def _canonical(*parts: Any) -> str:
    def plain(value: Any) -> Any:
        if isinstance(value, BaseModel):
            return value.model_dump(mode="json", by_alias=True)
        return value
    return json.dumps([plain(part) for part in parts], sort_keys=True, separators=(",", ":"))


def match_atoms(match: Match | None) -> Atoms:
    """Atoms of a ``match`` (none for a missing or empty one)."""
    exact: set[str] = set()
    sets: dict[str, frozenset[str]] = {}

    def add(target: str, test: Any, *, roles: bool = False) -> None:
        accepted = None if roles and isinstance(test, Operators) else exact_values(test)
        if accepted is None or (roles and target in sets):
            # "has one of S1" and "has one of S2" is not "has one of S1 ∩ S2": keep it whole.
            exact.add(_canonical(target, test))
        else:
            # "is one of S1" and "is one of S2" is "is one of S1 ∩ S2".
            sets[target] = sets[target] & accepted if target in sets else accepted

    def walk(spec: Match) -> None:
        given = spec.model_fields_set
        for name in ("graph", "node", "action"):
            if name in given:
                add(name, getattr(spec, name))
        for path, test in (spec.payload or {}).items():
            add("payload." + path, test)
        if spec.requester is not None:
            for name in spec.requester.model_fields_set:
                add("requester." + name, getattr(spec.requester, name), roles=name == "roles")
        if spec.time is not None:
            exact.add(_canonical("time", spec.time))
        for item in spec.all_of or ():
            walk(item)
        if spec.any_of:
            exact.add(_canonical("any_of", *spec.any_of))
        if spec.not_ is not None:
            exact.add(_canonical("not", spec.not_))

    if match is not None:
        walk(match)
    return Atoms.of(frozenset(exact), sets)


def order_problems(rules: Sequence[PlacedRule]) -> list[Problem]:
    """Catch-all placement and shadowed rules, for rules in set order."""
    if not rules:
        return []
    atoms = [match_atoms(rule.spec.match) for rule in rules]
    problems: list[Problem] = []
    catch_alls = [number for number, item in enumerate(atoms) if item.everything]
    last = rules[-1]
    if not atoms[-1].everything:
        problems.append(last.problem((), (
            "the policy set must end with a rule that matches every event, so that nothing "
            "falls through silently (expected a last rule without match, e.g. "
            "'- id: default' with require: {approvers: [{role: operator}], deadline: 4h})")))
    for number in catch_alls[:-1] if atoms[-1].everything else catch_alls:
        after = [rule.spec.id for rule in rules[number + 1:]]
        listed = ", ".join(after[:5]) + (", …" if len(after) > 5 else "")
        problems.append(rules[number].problem((), (
            f"matches every event, so the {len(after)} rule(s) after it ({listed}) can never "
            "match; a rule without match must be the last one")))
    first_catch_all = catch_alls[0] if catch_alls else len(rules)
    limit = min(first_catch_all + 1, len(rules))
    for later_number, earlier_number in _shadows(atoms[:limit]):
        shadow = rules[earlier_number]
        problems.append(rules[later_number].problem(("match",), (
            f"can never match: rule '{shadow.spec.id}' ({shadow.where}) comes first and "
            "matches every event this rule matches; move this rule above it or make "
            f"'{shadow.spec.id}' narrower"), key=True))
    return problems


def _shadows(atoms: Sequence[Atoms]) -> list[tuple[int, int]]:
    """(later, first earlier rule shadowing it) for every shadowed rule.

    An earlier rule that accepts only some actions can only shadow a later rule whose
    actions are among them, so earlier rules are filed by action: a 200-rule set is
    checked against a handful of candidates per rule instead of every earlier rule.
    """
    by_action: dict[str, list[int]] = {}
    without_action: list[int] = []
    found: list[tuple[int, int]] = []
    for number, later in enumerate(atoms):
        actions = later.sets.get("action")
        candidates = without_action
        if actions:
            candidates = sorted({*without_action, *by_action.get(next(iter(actions)), ())})
        for earlier_number in candidates:
            earlier = atoms[earlier_number]
            if not earlier.everything and earlier.implied_by(later):
                found.append((number, earlier_number))
                break
        if actions:
            for action in actions:
                by_action.setdefault(action, []).append(number)
        else:
            without_action.append(number)
    return found
