"""Before a resume the runner asks the checkpointer whether the interrupt still waits: for a
batch of claimed jobs in one query over its tables, or through LangGraph's API for a saver
whose tables we do not read. A job whose resume was applied already never runs again."""

from __future__ import annotations

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from sqlalchemy import update

from oversight import db
from oversight.gateway import heads
from oversight.gateway.models import ResumeJob
from oversight.gateway.service import Gateway
from oversight.policy import load_policy_set
from tests.gateway import graphs
from tests.gateway.conftest import DANA, POLICIES, RILEY
from tests.gateway.support import actions

ASK = {"action": "sql.execute", "payload": {"operation": "DELETE", "query": "DELETE FROM t"}}


@pytest.fixture(autouse=True)
def _clean() -> None:
    graphs.EXECUTED.clear()


async def _decided(gateway: Gateway, count: int) -> list[str]:
    """``count`` threads waiting in ``ask``, each approved without running its resume."""
    gateway.register("ask", graphs.ask_graph)
    thread_ids = []
    for _ in range(count):
        view = await gateway.start("ask", ASK, requester=RILEY)
        request = view.pending[0]
        await gateway.decide(request.id, principal=DANA, decision="approve",
                             payload_digest=request.payload_digest, resume=False)
        thread_ids.append(view.id)
    return thread_ids


def _requeue(gateway: Gateway, thread_id: str) -> None:
    """As if the runner died after the resume, before its job was marked done."""
    with gateway.sessions() as session, session.begin():
        session.execute(update(ResumeJob).where(ResumeJob.thread_id == thread_id)
                        .values(status="queued", finished_at=None))


async def test_one_query_checks_a_batch_and_a_resumed_interrupt_is_skipped(gateway):
    assert heads.reads_tables(gateway.checkpointer)
    first, *others = await _decided(gateway, 3)
    assert await gateway.run_jobs(thread_id=first) == 1
    _requeue(gateway, first)
    assert await gateway.run_jobs(batch=8) == 3  # one claim: the two fresh jobs and the retry
    assert graphs.EXECUTED == ["act"] * 3  # each thread's node ran once
    assert actions(gateway.sessions, first).count("resume.skipped") == 1
    for thread_id in [first, *others]:
        assert actions(gateway.sessions, thread_id).count("resume.applied") == 1
        assert (await gateway.thread(thread_id)).status == "completed"


async def test_another_saver_is_checked_through_langgraphs_api(engine):
    gateway = Gateway(sessions=db.session_factory(engine), checkpointer=InMemorySaver(),
                      evaluate=load_policy_set([POLICIES]).evaluate)
    assert not heads.reads_tables(gateway.checkpointer)
    [thread_id] = await _decided(gateway, 1)
    assert await gateway.run_jobs() == 1
    _requeue(gateway, thread_id)
    assert await gateway.run_jobs() == 1
    assert graphs.EXECUTED == ["act"]
    trail = actions(gateway.sessions, thread_id)
    assert trail.count("resume.applied") == 1 and trail.count("resume.skipped") == 1
