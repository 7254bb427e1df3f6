"""Recording what a leg of a thread left: a failure, or what it waits on now.

The gateway calls this in the transaction after each leg (and to repair drift); it reads
the thread under its row lock, registers every new interrupt as approval requests through
policy, closes the requests whose interrupt is gone, and sets the thread's status.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from langgraph.types import StateSnapshot
from sqlalchemy.orm import Session

from oversight.approvals import service as approvals
from oversight.approvals.models import PENDING, ApprovalRequest
from oversight.gateway import jobs, threads
from oversight.gateway.registry import GraphRegistration
from oversight.gateway.request import clear_marks
from oversight.ledger import service as ledger
from oversight.ledger.actors import SystemActor
from oversight.logs import get_logger
from oversight.policy.outcomes import PolicyEvent, PolicyOutcome

GATEWAY = SystemActor("gateway")
PolicyEvaluator = Callable[[PolicyEvent], PolicyOutcome]
EnqueueResume = Callable[..., Any]  # Gateway.enqueue_resume
log = get_logger("gateway")


@dataclass(frozen=True)
class ThreadView:
    """A thread as callers see it: status, pending requests, the graph's latest values."""

    id: str
    graph: str
    status: str
    pending: list[ApprovalRequest] = field(default_factory=list)
    values: Any = None
    error: str | None = None


def record_leg(session: Session, *, thread_id: str, graph_name: str, state: StateSnapshot,
               graph: GraphRegistration, evaluate: PolicyEvaluator,
               enqueue_resume: EnqueueResume, now: dt.datetime, swallowed: str | None,
               error: str | None, job_id: int | None, fresh: bool = False) -> ThreadView:
    """Record what a leg of the thread left (``job_id``: the resume it ran; ``fresh``: the
    thread's first leg, so no request of it exists yet): its failure, or the requests its
    new interrupts call for (policy evaluated, ledger recorded, policy decisions queued to
    resume), the requests whose interrupt is gone closed, and the thread's status."""
    thread = threads.lock_thread(session, thread_id)
    subject = {"graph": graph_name, "thread": thread_id}
    existing = [] if fresh else threads.thread_requests(session, thread_id)
    open_jobs: bool | None = None  # other resumes of the thread, when known
    if job_id is not None:
        resumed, open_jobs = jobs.finish_applied(session, job_id=job_id, now=now)
        approvals.close_requests(session, [r for r in existing if r.interrupt_id == resumed],
                                 status="resumed", action="resume.applied", actor=threads.RUNNER,
                                 reason="resumed", now=now)
    if swallowed or error:
        clear_marks(thread_id)
        failure = (swallowed and (
            f"node {swallowed!r} caught the interrupt its approval request raised "
            "(GraphInterrupt is an Exception: let it propagate)")) or error
        threads.set_thread(session, thread_id, status="failed", now=now, error=failure)
        ledger.append_record(session, action="interrupt.swallowed" if swallowed else "run.failed",
                             actor=GATEWAY, subject=subject, time=now,
                             data={"node": swallowed, "error": failure})
        approvals.close_requests(session, threads.pending_requests(session, thread_id),
                                 status="cancelled", action="request.cancelled",
                                 actor=GATEWAY, reason="the run failed", now=now)
        log.warning("gateway.run_failed", thread=thread_id, node=swallowed,
                    swallowed=bool(swallowed))
        return ThreadView(id=thread_id, graph=graph_name, status="failed",
                          values=state.values, error=failure)
    drafts = [d if d.shape not in ("raw", "breakpoint") else
              dataclasses.replace(d, action=graph.action_for(d.node))
              for d in threads.drafts_of(state)]
    known = {r.interrupt_id for r in existing}
    live = {draft.interrupt_id for draft in drafts}
    stale = [r for r in existing if r.status == PENDING and r.interrupt_id not in live]
    approvals.close_requests(session, stale, status="closed", action="request.closed",
                             actor=GATEWAY, reason="its interrupt is no longer pending",
                             now=now)
    requester = threads.requester_of(thread)
    by_interrupt: dict[str, list[approvals.RequestDraft]] = {}
    for draft in drafts:
        if draft.interrupt_id not in known:
            by_interrupt.setdefault(draft.interrupt_id, []).append(draft)
    for interrupt_id, parts in by_interrupt.items():
        ledger.append_record(session, action="interrupt.raised", actor=GATEWAY,
                             subject={**subject, "interrupt": interrupt_id}, time=now,
                             payload=[d.payload for d in parts],
                             data={"node": parts[0].node, "shape": parts[0].shape,
                                   "actions": [d.action for d in parts]})
        requests = [approvals.open_request(
            session, thread_id=thread_id, graph=graph_name, draft=draft,
            outcome=evaluate(PolicyEvent(
                graph=graph_name, node=draft.node, action=draft.action,
                payload=draft.payload, requester=requester, time=now)),
            requester=threads.principal_from(thread), now=now) for draft in parts]
        existing.extend(requests)
        if all(r.status != PENDING for r in requests):
            enqueue_resume(session, requests, now=now)
            open_jobs = True
    clear_marks(thread_id, {d.node for d in drafts})
    pending = sorted((r for r in existing if r.status == PENDING),
                     key=lambda r: (r.created_at, r.part))
    status = thread.status
    if pending:
        status = "waiting"
    elif open_jobs or (open_jobs is None and jobs.has_open_jobs(session, thread_id)):
        status = "running"
    elif not state.next and thread.status != "completed":
        status = "completed"
        ledger.append_record(session, action="run.completed", actor=GATEWAY,
                             subject=subject, time=now)
    threads.set_thread(session, thread_id, status=status, now=now)
    return ThreadView(id=thread_id, graph=graph_name, status=status, pending=pending,
                      values=state.values, error=thread.error)
