"""A validated rule compiled for evaluation: its condition and its outcome, built once.

Outcomes are built at load time and returned as they are; only a requirement naming its
approver from the payload (``subject_from``) is completed per event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from oversight.policy import conditions as c
from oversight.policy.consistency import PlacedRule
from oversight.policy.matching import Condition, compile_match, exact_values
from oversight.policy.outcomes import (
    ApproverGroup,
    EscalationStep,
    OutcomeKind,
    PolicyEvent,
    PolicyOutcome,
    Requirement,
    StepUp,
    TimeoutPolicy,
)
from oversight.policy.schemas import ApproverGroup as GroupSpec
from oversight.policy.schemas import Require, Rule


@dataclass(frozen=True, eq=False)
class PolicyRule:
    """One rule of a loaded set."""

    id: str
    description: str | None
    file: str
    line: int
    column: int
    kind: OutcomeKind
    spec: Rule = field(repr=False)
    condition: Condition = field(repr=False)
    outcome: PolicyOutcome = field(repr=False)
    actions: frozenset[str] | None = field(repr=False)
    _subject_getters: dict[str, c.Getter] = field(repr=False)

    @property
    def where(self) -> str:
        """``file:line`` of the rule, for people."""
        return f"{self.file}:{self.line}"

    def outcome_for(self, event: PolicyEvent) -> PolicyOutcome:
        """This rule's outcome for an event it matched."""
        if not self._subject_getters:
            return self.outcome
        subjects: dict[str, str] = {}
        for reference, getter in self._subject_getters.items():
            value = getter(event)
            if not isinstance(value, str) or not value.strip():
                return self._refuse(f"nobody can approve this request: {reference} should name "
                                    f"the approver, but it is {c.show(value)}")
            if event.requester is not None and value == event.requester.subject:
                return self._refuse(f"nobody can approve this request: {reference} names the "
                                    "requester, and a requester never approves their own "
                                    "request")
            subjects[reference] = value
        requirement = self.outcome.requirement
        assert requirement is not None
        timeout = requirement.on_timeout
        return self.outcome.model_copy(update={"requirement": requirement.model_copy(update={
            "approvers": _with_subjects(requirement.approvers, subjects),
            "on_timeout": timeout.model_copy(update={"escalate": tuple(
                step.model_copy(update={"approvers": _with_subjects(step.approvers, subjects)})
                for step in timeout.escalate)}),
        })})

    def _refuse(self, reason: str) -> PolicyOutcome:
        return PolicyOutcome(kind="deny", rule_id=self.id,
                             policy_version=self.outcome.policy_version, reason=reason)


def _with_subjects(groups: tuple[ApproverGroup, ...],
                   subjects: dict[str, str]) -> tuple[ApproverGroup, ...]:
    return tuple(group.model_copy(update={"subject": subjects[group.subject_from]})
                 if group.subject_from else group for group in groups)


def _groups(specs: list[GroupSpec]) -> tuple[ApproverGroup, ...]:
    return tuple(ApproverGroup(role=spec.role, subject_from=spec.subject_from, count=spec.count)
                 for spec in specs)


def build_requirement(spec: Require) -> Requirement:
    """The :class:`Requirement` a ``require`` block stands for, defaults filled in."""
    step_up = None
    if spec.step_up is not None:
        step_up = StepUp(acr=tuple(spec.step_up.acr or ()), amr=tuple(spec.step_up.amr or ()),
                         max_age=spec.step_up.max_age)
    if spec.decisions:
        decisions = tuple(spec.decisions)
    else:
        decisions = ("approve", "reject", "edit") if spec.editable else ("approve", "reject")
    edit_schema: dict[str, Any] | None = None
    if spec.editable:
        edit_schema = {"type": "object", "properties": dict(spec.editable),
                       "additionalProperties": False}
    if isinstance(spec.on_timeout, str):
        timeout = TimeoutPolicy(then=spec.on_timeout)
    else:
        timeout = TimeoutPolicy(then=spec.on_timeout.then, escalate=tuple(
            EscalationStep(approvers=_groups(step.approvers), deadline=step.deadline,
                           notify=tuple(step.notify))
            for step in spec.on_timeout.escalate))
    return Requirement(
        approvers=_groups(spec.approvers),
        exclude_earlier_approvers=spec.exclude_earlier_approvers,
        step_up=step_up,
        decisions=decisions,
        editable_fields=tuple(spec.editable or ()),
        edit_schema=edit_schema,
        deadline=spec.deadline,
        on_timeout=timeout,
        notify=tuple(spec.notify),
        min_review_seconds=int(spec.min_review.total_seconds()) if spec.min_review else 0,
    )


def compile_rule(placed: PlacedRule, version: str) -> PolicyRule:
    """Compile a validated rule for a set of the given version."""
    spec = placed.spec
    line, column = placed.position
    references: list[str] = []
    if spec.auto_approve is not None:
        outcome = PolicyOutcome(kind="auto_approve", rule_id=spec.id, policy_version=version,
                                reason=spec.auto_approve.reason)
    elif spec.deny is not None:
        outcome = PolicyOutcome(kind="deny", rule_id=spec.id, policy_version=version,
                                reason=spec.deny.reason)
    else:
        assert spec.require is not None
        requirement = build_requirement(spec.require)
        outcome = PolicyOutcome(kind="require", rule_id=spec.id, policy_version=version,
                                reason=spec.description, requirement=requirement)
        groups = [*requirement.approvers, *(group for step in requirement.on_timeout.escalate
                                            for group in step.approvers)]
        references = [group.subject_from for group in groups if group.subject_from]
    actions = None
    if spec.match is not None and "action" in spec.match.model_fields_set:
        actions = exact_values(spec.match.action)
    return PolicyRule(
        id=spec.id, description=spec.description, file=placed.doc.file, line=line,
        column=column, kind=outcome.kind, spec=spec, condition=compile_match(spec.match),
        outcome=outcome, actions=actions,
        _subject_getters={reference: c.reference_getter(reference) for reference in references},
    )
