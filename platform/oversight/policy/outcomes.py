"""What the engine takes (an event) and what it returns (an outcome), as plain typed values.

The event is a frozen dataclass (built for every interrupt, so cheap); outcomes are frozen
pydantic models, so the gateway can record them as JSON (``outcome.model_dump(mode="json")``:
durations become ISO 8601 strings such as ``PT30M``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, JsonValue

OutcomeKind = Literal["auto_approve", "deny", "require"]
Decision = Literal["approve", "reject", "edit", "respond"]
FinalTimeout = Literal["reject", "expire"]


@dataclass(frozen=True, slots=True)
class Requester:
    """Who raised the request, from verified claims."""

    issuer: str
    subject: str
    roles: frozenset[str] = frozenset()
    name: str | None = None


@dataclass(frozen=True, slots=True)
class PolicyEvent:
    """One interrupt to decide on. ``time`` must carry a time zone."""

    graph: str
    node: str
    action: str
    payload: Any
    requester: Requester | None
    time: datetime
    roles_list: tuple[str, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.time.tzinfo is None or self.time.utcoffset() is None:
            raise ValueError("PolicyEvent.time must be timezone-aware")
        roles = tuple(sorted(self.requester.roles)) if self.requester else ()
        object.__setattr__(self, "roles_list", roles)


class FrozenModel(BaseModel):
    """Base of the outcome models: frozen, no unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class ApproverGroup(FrozenModel):
    """``count`` distinct people, each with ``role`` (when given) and, when ``subject`` is
    given, being that person (resolved from the payload field ``subject_from``)."""

    role: str | None = None
    subject: str | None = None
    subject_from: str | None = None
    count: int = 1


class StepUp(FrozenModel):
    """How an approver must have signed in: an ``acr`` among ``acr`` (when given), every
    method of ``amr`` in their ``amr`` claim, and ``auth_time`` within ``max_age``."""

    acr: tuple[str, ...] = ()
    amr: tuple[str, ...] = ()
    max_age: timedelta | None = None


class EscalationStep(FrozenModel):
    """When the previous deadline passes, offer the request to these approvers instead."""

    approvers: tuple[ApproverGroup, ...]
    deadline: timedelta
    notify: tuple[str, ...] = ()


class TimeoutPolicy(FrozenModel):
    """What happens when nobody decides in time: each escalation step in turn, then
    ``then``. Silence never approves."""

    escalate: tuple[EscalationStep, ...] = ()
    then: FinalTimeout = "reject"


class Requirement(FrozenModel):
    """Who must decide, how, and by when."""

    approvers: tuple[ApproverGroup, ...]
    exclude_requester: Literal[True] = True
    distinct_approvers: Literal[True] = True
    exclude_earlier_approvers: bool = False
    step_up: StepUp | None = None
    decisions: tuple[Decision, ...] = ("approve", "reject")
    editable_fields: tuple[str, ...] = ()
    edit_schema: dict[str, JsonValue] | None = None
    deadline: timedelta
    on_timeout: TimeoutPolicy = TimeoutPolicy()
    notify: tuple[str, ...] = ()
    min_review_seconds: int = 0


class PolicyOutcome(FrozenModel):
    """The engine's answer for one event: the rule that matched and what it decided."""

    kind: OutcomeKind
    rule_id: str
    policy_version: str
    reason: str | None = None
    requirement: Requirement | None = None
