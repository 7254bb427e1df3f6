"""``/v1/approvals``: what waits on people, one request, and deciding it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request

from oversight.api.deps import GatewayDep, SessionDep
from oversight.api.schemas import (
    ApprovalDetail,
    ApprovalPage,
    ApprovalSummary,
    DecisionBody,
    DecisionResult,
    DecisionView,
)
from oversight.approvals.exceptions import ApprovalNotFound, DecisionRefused
from oversight.approvals.models import ApprovalRequest
from oversight.approvals.service import decisions_of
from oversight.approvals.visibility import Filters, Order, has_decided, list_requests, may_see
from oversight.auth.dependencies import CurrentPrincipal

router = APIRouter(prefix="/v1/approvals", tags=["approvals"])


@router.get("")
def list_approvals(
    principal: CurrentPrincipal,
    session: SessionDep,
    status: Annotated[str | None, Query(max_length=20, description="Default: pending.")] = "pending",
    graph: Annotated[str | None, Query(max_length=200)] = None,
    action: Annotated[str | None, Query(max_length=200)] = None,
    decidable: Annotated[bool, Query(description="Only what I may decide now.")] = False,
    order: Annotated[Order, Query(description="newest first, or soonest deadline first")] = "newest",
    cursor: Annotated[str | None, Query(max_length=400)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ApprovalPage:
    """Approval requests the caller may see, newest first, with cursor pagination."""
    items, next_cursor = list_requests(
        session, principal, Filters(status=status, graph=graph, action=action,
                                    decidable=decidable, order=order),
        cursor=cursor, limit=limit)
    return ApprovalPage(items=[ApprovalSummary.of(r) for r in items], next_cursor=next_cursor)


@router.get("/{approval_id}")
async def get_approval(approval_id: str, principal: CurrentPrincipal, session: SessionDep,
                       gateway: GatewayDep) -> ApprovalDetail:
    """One request with its payload; showing it is recorded as ``approval.viewed``."""
    request = session.get(ApprovalRequest, approval_id)
    if request is None or not may_see(request, principal, has_decided(session, request, principal)):
        raise ApprovalNotFound(f"no approval request {approval_id}", approval=approval_id)
    shown = await gateway.view(approval_id, principal=principal)
    session.expire_all()
    decisions = [DecisionView(decider=f"{d.decider_issuer}|{d.decider_subject}",
                              name=d.decider_name, decision=d.outcome, comment=d.comment,
                              at=d.created_at) for d in decisions_of(session, shown)]
    return ApprovalDetail.detail(shown, decisions)


@router.post("/{approval_id}/decision")
async def decide(approval_id: str, body: DecisionBody, principal: CurrentPrincipal,
                 gateway: GatewayDep, http: Request,
                 idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
                 ) -> DecisionResult:
    """Approve, reject, edit or respond; refused attempts are recorded with the reason."""
    metrics = http.app.state.metrics
    try:
        result = await gateway.decide(
            approval_id, principal=principal, decision=body.decision,
            payload_digest=body.payload_digest, edits=body.edits, response=body.response,
            comment=body.comment, idempotency_key=idempotency_key)
    except DecisionRefused:
        metrics.decisions.labels(body.decision, "refused").inc()
        raise
    request = await gateway.request(approval_id)
    metrics.decisions.labels(body.decision, "final" if result.became_final else "counted").inc()
    if result.became_final and request.decided_at is not None:
        metrics.decision_latency.observe(
            (request.decided_at - request.created_at).total_seconds())
    return DecisionResult(approval=ApprovalSummary.of(request), final=result.became_final,
                          replayed=result.replayed)
