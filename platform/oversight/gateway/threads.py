"""Reading threads and requests for the gateway, and turning a state into request drafts."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from langgraph.types import StateSnapshot
from sqlalchemy import bindparam, exists, insert, select, update
from sqlalchemy.orm import Session

from oversight.approvals import service as approvals
from oversight.approvals.models import PENDING, ApprovalDecision, ApprovalRequest
from oversight.auth.identity import Principal
from oversight.gateway import adapters, jobs
from oversight.gateway.exceptions import ThreadNotFound
from oversight.gateway.models import ResumeJob, Thread
from oversight.ledger.actors import SystemActor
from oversight.policy.outcomes import Requester
from oversight.stops import service as stops

ClaimedJob = tuple[int, str, str, Any]  # job id, thread id, interrupt id, resume value
RUNNER = SystemActor("runner")


def claim_copies(session: Session, runner: str, lease: dt.timedelta, now: dt.datetime,
                 thread_id: str | None, limit: int, graphs: dict[str, str] | None = None
                 ) -> list[ClaimedJob]:
    return [(job.id, job.thread_id, job.interrupt_id, json.loads(job.value or "null"))
            for job in jobs.claim(session, runner=runner, lease=lease, now=now,
                                  thread_id=thread_id, limit=limit, graphs=graphs)]


def drafts_of(state: StateSnapshot) -> list[approvals.RequestDraft]:
    drafts = [draft for task in state.tasks for intr in task.interrupts
              for draft in adapters.drafts_for(intr.id, task.name, intr.value)]
    if drafts or not state.next or any(task.error for task in state.tasks):
        return drafts
    checkpoint_id = str(state.config.get("configurable", {}).get("checkpoint_id", ""))
    return [adapters.breakpoint_draft(checkpoint_id, node) for node in state.next]


class Activity(NamedTuple):
    """What else goes on in a thread, read in one statement under its row lock."""

    pending: bool  # a request of the thread still waits on people
    running: bool  # another resume of the thread runs under a live lease
    stopped: bool  # an active stop covers the thread or its graph


_ACTIVITY = select(
    exists().where(ApprovalRequest.thread_id == bindparam("thread_id"),
                   ApprovalRequest.status == PENDING),
    exists().where(ResumeJob.thread_id == bindparam("thread_id"),
                   ResumeJob.status == jobs.RUNNING, ResumeJob.lease_until >= bindparam("now")),
    stops.covers(bindparam("thread_id"), bindparam("graph")))


def activity(session: Session, *, thread_id: str, graph: str, now: dt.datetime) -> Activity:
    """Pending requests, a running resume and a stop of the thread, in one round trip (take
    the thread's row lock first, so that a concurrent decision's changes are seen)."""
    session.flush()  # a Core statement does not autoflush: the caller's changes count too
    row = session.connection().execute(
        _ACTIVITY, {"thread_id": thread_id, "graph": graph, "now": now}).one()
    return Activity(pending=bool(row[0]), running=bool(row[1]), stopped=bool(row[2]))


class ThreadRow(NamedTuple):
    """The columns of a thread the gateway's hot path reads (no ORM object: it costs more
    to load and to flush than the statement itself)."""

    id: str
    graph: str
    status: str
    requester: str | None
    error: str | None


# executed on the session's connection: Core statements, no identity map, no unit of work
_LOCK_THREAD = (select(Thread.id, Thread.graph, Thread.status, Thread.requester, Thread.error)
                .where(Thread.id == bindparam("thread_id")).with_for_update())
_SET_THREAD = update(Thread).where(Thread.id == bindparam("thread_id"))
_INSERT_THREAD = insert(Thread)


def lock_thread(session: Session, thread_id: str) -> ThreadRow:
    """The thread's row, locked ``FOR UPDATE`` (``ThreadNotFound`` when there is none)."""
    row = session.connection().execute(_LOCK_THREAD, {"thread_id": thread_id}).first()
    if row is None:
        raise ThreadNotFound(f"no thread {thread_id}", thread=thread_id)
    return ThreadRow(*row)


def set_thread(session: Session, thread_id: str, *, status: str, now: dt.datetime,
               **columns: Any) -> None:
    """Set a thread's status (and other columns) by id, in one statement."""
    session.connection().execute(_SET_THREAD, {"thread_id": thread_id, "status": status,
                                               "updated_at": now, **columns})


