"""Drift between our tables and the checkpointer, repaired in the database.

- a **lost resume**: every part of an interrupt is final, yet no resume job exists → queue it
  (``resume_job`` is unique per interrupt, so it is queued once);
- a **failed resume**: a job that failed for good leaves its thread waiting forever → the
  thread fails, its requests are closed, once;
- facts the orphan scan needs (which interrupts each thread's requests know) and the record
  of an orphan interrupt registered.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import groupby

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, aliased

from oversight.approvals.models import FINAL_STATUSES, ApprovalRequest
from oversight.gateway import jobs
from oversight.gateway.models import ResumeJob, Thread
from oversight.gateway.service import Gateway
from oversight.ledger import service as ledger
from oversight.sweeper import closing
from oversight.sweeper.timeouts import graph_state, lock_threads


def requeue_lost_resumes(session: Session, *, gateway: Gateway, now: dt.datetime, limit: int,
                         tally: Counter[str]) -> None:
    """Queue the resume of each interrupt whose parts are all final but has no job."""
    part = aliased(ApprovalRequest)
    query = (select(ApprovalRequest)
             .where(ApprovalRequest.status.in_(FINAL_STATUSES),
                    ~exists().where(ResumeJob.thread_id == ApprovalRequest.thread_id,
                                    ResumeJob.interrupt_id == ApprovalRequest.interrupt_id),
                    ~exists().where(part.thread_id == ApprovalRequest.thread_id,
                                    part.interrupt_id == ApprovalRequest.interrupt_id,
                                    part.status.not_in(FINAL_STATUSES)),
                    exists().where(Thread.id == ApprovalRequest.thread_id,
                                   Thread.status.not_in(closing.TERMINAL_THREADS)))
             .order_by(ApprovalRequest.thread_id, ApprovalRequest.interrupt_id,
                       ApprovalRequest.part)
             .limit(limit).with_for_update(skip_locked=True))
    found = list(session.scalars(query))
    threads, open_rows = lock_threads(session, sorted({r.thread_id for r in found}))
    for (thread_id, _), group in groupby(found, key=lambda r: (r.thread_id, r.interrupt_id)):
        parts = list(group)
        thread, rows = threads.get(thread_id), open_rows.get(thread_id)
        if thread is None or rows is None or len(parts) != parts[0].parts:
            tally["busy"] += 1  # held elsewhere, or cut by the limit: next pass
            continue
        state = graph_state(gateway, thread.graph)
        if state == "missing":
            closing.graph_missing(session, thread, rows, now=now)
            tally["unregistered"] += 1
            continue
        if state == "unknown":
            tally["no_graphs"] += 1
            continue
        job = gateway.enqueue_resume(session, parts, now=now)
        closing.record(session, parts[0], "resume.requeued", now=now, job=job.id,
                       reason="every part was final but no resume had been queued")
        thread.status, thread.updated_at = "running", now
        tally["resumes_requeued"] += 1


def fail_dead_resumes(session: Session, *, now: dt.datetime, limit: int,
                      tally: Counter[str]) -> None:
    """End the threads whose resume failed for good (the runner gave up after its retries)."""
    dead = list(session.execute(
        select(ResumeJob.thread_id, ResumeJob.interrupt_id, ResumeJob.attempts, ResumeJob.error)
        .join(Thread, Thread.id == ResumeJob.thread_id)
        .where(ResumeJob.status == jobs.FAILED, Thread.status.not_in(closing.TERMINAL_THREADS))
        .order_by(ResumeJob.id).limit(limit)))
    threads, open_rows = lock_threads(session, sorted({thread_id for thread_id, *_ in dead}))
    for thread_id, interrupt_id, attempts, error in dead:
        thread, rows = threads.get(thread_id), open_rows.get(thread_id)
        if thread is None or rows is None or thread.status in closing.TERMINAL_THREADS:
            continue
        reason = f"its resume failed {attempts} times and was given up: {error}"
        closing.close(session, [r for r in rows if r.interrupt_id == interrupt_id],
                      status="failed", action="resume.failed", reason=reason, now=now)
        closing.end_thread(session, thread, [r for r in rows if r.interrupt_id != interrupt_id],
                           status="failed", action="run.failed", request_status="cancelled",
                           request_action="request.cancelled", reason=reason, now=now)
        tally["resumes_failed"] += 1


def known_interrupts(session: Session, thread_ids: Sequence[str]) -> dict[str, set[str]]:
    """The interrupt ids each thread's requests were opened for, in any status."""
    known: dict[str, set[str]] = {}
    for thread_id, interrupt_id in session.execute(
            select(ApprovalRequest.thread_id, ApprovalRequest.interrupt_id)
            .where(ApprovalRequest.thread_id.in_(thread_ids))):
        known.setdefault(thread_id, set()).add(interrupt_id)
    return known


@dataclass(frozen=True)
class ThreadFacts:
    """What our tables say about a thread the checkpointer shows waiting."""

    graph: str
    status: str
    updated_at: dt.datetime
    resuming: bool  # a resume job is queued or running


def thread_facts(session: Session, thread_ids: Sequence[str]) -> dict[str, ThreadFacts]:
    """Facts about those of ``thread_ids`` that the gateway started (others are not ours)."""
    resuming = set(session.scalars(select(ResumeJob.thread_id).where(
        ResumeJob.thread_id.in_(thread_ids), ResumeJob.status.in_((jobs.QUEUED, jobs.RUNNING)))))
    return {thread_id: ThreadFacts(graph=graph, status=status, updated_at=updated_at,
                                   resuming=thread_id in resuming)
            for thread_id, graph, status, updated_at in session.execute(
                select(Thread.id, Thread.graph, Thread.status, Thread.updated_at)
                .where(Thread.id.in_(thread_ids)))}


def fail_unregistered(session: Session, *, thread_id: str, now: dt.datetime) -> bool:
    """Fail a thread whose graph is not registered (False when it is busy or already over)."""
    threads, open_rows = lock_threads(session, [thread_id])
    thread, rows = threads.get(thread_id), open_rows.get(thread_id)
    if thread is None or rows is None or thread.status in closing.TERMINAL_THREADS:
        return False
    closing.graph_missing(session, thread, rows, now=now)
    return True


def record_recovered(session: Session, *, thread_id: str, interrupt_ids: Iterable[str],
                     checkpoint_id: str, now: dt.datetime) -> int:
    """Record each orphan interrupt that is now registered; returns how many."""
    wanted = set(interrupt_ids)
    requests = session.scalars(select(ApprovalRequest).where(
        ApprovalRequest.thread_id == thread_id, ApprovalRequest.interrupt_id.in_(wanted),
        ApprovalRequest.part == 0))
    count = 0
    for request in requests:
        ledger.append_record(
            session, action="interrupt.recovered", actor=closing.SWEEPER,
            subject={"graph": request.graph, "thread": thread_id,
                     "interrupt": request.interrupt_id},
            policy=request.policy_version, time=now,
            data={"rule": request.rule_id, "checkpoint": checkpoint_id,
                  "reason": "the checkpointer held an interrupt no request knew of"})
        count += 1
    return count
