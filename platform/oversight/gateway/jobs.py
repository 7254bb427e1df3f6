"""Resume jobs in the database: enqueue once, claim with ``SKIP LOCKED`` and a lease.

A thread is resumed by one runner at a time: a claim skips threads that have a job running
under a live lease, and takes the thread's row lock so two runners cannot claim two jobs of
one thread at the same instant.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from oversight.gateway.models import ResumeJob, Thread
from oversight.stops import service as stops

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
MAX_ATTEMPTS = 5


def enqueue(session: Session, *, thread_id: str, interrupt_id: str, value: Any,
            now: dt.datetime) -> ResumeJob:
    """Queue the one resume of ``interrupt_id`` (a second enqueue returns the first job)."""
    existing = session.scalars(select(ResumeJob).where(
        ResumeJob.thread_id == thread_id, ResumeJob.interrupt_id == interrupt_id)).first()
    if existing is not None:
        return existing
    job = ResumeJob(thread_id=thread_id, interrupt_id=interrupt_id, value=json.dumps(value),
                    status=QUEUED, attempts=0, created_at=now)
    session.add(job)
    session.flush()
    return job


def claim(session: Session, *, runner: str, lease: dt.timedelta, now: dt.datetime,
          thread_id: str | None = None) -> ResumeJob | None:
    """Claim the oldest claimable job (queued, or running with an expired lease)."""
    busy_threads = select(ResumeJob.thread_id).where(ResumeJob.status == RUNNING,
                                                     ResumeJob.lease_until >= now)
    query = (select(ResumeJob)
             .join(Thread, Thread.id == ResumeJob.thread_id)
             .where(((ResumeJob.status == QUEUED)
                     | ((ResumeJob.status == RUNNING) & (ResumeJob.lease_until < now))),
                    ResumeJob.thread_id.not_in(busy_threads),
                    ~stops.covers(ResumeJob.thread_id, Thread.graph))
             .order_by(ResumeJob.id).limit(1)
             .with_for_update(skip_locked=True, of=ResumeJob))
    if thread_id is not None:
        query = query.where(ResumeJob.thread_id == thread_id)
    job = session.scalars(query).first()
    if job is None:
        return None
    session.scalars(select(Thread.id).where(Thread.id == job.thread_id).with_for_update()).first()
    running = session.scalar(select(ResumeJob.id).where(
        ResumeJob.thread_id == job.thread_id, ResumeJob.status == RUNNING,
        ResumeJob.lease_until >= now, ResumeJob.id != job.id))
    if running is not None:
        return None
    job.status = RUNNING
    job.attempts += 1
    job.claimed_by = runner
    job.lease_until = now + lease
    session.flush()
    return job


def claim_enqueued(session: Session, job: ResumeJob, *, runner: str, lease: dt.timedelta,
                   now: dt.datetime) -> bool:
    """Claim a job this transaction enqueued (no one else can see it yet), unless another
    job of its thread is running."""
    if job.status != QUEUED:
        return False
    running = session.scalar(select(ResumeJob.id).where(
        ResumeJob.thread_id == job.thread_id, ResumeJob.status == RUNNING,
        ResumeJob.lease_until >= now, ResumeJob.id != job.id))
    if running is not None:
        return False
    job.status, job.attempts, job.claimed_by, job.lease_until = RUNNING, 1, runner, now + lease
    return True


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
    return session.scalar(select(ResumeJob.id).where(
        ResumeJob.thread_id == thread_id, ResumeJob.status.in_((QUEUED, RUNNING))).limit(1)
    ) is not None


def release(session: Session, *, job_id: int) -> None:
    """Give a claimed job back untouched (a stop now covers its thread)."""
    job = session.get(ResumeJob, job_id, with_for_update=True)
    if job is not None and job.status == RUNNING:
        job.status, job.lease_until, job.attempts = QUEUED, None, max(job.attempts - 1, 0)
        session.flush()


def finish_applied(session: Session, *, job_id: int, now: dt.datetime) -> ResumeJob:
    """Mark a job done in the transaction that records what its resume did."""
    job = session.get(ResumeJob, job_id, with_for_update=True)
    if job is None:
        raise LookupError(f"resume job {job_id} vanished")
    job.status, job.finished_at, job.error = DONE, now, None
    session.flush()
    return job
