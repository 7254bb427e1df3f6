"""``/v1/threads``: start runs and follow them."""

from __future__ import annotations

from fastapi import APIRouter, status

from oversight.api.deps import GatewayDep, SessionDep
from oversight.api.schemas import ApprovalSummary, StartThread, ThreadOut
from oversight.approvals.visibility import may_see_thread
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
    if thread is None or not may_see_thread(session, thread, principal):
        raise ThreadNotFound(f"no thread {thread_id}", thread=thread_id)
    view = await gateway.thread(thread_id)
    return ThreadOut(id=view.id, graph=view.graph, status=view.status, error=view.error,
                     pending=[ApprovalSummary.of(r) for r in view.pending], values=view.values,
                     audit_trail=ledger.recorded(session, thread_id=thread_id))
