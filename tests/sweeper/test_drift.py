"""Drift between our tables and the checkpointer, repaired both ways, on SQLite and PostgreSQL:
orphan interrupts and breakpoints, vanished interrupts, deleted threads, lost and failed
resumes, graphs no longer registered."""

from __future__ import annotations

import datetime as dt

import pytest
from langgraph.types import Command
from sqlalchemy import select, update

from oversight.approvals.models import ApprovalRequest
from oversight.gateway.adapters import MARKER
from oversight.gateway.models import ResumeJob, Thread
from oversight.gateway.service import Gateway
from oversight.sweeper import Sweeper
from tests.gateway import graphs
from tests.gateway.conftest import RILEY
from tests.sweeper.support import ask, by_sweeper, ledger, request_row, sweep


class Crash(RuntimeError):
    """The process 'died' after LangGraph saved the checkpoint, before registration."""


async def start_and_crash(gateway: Gateway, graph: str, action: str) -> str:
    def crash(*_args, **_kwargs):
        raise Crash
    gateway._register = crash  # type: ignore[method-assign]
    try:
        with pytest.raises(Crash):
            await gateway.start(graph, {"action": action, "payload": {"n": 1}}, requester=RILEY)
    finally:
        del gateway._register
    with gateway.sessions() as session:
        thread = session.scalars(select(Thread)).one()
        assert session.scalars(select(ApprovalRequest)).all() == []
        return thread.id


def thread_row(gateway: Gateway, thread_id: str) -> Thread:
    with gateway.sessions() as session:
        row = session.get(Thread, thread_id)
        assert row is not None
        return row


async def test_an_orphan_interrupt_is_registered_and_put_through_policy(gateway, sweeper, clock):
    thread_id = await start_and_crash(gateway, "ask", "deploy.reject")
    too_soon = await sweep(sweeper, scan=True)  # the thread may still be registering
    assert too_soon.orphans_registered == 0
    clock.advance(minutes=2)
    summary = await sweep(sweeper, scan=True)
    assert summary.orphans_registered == 1
    view = await gateway.thread(thread_id)
    assert view.status == "waiting" and len(view.pending) == 1
    request = view.pending[0]
    assert (request.rule_id, request.deadline_at) == ("timeout-reject",
                                                      clock.now + dt.timedelta(minutes=10))
    [recovered] = ledger(gateway.sessions, action="interrupt.recovered")
    assert recovered["actor"]["id"] == "system:sweeper"
    assert recovered["subject"]["interrupt"] == request.interrupt_id
    assert len(ledger(gateway.sessions, action="interrupt.raised")) == 1
    assert (await sweep(sweeper, scan=True)).orphans_registered == 0  # registered once
    clock.advance(minutes=10)  # and from now on its deadline is real
    assert (await sweep(sweeper)).rejected == 1
    assert (await gateway.thread(thread_id)).status == "completed"


async def test_an_orphan_static_breakpoint_is_found_by_its_pending_next_node(gateway, sweeper,
                                                                            clock):
    thread_id = await start_and_crash(gateway, "plain", "unused")
    clock.advance(minutes=2)
    summary = await sweep(sweeper, scan=True)
    assert summary.orphans_registered == 1
    [request] = (await gateway.thread(thread_id)).pending
    assert (request.shape, request.node, request.rule_id) == ("breakpoint", "act", "catch-all")
    assert request.interrupt_id.startswith("breakpoint:")


async def test_a_request_whose_interrupt_is_gone_is_closed(gateway, sweeper, clock):
    view = await ask(gateway, "deploy.reject")
    request = view.pending[0]
    graph = gateway.registry.compiled("ask", gateway.checkpointer)
    await graph.ainvoke(Command(resume={request.interrupt_id: {
        "oversight": MARKER, "outcome": "approve", "payload": {"n": 1}}}),
        {"configurable": {"thread_id": view.id}})  # resumed behind the gateway's back
    clock.advance(minutes=2)
    summary = await sweep(sweeper, scan=True)
    assert summary.stale_closed == 1
    row = request_row(gateway.sessions, request.id)
    assert row.status == "closed" and "no longer pending" in row.reason
    [closed] = by_sweeper(ledger(gateway.sessions, action="request.closed"))
    assert closed["subject"]["approval"] == request.id
    assert thread_row(gateway, view.id).status == "completed"  # reconciled with the checkpointer
    clock.advance(minutes=10)
    assert (await sweep(sweeper, scan=True)).rejected == 0


