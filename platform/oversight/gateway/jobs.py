"""Resume jobs in the database: enqueue once, claim with ``SKIP LOCKED`` and a lease.

A thread is resumed by one runner at a time: a claim skips threads that have a job running
under a live lease, and takes the thread's row lock so two runners cannot claim two jobs of
one thread at the same instant.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, NamedTuple

from sqlalchemy import bindparam, exists, insert, select, update
from sqlalchemy.orm import Session, aliased

from oversight.db import UTCDateTime
from oversight.gateway.models import ResumeJob, Thread
from oversight.stops import service as stops

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
MAX_ATTEMPTS = 5


def _take(job: ResumeJob, *, runner: str, lease: dt.timedelta, now: dt.datetime) -> None:
    job.status = RUNNING
    job.attempts += 1
    job.claimed_by = runner
    job.lease_until = now + lease


class QueuedJob(NamedTuple):
    """A resume job as ``enqueue`` wrote (or found) it."""

    id: int
    thread_id: str
    interrupt_id: str
    value: str | None  # JSON
    status: str


_JOB_OF = (select(ResumeJob.id, ResumeJob.thread_id, ResumeJob.interrupt_id, ResumeJob.value,
                  ResumeJob.status)
           .where(ResumeJob.thread_id == bindparam("t"), ResumeJob.interrupt_id == bindparam("i")))
_INSERT_JOB = insert(ResumeJob).returning(ResumeJob.id)


def enqueue(session: Session, *, thread_id: str, interrupt_id: str, value: Any,
            now: dt.datetime, runner: str | None = None,
            lease: dt.timedelta = dt.timedelta(minutes=5), fresh: bool = False) -> QueuedJob:
    """Queue the one resume of ``interrupt_id`` (a second enqueue returns the first job).

    With ``runner`` the job is claimed by it as it is written (the caller holds the thread's
    row lock and saw no other resume of the thread running). ``fresh``: the caller knows no
    job exists (its transaction just made the interrupt final under the requests' row
    locks), so nothing is read first; ``UNIQUE(thread_id, interrupt_id)`` still guards it.
    """
    connection = session.connection()
    if not fresh:
        existing = connection.execute(_JOB_OF, {"t": thread_id, "i": interrupt_id}).first()
        if existing is not None:
            return QueuedJob(*existing)
    text = json.dumps(value)
    status = QUEUED if runner is None else RUNNING
    job_id = connection.execute(_INSERT_JOB, {
        "thread_id": thread_id, "interrupt_id": interrupt_id, "value": text, "status": status,
        "attempts": 0 if runner is None else 1, "claimed_by": runner,
        "lease_until": None if runner is None else now + lease, "created_at": now}).scalar_one()
    return QueuedJob(job_id, thread_id, interrupt_id, text, status)


def claim(session: Session, *, runner: str, lease: dt.timedelta, now: dt.datetime,
          thread_id: str | None = None, limit: int = 1,
          graphs: dict[str, str] | None = None) -> list[ResumeJob]:
    """Claim up to ``limit`` claimable jobs (queued, or running with an expired lease), the
    oldest first and at most one a thread, in four statements however many (``graphs``:
    filled with the graph of each thread locked, which the lock reads anyway).

    The jobs are locked with ``SKIP LOCKED`` (another runner's claim is passed over, never
    waited on), then their threads in id order (so two runners never deadlock), and a thread
    where another resume started meanwhile is left alone.
    """
    busy_threads = select(ResumeJob.thread_id).where(ResumeJob.status == RUNNING,
                                                     ResumeJob.lease_until >= now)
    query = (select(ResumeJob)
             .join(Thread, Thread.id == ResumeJob.thread_id)
             .where(((ResumeJob.status == QUEUED)
                     | ((ResumeJob.status == RUNNING) & (ResumeJob.lease_until < now))),
                    ResumeJob.thread_id.not_in(busy_threads),
                    ~stops.covers(ResumeJob.thread_id, Thread.graph))
             .order_by(ResumeJob.id).limit(limit)
             .with_for_update(skip_locked=True, of=ResumeJob))
    if thread_id is not None:
        query = query.where(ResumeJob.thread_id == thread_id)
    oldest: dict[str, ResumeJob] = {}
    for job in session.scalars(query):
        oldest.setdefault(job.thread_id, job)
    if not oldest:
        return []
    thread_ids = sorted(oldest)
    locked = session.execute(select(Thread.id, Thread.graph).where(Thread.id.in_(thread_ids))
                             .order_by(Thread.id).with_for_update())
    if graphs is not None:
        graphs.update((str(t), str(g)) for t, g in locked)
    started = set(session.scalars(select(ResumeJob.thread_id).where(
        ResumeJob.thread_id.in_(thread_ids), ResumeJob.status == RUNNING,
        ResumeJob.lease_until >= now, ResumeJob.id.not_in([j.id for j in oldest.values()]))))
    claimed = sorted((j for t, j in oldest.items() if t not in started), key=lambda j: j.id)
    for job in claimed:
        _take(job, runner=runner, lease=lease, now=now)
    session.flush()
    return claimed


def finish(session: Session, *, job_id: int, now: dt.datetime, error: str | None = None) -> None:
    """Mark a job done (or failed for good after ``MAX_ATTEMPTS``, or queued again)."""
    job = session.get(ResumeJob, job_id, with_for_update=True)
    if job is None:
        return
    if error is None:
        job.status, job.finished_at, job.error = DONE, now, None
    elif job.attempts >= MAX_ATTEMPTS:
        job.status, job.finished_at, job.error = FAILED, now, error
    else:
        job.status, job.lease_until, job.error = QUEUED, None, error
    session.flush()


def has_open_jobs(session: Session, thread_id: str) -> bool:
    """True while a resume of the thread is queued or running."""
    return session.scalar(_OPEN_JOB, {"thread_id": thread_id}) is not None


_OPEN_JOB = select(ResumeJob.id).where(ResumeJob.thread_id == bindparam("thread_id"),
                                       ResumeJob.status.in_((QUEUED, RUNNING))).limit(1)


_OTHER = aliased(ResumeJob)
_FINISH_APPLIED = (
    update(ResumeJob).where(ResumeJob.id == bindparam("job_id"))
    .values(status=DONE, finished_at=bindparam("now", type_=UTCDateTime()), error=None)
    .returning(ResumeJob.interrupt_id, exists().where(
        _OTHER.thread_id == ResumeJob.thread_id, _OTHER.id != ResumeJob.id,
        _OTHER.status.in_((QUEUED, RUNNING)))))


def finish_applied(session: Session, *, job_id: int, now: dt.datetime) -> tuple[str, bool]:
    """Mark a job done in the transaction that records what its resume did; returns the
    interrupt it resumed and whether another job of the thread is still queued or running
    (one statement: the update takes the row lock and answers both)."""
    row = session.connection().execute(_FINISH_APPLIED, {"job_id": job_id, "now": now}).first()
    if row is None:
        raise LookupError(f"resume job {job_id} vanished")
    return str(row[0]), bool(row[1])
