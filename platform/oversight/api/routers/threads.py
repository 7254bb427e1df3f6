"""``/v1/threads``: start runs and follow them."""

from __future__ import annotations

from fastapi import APIRouter, status
from sqlalchemy import select

from oversight.api.deps import AUDIT_ROLES, GatewayDep, SessionDep, may_see
from oversight.api.schemas import ApprovalSummary, StartThread, ThreadOut
from oversight.approvals.models import ApprovalDecision, ApprovalRequest
from oversight.auth.dependencies import CurrentPrincipal
from oversight.gateway.exceptions import ThreadNotFound
from oversight.gateway.models import Thread
from oversight.ledger import service as ledger

router = APIRouter(prefix="/v1/threads", tags=["threads"])


@router.post("", status_code=status.HTTP_201_CREATED)
async def start_thread(body: StartThread, principal: CurrentPrincipal,
                       gateway: GatewayDep) -> ThreadOut:
    """Start a run of a registered graph; returns when it ends or waits on people."""
    view = await gateway.start(body.graph, body.input, requester=principal)
    return ThreadOut(id=view.id, graph=view.graph, status=view.status, error=view.error,
                     pending=[ApprovalSummary.of(r) for r in view.pending], values=view.values)


@router.get("/{thread_id}")
async def get_thread(thread_id: str, principal: CurrentPrincipal, gateway: GatewayDep,
                     session: SessionDep) -> ThreadOut:
    """A thread's status, pending approvals and audit trail (to whom may see it)."""
    thread = session.get(Thread, thread_id)
    if thread is None or not _may_see_thread(session, thread, principal):
        raise ThreadNotFound(f"no thread {thread_id}", thread=thread_id)
    view = await gateway.thread(thread_id)
    return ThreadOut(id=view.id, graph=view.graph, status=view.status, error=view.error,
                     pending=[ApprovalSummary.of(r) for r in view.pending], values=view.values,
                     audit_trail=ledger.recorded(session, thread_id=thread_id))


def _may_see_thread(session: SessionDep, thread: Thread, principal: CurrentPrincipal) -> bool:
    if principal.roles & AUDIT_ROLES or principal.same_person(thread.requester_issuer,
                                                             thread.requester_subject):
        return True
    requests = session.scalars(select(ApprovalRequest).where(
        ApprovalRequest.thread_id == thread.id)).all()
    decided = set(session.scalars(select(ApprovalDecision.request_id).where(
        ApprovalDecision.decider_issuer == principal.issuer,
        ApprovalDecision.decider_subject == principal.subject,
        ApprovalDecision.request_id.in_([r.id for r in requests]))))
    return any(may_see(r, principal, r.id in decided) for r in requests)
