"""Pure checks on a decision: who qualifies, quorum, step-up, edits. No database here.

Quorum: a request is approved when its approvals (each for the payload version now in
force) can fill every approver group's count with distinct people, each person counting
once, for one group they qualify for. A rejection by anyone eligible is final at once. An
edit is an approval of the edited payload and replaces the payload, so approvals given to an
earlier version no longer count: everyone whose approval is final approved the payload that
will run. When two approvers edit, the later edit applies on top of the earlier one.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jsonschema

from oversight.approvals.exceptions import DecisionInvalid, StepUpRequired
from oversight.auth.identity import Principal
from oversight.policy.outcomes import ApproverGroup, Requirement, StepUp


def qualifies(group: ApproverGroup, principal: Principal) -> bool:
    """True when ``principal`` may fill a place in ``group``."""
    if group.role is not None and group.role not in principal.roles:
        return False
    return group.subject is None or group.subject == principal.subject


def fills_quorum(groups: Sequence[ApproverGroup], approvers: Sequence[Principal]) -> bool:
    """Can distinct ``approvers`` fill every group's count? (bipartite matching)."""
    slots = [group for group in groups for _ in range(group.count)]
    owner: dict[int, int] = {}  # slot index -> approver index

    def assign(person: int, seen: set[int]) -> bool:
        for slot, group in enumerate(slots):
            if slot in seen or not qualifies(group, approvers[person]):
                continue
            seen.add(slot)
            if slot not in owner or assign(owner[slot], seen):
                owner[slot] = person
                return True
        return False

    for person in range(len(approvers)):
        assign(person, set())
    return len(owner) == len(slots)


def describe_groups(groups: Sequence[ApproverGroup]) -> str:
    """``2 of dba and 1 of security`` — for people."""
    parts = []
    for group in groups:
        who = group.role or "approver"
        if group.subject:
            who = f"{who} {group.subject}" if group.role else group.subject
        parts.append(f"{group.count} of {who}")
    return " and ".join(parts)


def check_step_up(step_up: StepUp | None, principal: Principal, now: dt.datetime) -> None:
    """Raise ``StepUpRequired`` when the principal signed in too weakly for the rule."""
    if step_up is None:
        return
    problems = []
    if step_up.acr and principal.acr not in step_up.acr:
        problems.append(f"an authentication context among {list(step_up.acr)} "
                        f"(you have {principal.acr or 'none'})")
    missing = sorted(set(step_up.amr) - principal.amr)
    if missing:
        problems.append(f"sign-in methods {missing}")
    if step_up.max_age is not None:
        if principal.auth_time is None:
            problems.append("a known sign-in time")
        elif now.timestamp() - principal.auth_time > step_up.max_age.total_seconds():
            problems.append(f"a sign-in within the last {int(step_up.max_age.total_seconds())} s")
    if problems:
        raise StepUpRequired(
            "this rule needs a stronger sign-in: " + "; ".join(problems),
            code="step_up_required",
            acr_values=list(step_up.acr),
            amr=list(step_up.amr),
            max_age=int(step_up.max_age.total_seconds()) if step_up.max_age else None,
        )


@dataclass(frozen=True)
class Edit:
    """A validated edit: the changed fields and the payload they produce."""

    fields: dict[str, Any]
    payload: Any


def _set_path(target: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    for part in parts[:-1]:
        child = target.get(part)
        if not isinstance(child, dict):
            child = {}
            target[part] = child
        target = child
    target[parts[-1]] = value


def apply_edits(requirement: Requirement, payload: Any, edits: Mapping[str, Any] | None) -> Edit:
    """Validate ``edits`` (field path → new value) against the rule and apply them."""
    if not requirement.editable_fields:
        raise DecisionInvalid("this rule does not allow edits", code="edit_not_allowed")
    if not isinstance(edits, Mapping) or not edits:
        raise DecisionInvalid("an edit needs an object of changed fields (/edits)",
                              code="edits_missing", pointer="/edits")
    unknown = sorted(set(edits) - set(requirement.editable_fields))
    if unknown:
        raise DecisionInvalid(
            f"fields {unknown} may not be edited; editable: {list(requirement.editable_fields)}",
            code="edits_invalid", pointer=f"/edits/{unknown[0]}")
    if requirement.edit_schema is not None:
        validator = jsonschema.Draft202012Validator(requirement.edit_schema)
        error = jsonschema.exceptions.best_match(validator.iter_errors(dict(edits)))
        if error is not None:
            pointer = "/edits" + "".join(f"/{p}" for p in error.absolute_path)
            raise DecisionInvalid(f"the edits do not match the rule's schema at {pointer}: "
                                  f"{error.message}", code="edits_invalid", pointer=pointer)
    if not isinstance(payload, dict):
        raise DecisionInvalid("only an object payload can be edited", code="edit_not_allowed")
    edited = copy.deepcopy(payload)
    for path, value in edits.items():
        _set_path(edited, path, value)
    return Edit(fields=dict(edits), payload=edited)