async def test_a_due_request_is_checked_against_the_checkpointer_before_acting(gateway, sweeper,
                                                                              clock):
    view = await ask(gateway, "deploy.reject")
    graph = gateway.registry.compiled("ask", gateway.checkpointer)
    request = view.pending[0]
    await graph.ainvoke(Command(resume={request.interrupt_id: {
        "oversight": MARKER, "outcome": "approve", "payload": {"n": 1}}}),
        {"configurable": {"thread_id": view.id}})
    clock.advance(minutes=10)
    summary = await sweep(sweeper, scan=False)
    assert (summary.rejected, summary.stale_closed) == (0, 1)
    assert ledger(gateway.sessions, action="request.rejected") == []


@pytest.mark.parametrize("scan", [True, False], ids=["scan", "deadline"])
async def test_a_deleted_thread_ends_cancelled_once(gateway, sweeper, clock, scan):
    view = await ask(gateway, "deploy.reject")
    await gateway.checkpointer.adelete_thread(view.id)
    clock.advance(minutes=2 if scan else 10)
    summary = await sweep(sweeper, scan=scan)
    assert (summary.threads_gone, summary.rejected) == (1, 0)
    assert request_row(gateway.sessions, view.pending[0].id).status == "closed"
    thread = thread_row(gateway, view.id)
    assert thread.status == "cancelled"
    [cancelled] = ledger(gateway.sessions, action="run.cancelled")
    assert cancelled["actor"]["id"] == "system:sweeper" and "deleted" in cancelled["data"]["reason"]
    clock.advance(hours=1)
    again = await sweep(sweeper, scan=True)
    assert (again.threads_gone, again.repaired) == (0, 0)


async def test_a_final_request_whose_resume_was_lost_is_resumed_once(gateway, sweeper, clock):
    view = await ask(gateway, "deploy.reject")
    request = view.pending[0]
    with gateway.sessions.begin() as session:  # decided, but the resume was never queued
        session.execute(update(ApprovalRequest).where(ApprovalRequest.id == request.id).values(
            status="approved", outcome="approve", decided_at=clock.now))
    summary = await sweep(sweeper)
    assert (summary.resumes_requeued, summary.resumes_run) == (1, 1)
    done = await gateway.thread(view.id)
    assert done.status == "completed" and done.values["decision"]["outcome"] == "approve"
    assert graphs.EXECUTED == ["act"]
    again = await sweep(sweeper)
    assert (again.resumes_requeued, again.resumes_run) == (0, 0)
    assert len(ledger(gateway.sessions, action="resume.requeued")) == 1
    assert len(ledger(gateway.sessions, action="resume.applied")) == 1


async def test_a_resume_that_failed_for_good_ends_the_thread(gateway, sweeper, clock):
    view = await ask(gateway, "deploy.reject")
    with gateway.sessions.begin() as session:
        session.execute(update(ApprovalRequest).values(status="approved", outcome="approve"))
        session.add(ResumeJob(thread_id=view.id, interrupt_id=view.pending[0].interrupt_id,
                              value="null", status="failed", attempts=5, created_at=clock.now,
                              error="OperationalError: the checkpointer was down"))
    summary = await sweep(sweeper)
    assert summary.resumes_failed == 1
    thread = thread_row(gateway, view.id)
    assert thread.status == "failed" and "checkpointer was down" in thread.error
    assert request_row(gateway.sessions, view.pending[0].id).status == "failed"
    assert (await sweep(sweeper)).resumes_failed == 0


async def test_a_thread_whose_graph_is_gone_fails_once(gateway, clock):
    view = await ask(gateway, "deploy.reject")
    other = Gateway(sessions=gateway.sessions, checkpointer=gateway.checkpointer,
                    evaluate=gateway.evaluate, clock=clock)
    other.register("plain", graphs.plain_graph)  # "ask" is no longer registered
    sweeper = Sweeper(other)
    clock.advance(minutes=10)
    summary = await sweep(sweeper)
    assert (summary.unregistered, summary.rejected) == (1, 0)
    thread = thread_row(gateway, view.id)
    assert thread.status == "failed" and "'ask' is not registered" in thread.error
    assert request_row(gateway.sessions, view.pending[0].id).status == "cancelled"
    assert [r["action"] for r in by_sweeper(ledger(gateway.sessions))] == [
        "request.cancelled", "run.failed"]
    clock.advance(hours=1)
    again = await sweep(sweeper, scan=True)
    assert again.repaired == 0 and len(by_sweeper(ledger(gateway.sessions))) == 2


async def test_a_sweeper_without_any_graph_leaves_threads_alone(gateway, clock):
    view = await ask(gateway, "deploy.reject")
    bare = Sweeper(Gateway(sessions=gateway.sessions, checkpointer=gateway.checkpointer,
                           evaluate=gateway.evaluate, clock=clock))
    clock.advance(minutes=10)
    summary = await sweep(bare)
    assert (summary.no_graphs, summary.unregistered, summary.rejected) == (1, 0, 0)
    assert thread_row(gateway, view.id).status == "waiting"
    assert "OVERSIGHT_GRAPHS" in summary.describe()
