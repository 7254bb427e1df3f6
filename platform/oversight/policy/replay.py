"""Replaying past events through a candidate set: which outcomes would change.

The "before" of an event is either the outcome recorded when it happened (rule and kind)
or, when a baseline set is given (the set in force), that set's full outcome; with a
baseline, a change of approvers, deadline or step-up under the same rule counts too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from oversight.policy.durations import describe_duration
from oversight.policy.evaluate import PolicySet
from oversight.policy.eventfiles import RecordedEvent
from oversight.policy.exceptions import PolicyInvalid, Problem
from oversight.policy.explain import describe_event, describe_groups, summarize_outcome
from oversight.policy.outcomes import PolicyOutcome, Requirement


@dataclass(frozen=True)
class OutcomeChange:
    """One event whose outcome would change."""

    label: str
    event_summary: str
    before_rule: str
    before_kind: str
    after_rule: str
    after_kind: str
    before: str
    after: str
    details: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"event": self.label, "summary": self.event_summary,
                "before": {"rule_id": self.before_rule, "kind": self.before_kind,
                           "text": self.before},
                "after": {"rule_id": self.after_rule, "kind": self.after_kind,
                          "text": self.after},
                "details": list(self.details)}


@dataclass(frozen=True)
class ReplayReport:
    """All events replayed; the changes among them."""

    candidate_version: str
    baseline_version: str | None
    total: int
    changes: tuple[OutcomeChange, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"candidate_version": self.candidate_version,
                "baseline_version": self.baseline_version, "events": self.total,
                "changed": len(self.changes),
                "changes": [change.as_dict() for change in self.changes]}


def _requirement_view(requirement: Requirement | None) -> dict[str, str]:
    if requirement is None:
        return {}
    step_up = requirement.step_up
    return {
        "approvers": describe_groups(requirement.approvers),
        "separation of duties": "earlier approvers excluded"
        if requirement.exclude_earlier_approvers else "standard",
        "step-up": "none" if step_up is None else ", ".join(
            [*(f"amr {item}" for item in step_up.amr), *(f"acr {item}" for item in step_up.acr),
             *([f"within {describe_duration(step_up.max_age)}"] if step_up.max_age else [])]),
        "decisions": ", ".join(requirement.decisions),
        "editable": ", ".join(requirement.editable_fields) or "nothing",
        "deadline": describe_duration(requirement.deadline),
        "on timeout": " → ".join([*(describe_groups(step.approvers)
                                    for step in requirement.on_timeout.escalate),
                                  requirement.on_timeout.then]),
        "notify": ", ".join(requirement.notify) or "nobody",
        "minimum review": f"{requirement.min_review_seconds} s",
    }


def outcome_details(before: PolicyOutcome, after: PolicyOutcome) -> tuple[str, ...]:
    """What differs between two outcomes, one line per aspect."""
    details = []
    if before.rule_id != after.rule_id:
        details.append(f"rule: {before.rule_id} → {after.rule_id}")
    if before.kind != after.kind:
        details.append(f"outcome: {before.kind} → {after.kind}")
    if before.reason != after.reason and (before.kind != "require" or after.kind != "require"):
        details.append(f"reason: {before.reason!r} → {after.reason!r}")
    old, new = _requirement_view(before.requirement), _requirement_view(after.requirement)
    if old and new:
        details.extend(f"{key}: {old[key]} → {new[key]}" for key in old if old[key] != new[key])
    return tuple(details)


def _comparable(outcome: PolicyOutcome) -> dict[str, Any]:
    return outcome.model_dump(mode="json", exclude={"policy_version"})


def replay(candidate: PolicySet, records: Iterable[RecordedEvent],
           baseline: PolicySet | None = None) -> ReplayReport:
    """Evaluate every record with ``candidate`` and report the outcomes that change."""
    changes: list[OutcomeChange] = []
    missing: list[Problem] = []
    total = 0
    for record in records:
        total += 1
        after = candidate.evaluate(record.event)
        if baseline is not None:
            before = baseline.evaluate(record.event)
            if _comparable(before) == _comparable(after):
                continue
            details = outcome_details(before, after)
            before_rule, before_kind, before_text = (before.rule_id, before.kind,
                                                     summarize_outcome(before))
        elif record.outcome is not None:
            recorded = record.outcome
            if (recorded.rule_id, recorded.kind) == (after.rule_id, after.kind):
                continue
            before_rule, before_kind = recorded.rule_id, recorded.kind
            before_text = f"{recorded.rule_id}: {recorded.kind.replace('_', ' ')}"
            details = tuple(line for line in (
                f"rule: {recorded.rule_id} → {after.rule_id}"
                if recorded.rule_id != after.rule_id else "",
                f"outcome: {recorded.kind} → {after.kind}"
                if recorded.kind != after.kind else "") if line)
        else:
            missing.append(Problem(record.file, record.line, record.column, (
                "this event has no recorded outcome; give the set in force with --against, or "
                "add outcome: {kind: ..., rule_id: ...}")))
            continue
        changes.append(OutcomeChange(
            label=record.label, event_summary=describe_event(record.event),
            before_rule=before_rule, before_kind=before_kind, after_rule=after.rule_id,
            after_kind=after.kind, before=before_text, after=summarize_outcome(after),
            details=details))
    if missing:
        raise PolicyInvalid(missing)
    return ReplayReport(candidate.version, baseline.version if baseline else None, total,
                        tuple(changes))


def render_replay(report: ReplayReport) -> str:
    """The report as text: each change as "old rule → new rule" with what differs."""
    against = (f"the set {report.baseline_version[:19]}…" if report.baseline_version
               else "the recorded outcomes")
    lines = [f"Replayed {report.total} event(s) through {report.candidate_version[:19]}… "
             f"against {against}.",
             f"{len(report.changes)} outcome(s) would change."]
    for change in report.changes:
        lines += ["", f"{change.label}: {change.event_summary}",
                  f"  {change.before_rule or '(none)'} → {change.after_rule or '(none)'}",
                  f"    before: {change.before}", f"    after:  {change.after}"]
        lines.extend(f"    - {detail}" for detail in change.details)
    return "\n".join(lines)
