"""Claiming resume jobs in batches: oldest first, one a thread, never a thread that is busy
or stopped, and never the same job twice across runners."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import delete

from oversight import db
from oversight.gateway import jobs
from oversight.gateway.models import ResumeJob, Thread
from oversight.stops.models import Stop

NOW = dt.datetime(2026, 11, 25, 9, 30, tzinfo=dt.UTC)
LEASE = dt.timedelta(minutes=5)


@pytest.fixture
def sessions(engine):
    factory = db.session_factory(engine)
    yield factory
    with factory() as session, session.begin():  # the module's database is shared
        for table in (ResumeJob, Stop, Thread):
            session.execute(delete(table))


def _thread(session, graph: str = "g") -> str:
    thread_id = str(uuid.uuid4())
    session.add(Thread(id=thread_id, graph=graph, status="running", created_at=NOW,
                       updated_at=NOW))
    session.flush()
    return thread_id


def _job(session, thread_id: str, *, status: str = jobs.QUEUED,
         lease_until: dt.datetime | None = None) -> int:
    job = ResumeJob(thread_id=thread_id, interrupt_id=uuid.uuid4().hex, value='"approved"',
                    status=status, attempts=1 if status == jobs.RUNNING else 0,
                    lease_until=lease_until, created_at=NOW)
    session.add(job)
    session.flush()
    return job.id


def _claim(sessions, limit: int, runner: str = "r1") -> list[int]:
    with sessions() as session, session.begin():
        return [j.id for j in jobs.claim(session, runner=runner, lease=LEASE, now=NOW,
                                         limit=limit)]


def test_a_batch_takes_the_oldest_job_of_each_thread(sessions):
    with sessions() as session, session.begin():
        a, b, c = (_thread(session) for _ in range(3))
        a1, b1, a2, c1 = _job(session, a), _job(session, b), _job(session, a), _job(session, c)
    assert _claim(sessions, 8) == [a1, b1, c1]  # a2 waits for a1: one resume a thread
    with sessions() as session:
        claimed = session.get(ResumeJob, a1)
        assert claimed.status == jobs.RUNNING and claimed.claimed_by == "r1"
        assert claimed.attempts == 1 and claimed.lease_until == NOW + LEASE
        assert session.get(ResumeJob, a2).status == jobs.QUEUED
    assert _claim(sessions, 8) == []  # a's job runs under a live lease: a2 still waits


def test_the_limit_busy_and_stopped_threads_and_expired_leases(sessions):
    with sessions() as session, session.begin():
        free = [_thread(session) for _ in range(3)]
        busy, stopped, dead = _thread(session), _thread(session, "halted"), _thread(session)
        queued = [_job(session, t) for t in free]
        _job(session, busy, status=jobs.RUNNING, lease_until=NOW + LEASE)
        held = _job(session, busy)
        _job(session, stopped)
        orphan = _job(session, dead, status=jobs.RUNNING, lease_until=NOW - LEASE)
        session.add(Stop(id=str(uuid.uuid4()), scope="graph", target="halted", reason="r",
                         created_by="admin", created_at=NOW))
    assert _claim(sessions, 2) == queued[:2]
    # the rest: the third free thread and the job whose runner's lease ran out, not the
    # queued job of a thread with a live resume, nor the stopped graph's
    assert _claim(sessions, 8) == [queued[2], orphan]
    with sessions() as session:
        assert session.get(ResumeJob, orphan).attempts == 2
        assert session.get(ResumeJob, held).status == jobs.QUEUED


# SQLite serialises writers from BEGIN IMMEDIATE: no two claims are ever open at once there.
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_two_runners_claiming_at_once_share_nothing(sessions):
    with sessions() as session, session.begin():
        ids = [_job(session, _thread(session)) for _ in range(6)]
    first = sessions()
    first.begin()
    mine = [j.id for j in jobs.claim(first, runner="r1", lease=LEASE, now=NOW, limit=3)]
    theirs = _claim(sessions, 8, runner="r2")  # while the first claim is still open
    first.commit()
    first.close()
    assert mine == ids[:3] and theirs == ids[3:]


def test_a_claim_says_the_graph_of_each_thread_it_locked(sessions):
    with sessions() as session, session.begin():
        a, b = _thread(session, "billing"), _thread(session, "travel")
        _job(session, a), _job(session, b)
    graphs: dict[str, str] = {}
    with sessions() as session, session.begin():
        assert len(jobs.claim(session, runner="r1", lease=LEASE, now=NOW, limit=8,
                              graphs=graphs)) == 2
    assert graphs == {a: "billing", b: "travel"}
