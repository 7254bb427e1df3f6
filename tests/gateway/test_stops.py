"""The stop button: a stop cancels what is pending in its scope, refuses new runs and holds
resumes until it is lifted; each step is recorded."""

from __future__ import annotations

import pytest

from oversight.stops import service as stops
from oversight.stops.exceptions import StopInvalid, Stopped
from oversight.stops.models import Stop
from tests.gateway import graphs
from tests.gateway.conftest import DANA, RILEY, person
from tests.gateway.support import actions

ADMIN = person("adam", "admin")


@pytest.fixture(autouse=True)
def _register(gateway):
    gateway.register("ask", graphs.ask_graph)
    graphs.EXECUTED.clear()


async def _ask(gateway):
    return await gateway.start("ask", {"action": "sql.execute", "payload": {
        "operation": "DELETE", "query": "DELETE FROM t"}}, requester=RILEY)


def _place(gateway, scope, target, reason="incident 42"):
    with gateway.sessions() as session, session.begin():
        stop, cancelled = stops.place(session, scope=scope, target=target, reason=reason,
                                      principal=ADMIN, now=gateway.clock())
    return stop, cancelled


def _lift(gateway, stop):
    with gateway.sessions() as session, session.begin():
        stops.lift(session, stop_id=stop.id, reason="resolved", principal=ADMIN,
                   now=gateway.clock())


async def test_a_graph_stop_cancels_refuses_and_lifts(gateway):
    waiting = await _ask(gateway)
    stop, cancelled = _place(gateway, "graph", "ask")
    assert cancelled >= 1
    assert (await gateway.request(waiting.pending[0].id)).status == "cancelled"
    with pytest.raises(Stopped) as refused:
        await _ask(gateway)
    assert "incident 42" in refused.value.detail
    trail = actions(gateway.sessions, waiting.id)
    assert "request.cancelled" in trail
    _lift(gateway, stop)
    again = await _ask(gateway)
    assert again.status == "waiting"
    _lift_all(gateway)


def _lift_all(gateway):
    with gateway.sessions() as session:
        active = stops.active(session)
    for stop in active:
        _lift(gateway, stop)


async def test_a_stop_holds_a_final_resume_until_lifted(gateway):
    view = await _ask(gateway)
    request = view.pending[0]
    await gateway.decide(request.id, principal=DANA, decision="approve",
                         payload_digest=request.payload_digest, resume=False)
    stop, _ = _place(gateway, "thread", view.id)
    assert await gateway.run_jobs(thread_id=view.id) == 0
    assert graphs.EXECUTED == []
    assert (await gateway.thread(view.id)).status == "running"
    _lift(gateway, stop)
    assert await gateway.run_jobs(thread_id=view.id) == 1
    assert graphs.EXECUTED == ["act"]
    assert (await gateway.thread(view.id)).status == "completed"


async def test_a_thread_stop_leaves_other_threads_alone(gateway):
    first, second = await _ask(gateway), await _ask(gateway)
    stop, cancelled = _place(gateway, "thread", first.id)
    assert cancelled == 1
    assert (await gateway.request(second.pending[0].id)).status == "pending"
    _lift(gateway, stop)


def test_a_stop_needs_a_scope_target_and_reason(gateway):
    with pytest.raises(StopInvalid):
        _place(gateway, "everything", None)
    with pytest.raises(StopInvalid):
        _place(gateway, "all", "ask")
    with pytest.raises(StopInvalid):
        _place(gateway, "graph", "ask", reason=" ")


async def test_a_stop_that_lands_as_a_request_turns_final_holds_its_resume(gateway):
    # the stop's row exists before the decision commits, but its cancellation missed the
    # request (placed in the same instant): the decider's process must not run the resume
    view = await _ask(gateway)
    request = view.pending[0]
    with gateway.sessions() as session, session.begin():
        session.add(Stop(id="a0000000-0000-4000-8000-000000000001", scope="thread",
                         target=view.id, reason="incident 43", created_by=ADMIN.id,
                         created_at=gateway.clock()))
    result = await gateway.decide(request.id, principal=DANA, decision="approve",
                                  payload_digest=request.payload_digest)
    assert result.became_final and graphs.EXECUTED == []
    assert (await gateway.thread(view.id)).status == "running"  # final, held by the stop
    assert await gateway.run_jobs(thread_id=view.id) == 0
    _lift_all(gateway)
    assert await gateway.run_jobs(thread_id=view.id) == 1
    assert graphs.EXECUTED == ["act"]
    assert (await gateway.thread(view.id)).status == "completed"