def insert_thread(session: Session, *, thread_id: str, graph: str, requester: Principal | None,
                  now: dt.datetime) -> None:
    session.connection().execute(_INSERT_THREAD, {
        "id": thread_id, "graph": graph, "status": "running", "created_at": now,
        "updated_at": now, "requester_issuer": requester.issuer if requester else None,
        "requester_subject": requester.subject if requester else None,
        "requester": json.dumps(principal_json(requester)) if requester else None})


def get_thread(session: Session, thread_id: str, *, for_update: bool = False) -> Thread:
    query = select(Thread).where(Thread.id == thread_id)
    thread = session.scalars(query.with_for_update() if for_update else query).first()
    if thread is None:
        raise ThreadNotFound(f"no thread {thread_id}", thread=thread_id)
    return thread


_REQUESTS_OF_THREAD = select(ApprovalRequest).where(
    ApprovalRequest.thread_id == bindparam("thread_id"))
_PENDING_OF_THREAD = (_REQUESTS_OF_THREAD.where(ApprovalRequest.status == PENDING)
                      .order_by(ApprovalRequest.created_at, ApprovalRequest.part))


def pending_requests(session: Session, thread_id: str) -> list[ApprovalRequest]:
    return list(session.scalars(_PENDING_OF_THREAD, {"thread_id": thread_id}))


def thread_requests(session: Session, thread_id: str) -> list[ApprovalRequest]:
    """Every request of the thread, whatever its status."""
    return list(session.scalars(_REQUESTS_OF_THREAD, {"thread_id": thread_id}))


def requests_of(session: Session, thread_id: str, interrupt_id: str) -> list[ApprovalRequest]:
    return list(session.scalars(select(ApprovalRequest).where(
        ApprovalRequest.thread_id == thread_id, ApprovalRequest.interrupt_id == interrupt_id)))


def principal_json(principal: Principal) -> dict[str, Any]:
    return {"issuer": principal.issuer, "subject": principal.subject, "name": principal.name,
            "roles": sorted(principal.roles)}


def principal_from(thread: Thread | ThreadRow) -> Principal | None:
    if not thread.requester:
        return None
    data = json.loads(thread.requester)
    return Principal(issuer=data["issuer"], subject=data["subject"], name=data.get("name"),
                     roles=frozenset(data.get("roles", ())))


def requester_of(thread: Thread | ThreadRow) -> Requester | None:
    principal = principal_from(thread)
    if principal is None:
        return None
    return Requester(issuer=principal.issuer, subject=principal.subject, roles=principal.roles,
                     name=principal.name)


def resume_value_of(session: Session, requests: list[ApprovalRequest],
                    template: Mapping[str, Any] | None,
                    decisions: Mapping[str, Sequence[ApprovalDecision]] | None = None) -> Any:
    """The value an interrupt whose parts (``requests``, in part order) are final resumes with
    (``decisions``: those the caller has read already, by request id)."""
    parts = []
    for r in requests:
        edits, deciders = approvals.final_summary(session, r, (decisions or {}).get(r.id))
        parts.append(adapters.FinalPart(
            outcome=r.outcome or "reject", payload=json.loads(r.payload), edits=edits,
            response=r.response, reason=r.reason, approvers=deciders, rule_id=r.rule_id,
            policy_version=r.policy_version,
            decided_at=r.decided_at.isoformat() if r.decided_at else None))
    first = requests[0]
    if first.shape == "breakpoint":
        return {"breakpoint": parts[0].outcome}
    return adapters.resume_value(first.shape, [r.action for r in requests], parts, template)


def skip_job(session: Session, job_id: int, thread_id: str, interrupt_id: str,
             now: dt.datetime) -> None:
    """Close a job whose interrupt is no longer pending (it was resumed already)."""
    jobs.finish_applied(session, job_id=job_id, now=now)
    approvals.close_requests(session, requests_of(session, thread_id, interrupt_id),
                             status="closed", action="resume.skipped", actor=RUNNER,
                             reason="the interrupt was no longer pending (already resumed)",
                             now=now)


def refuse_breakpoint(session: Session, job_id: int, thread_id: str, interrupt_id: str,
                      now: dt.datetime) -> None:
    """A rejected static breakpoint: the step does not run and the thread stops there."""
    jobs.finish_applied(session, job_id=job_id, now=now)
    approvals.close_requests(session, requests_of(session, thread_id, interrupt_id),
                             status="resumed", action="resume.applied", actor=RUNNER,
                             reason="the step was rejected; the thread stops here", now=now)
    set_thread(session, thread_id, status="rejected", now=now)
