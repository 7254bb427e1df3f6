"""Why an event got its outcome, in sentences a policy author can read: which rule
matched, why each earlier rule did not, and what the outcome requires."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from oversight.policy.conditions import show
from oversight.policy.durations import describe_duration
from oversight.policy.evaluate import PolicySet
from oversight.policy.outcomes import ApproverGroup, PolicyEvent, PolicyOutcome, Requirement

_DECISION_WORDS = {"approve": "approve", "reject": "reject", "edit": "edit",
                   "respond": "answer with a message"}


@dataclass(frozen=True)
class RuleCheck:
    """One rule tried for an event: did it match, and if not, why."""

    rule_id: str
    where: str
    matched: bool
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Explanation:
    """The rules tried in order, up to the one that matched, and the outcome."""

    event: PolicyEvent
    checks: tuple[RuleCheck, ...]
    outcome: PolicyOutcome

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON for ``--json``."""
        return {
            "policy_version": self.outcome.policy_version,
            "rule_id": self.outcome.rule_id,
            "checks": [{"rule_id": check.rule_id, "where": check.where,
                        "matched": check.matched, "reasons": list(check.reasons)}
                       for check in self.checks],
            "outcome": self.outcome.model_dump(mode="json"),
            "summary": describe_outcome(self.outcome, self.event),
        }


def explain_event(policy_set: PolicySet, event: PolicyEvent) -> Explanation:
    """Try every rule in order, recording why each one before the match did not match."""
    checks = []
    for rule, matched in policy_set.walk(event):
        reasons = () if matched else tuple(rule.condition.failures(event))
        checks.append(RuleCheck(rule.id, rule.where, matched, reasons))
    return Explanation(event, tuple(checks), policy_set.evaluate(event))


def _group(group: ApproverGroup) -> str:
    people = f"{group.count} {'person' if group.count == 1 else 'different people'}"
    if group.subject is not None or group.subject_from is not None:
        person = (f"{show(group.subject)} (named in {group.subject_from})" if group.subject
                  else f"the person named in {group.subject_from}")
        return person + (f", who must have the role {group.role}" if group.role else "")
    return f"{people} with the role {group.role}"


def describe_groups(groups: tuple[ApproverGroup, ...]) -> str:
    """``2 different people with the role dba and 1 person with the role security``."""
    return " and ".join(_group(group) for group in groups)


def describe_requirement(requirement: Requirement, event: PolicyEvent | None = None) -> list[str]:
    """The requirement as sentences."""
    lines = [f"Who must approve: {describe_groups(requirement.approvers)}."]
    requester = event.requester.subject if event and event.requester else None
    duties = [f"the requester ({requester}) may not approve" if requester else
              "the requester may not approve", "each approver must be a different person"]
    if requirement.exclude_earlier_approvers:
        duties.append("nobody who approved an earlier step of this thread may approve")
    lines.append("Separation of duties: " + "; ".join(duties) + ".")
    if requirement.step_up is not None:
        step_up = requirement.step_up
        parts = []
        if step_up.amr:
            parts.append("with " + " and ".join(step_up.amr) + " (amr)")
        if step_up.acr:
            parts.append("at assurance level " + " or ".join(step_up.acr) + " (acr)")
        if step_up.max_age is not None:
            parts.append(f"at most {describe_duration(step_up.max_age)} before deciding")
        lines.append("Sign-in: approvers must have signed in " + ", ".join(parts) + ".")
    decisions = [_DECISION_WORDS[decision] for decision in requirement.decisions]
    lines.append("Approvers may: " + ", ".join(decisions) + ".")
    if requirement.editable_fields:
        lines.append("Fields they may edit: " + ", ".join(requirement.editable_fields) + ".")
    if requirement.min_review_seconds:
        lines.append("Minimum review time: " + describe_duration(
            timedelta(seconds=requirement.min_review_seconds)) + ".")
    lines.append(f"Deadline: {describe_duration(requirement.deadline)}.")
    for step in requirement.on_timeout.escalate:
        notify = f", notifying {', '.join(step.notify)}" if step.notify else ""
        lines.append(f"If nobody decides in time, it goes to {describe_groups(step.approvers)} "
                     f"with {describe_duration(step.deadline)} more{notify}.")
    when = "by then" if requirement.on_timeout.escalate else "in time"
    lines.append(f"If nobody decides {when}, the request " + (
        "is rejected (never approved by silence)." if requirement.on_timeout.then == "reject"
        else "expires."))
    if requirement.notify:
        lines.append("Notify: " + ", ".join(requirement.notify) + ".")
    return lines


def describe_outcome(outcome: PolicyOutcome, event: PolicyEvent | None = None) -> list[str]:
    """The outcome as sentences: what happens, and for ``require`` what is required."""
    rule = f"rule {outcome.rule_id}" if outcome.rule_id else "no rule"
    if outcome.kind == "auto_approve":
        return [f"Approved automatically by {rule}: {outcome.reason}"]
    if outcome.kind == "deny":
        return [f"Denied by {rule}. The agent is told: {outcome.reason}"]
    assert outcome.requirement is not None
    return [f"A person must decide ({rule}).", *describe_requirement(outcome.requirement, event)]


def summarize_outcome(outcome: PolicyOutcome) -> str:
    """One line: ``sql-change-data: require 1 person with the role dba, deadline 4 hours``."""
    if outcome.kind != "require" or outcome.requirement is None:
        return f"{outcome.rule_id or '(none)'}: {outcome.kind.replace('_', ' ')}"
    requirement = outcome.requirement
    extra = ""
    if requirement.step_up is not None:
        extra = ", step-up " + "/".join([*requirement.step_up.amr, *requirement.step_up.acr])
    return (f"{outcome.rule_id}: require {describe_groups(requirement.approvers)}{extra}, "
            f"deadline {describe_duration(requirement.deadline)}")


def describe_event(event: PolicyEvent) -> str:
    """One line naming the event."""
    who = "nobody known"
    if event.requester is not None:
        roles = ", ".join(sorted(event.requester.roles)) or "no roles"
        who = f"{event.requester.subject} ({roles})"
    return (f"graph {event.graph}, node {event.node}, action {event.action}, "
            f"requested by {who} at {event.time.isoformat()}")


def render_explanation(explanation: Explanation) -> str:
    """The explanation as text for a terminal."""
    lines = [f"Event: {describe_event(explanation.event)}",
             f"Policy: {explanation.outcome.policy_version}", "", "Rules tried, in order:"]
    for number, check in enumerate(explanation.checks, 1):
        mark = "MATCHED" if check.matched else "did not match"
        lines.append(f"  {number}. {check.rule_id} ({check.where}): {mark}")
        lines.extend(f"       - {reason}" for reason in check.reasons)
    lines += ["", "Outcome:"]
    lines.extend(f"  {line}" for line in describe_outcome(explanation.outcome,
                                                          explanation.event))
    return "\n".join(lines)
