"""Request and response bodies of the HTTP API."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from oversight.approvals import rules
from oversight.approvals.models import ApprovalRequest
from oversight.approvals.service import requirement_of


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StartThread(Body):
    graph: str = Field(min_length=1, max_length=200, description="A registered graph's name.")
    input: dict[str, JsonValue] = Field(default_factory=dict, description="The graph's input.")


class DecisionBody(Body):
    decision: Literal["approve", "reject", "edit", "respond"]
    payload_digest: str = Field(min_length=8, max_length=80,
                                description="The digest of the payload you were shown.")
    edits: dict[str, JsonValue] | None = Field(None, description="Changed fields (edit).")
    response: str | None = Field(None, max_length=20_000, description="Text (respond).")
    comment: str | None = Field(None, max_length=5_000, description="Why; required to reject.")


class StopBody(Body):
    scope: Literal["thread", "graph", "all"]
    target: str | None = Field(None, max_length=200)
    reason: str = Field(min_length=1, max_length=2_000)


class ReplayBody(Body):
    sources: dict[str, str] = Field(description="Candidate policy files: name -> YAML text.",
                                    min_length=1)
    since: dt.datetime | None = None


class ApprovalSummary(BaseModel):
    id: str
    thread_id: str
    graph: str
    node: str
    action: str
    status: str
    summary: str | None
    rule_id: str
    policy_version: str
    needs: str | None = Field(description='Who must decide, e.g. "2 of dba".')
    created_at: dt.datetime
    deadline_at: dt.datetime | None

    @classmethod
    def of(cls, request: ApprovalRequest) -> ApprovalSummary:
        requirement = requirement_of(request)
        return cls(id=request.id, thread_id=request.thread_id, graph=request.graph,
                   node=request.node, action=request.action, status=request.status,
                   summary=request.summary, rule_id=request.rule_id,
                   policy_version=request.policy_version,
                   needs=rules.describe_groups(requirement.approvers) if requirement else None,
                   created_at=request.created_at, deadline_at=request.deadline_at)


class DecisionView(BaseModel):
    decider: str
    name: str | None
    decision: str
    comment: str | None
    at: dt.datetime


class ApprovalDetail(ApprovalSummary):
    shape: str
    payload: Any
    payload_digest: str
    decisions_allowed: list[str]
    editable_fields: list[str]
    edit_schema: dict[str, Any] | None
    step_up: dict[str, Any] | None
    min_review_seconds: int
    reason: str | None
    outcome: str | None
    decisions: list[DecisionView]

    @classmethod
    def detail(cls, request: ApprovalRequest, decisions: list[DecisionView]) -> ApprovalDetail:
        requirement = requirement_of(request)
        return cls(**ApprovalSummary.of(request).model_dump(), shape=request.shape,
                   payload=json.loads(request.payload), payload_digest=request.payload_digest,
                   decisions_allowed=list(requirement.decisions) if requirement else [],
                   editable_fields=list(requirement.editable_fields) if requirement else [],
                   edit_schema=requirement.edit_schema if requirement else None,
                   step_up=requirement.step_up.model_dump(mode="json")
                   if requirement and requirement.step_up else None,
                   min_review_seconds=requirement.min_review_seconds if requirement else 0,
                   reason=request.reason, outcome=request.outcome, decisions=decisions)


class ApprovalPage(BaseModel):
    items: list[ApprovalSummary]
    next_cursor: str | None


class DecisionResult(BaseModel):
    approval: ApprovalSummary
    final: bool
    replayed: bool


class ThreadOut(BaseModel):
    id: str
    graph: str
    status: str
    error: str | None
    pending: list[ApprovalSummary]
    values: Any = None
    audit_trail: list[dict[str, Any]] | None = None


class StopOut(BaseModel):
    id: str
    scope: str
    target: str | None
    reason: str
    created_by: str
    created_at: dt.datetime
    lifted_at: dt.datetime | None
    cancelled: int | None = None
