"""``/v1/approvals``: what waits on people, one request, and deciding it."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from sqlalchemy import Select, and_, or_, select

from oversight.api.deps import AUDIT_ROLES, GatewayDep, SessionDep, may_decide, may_see
from oversight.api.schemas import (
    ApprovalDetail,
    ApprovalPage,
    ApprovalSummary,
    DecisionBody,
    DecisionResult,
    DecisionView,
)
from oversight.approvals.exceptions import ApprovalNotFound, DecisionRefused
from oversight.approvals.models import ApprovalDecision, ApprovalRequest
from oversight.approvals.service import decisions_of
from oversight.auth.dependencies import CurrentPrincipal
from oversight.auth.identity import Principal
from oversight.errors import OversightError

router = APIRouter(prefix="/v1/approvals", tags=["approvals"])
_SCAN_CHUNK = 500


class BadCursor(OversightError):
    type = "bad-cursor"
    title = "The cursor is not valid"
    status = 400


def _encode_cursor(request: ApprovalRequest) -> str:
    raw = f"{request.created_at.isoformat()}|{request.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _after_cursor(query: Select[Any], cursor: str) -> Select[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created, request_id = raw.split("|", 1)
        moment = dt.datetime.fromisoformat(created)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadCursor("pass back the next_cursor of a previous page unchanged",
                        pointer="/cursor") from exc
    return query.where(or_(ApprovalRequest.created_at < moment, and_(
        ApprovalRequest.created_at == moment, ApprovalRequest.id < request_id)))


@router.get("")
def list_approvals(
    principal: CurrentPrincipal,
    session: SessionDep,
    status: Annotated[str | None, Query(max_length=20, description="Default: pending.")] = "pending",
    graph: Annotated[str | None, Query(max_length=200)] = None,
    action: Annotated[str | None, Query(max_length=200)] = None,
    decidable: Annotated[bool, Query(description="Only what I may decide now.")] = False,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ApprovalPage:
    """Approval requests the caller may see, newest first, with cursor pagination."""
    query: Select[Any] = select(ApprovalRequest).order_by(ApprovalRequest.created_at.desc(),
                                             ApprovalRequest.id.desc())
    if status:
        query = query.where(ApprovalRequest.status == status)
    if graph:
        query = query.where(ApprovalRequest.graph == graph)
    if action:
        query = query.where(ApprovalRequest.action == action)
    if cursor:
        query = _after_cursor(query, cursor)
    privileged = bool(principal.roles & AUDIT_ROLES) and not decidable
    items: list[ApprovalRequest] = []
    last: ApprovalRequest | None = None
    size = limit  # most callers see most of what they list; widen only when they do not
    while len(items) < limit:
        chunk = list(session.scalars(query.limit(size)))
        if not chunk:
            break
        decided = _decided_among(session, chunk, principal)
        for request in chunk:
            last = request
            if _listed(request, principal, privileged, decidable, request.id in decided):
                items.append(request)
                if len(items) == limit:
                    break
        if privileged or len(chunk) < size:
            break
        size = _SCAN_CHUNK
        query = _after_cursor(query, _encode_cursor(chunk[-1]))
    more = last is not None and len(items) == limit
    return ApprovalPage(items=[ApprovalSummary.of(r) for r in items],
                        next_cursor=_encode_cursor(items[-1]) if more else None)


def _listed(request: ApprovalRequest, principal: Principal, privileged: bool, decidable: bool,
            decided: bool) -> bool:
    if decidable:
        return not decided and may_decide(request, principal)
    return privileged or may_see(request, principal, decided)


def _decided_among(session: SessionDep, requests: list[ApprovalRequest],
                   principal: Principal) -> set[str]:
    """Which of ``requests`` the principal decided in their current version (one query)."""
    digests = {r.id: r.payload_digest for r in requests}
    rows = session.execute(select(ApprovalDecision.request_id, ApprovalDecision.payload_digest)
                           .where(ApprovalDecision.request_id.in_(list(digests)),
                                  ApprovalDecision.decider_issuer == principal.issuer,
                                  ApprovalDecision.decider_subject == principal.subject))
    return {request_id for request_id, digest in rows if digests.get(request_id) == digest}


def _decided(session: SessionDep, request: ApprovalRequest, principal: Principal) -> bool:
    return session.scalar(select(ApprovalDecision.id).where(
        ApprovalDecision.request_id == request.id,
        ApprovalDecision.decider_issuer == principal.issuer,
        ApprovalDecision.decider_subject == principal.subject,
        ApprovalDecision.payload_digest == request.payload_digest).limit(1)) is not None


@router.get("/{approval_id}")
async def get_approval(approval_id: str, principal: CurrentPrincipal, session: SessionDep,
                       gateway: GatewayDep) -> ApprovalDetail:
    """One request with its payload; showing it is recorded as ``approval.viewed``."""
    request = session.get(ApprovalRequest, approval_id)
    if request is None or not may_see(request, principal, _decided(session, request, principal)):
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
