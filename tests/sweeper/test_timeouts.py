"""Deadlines made real, on SQLite and PostgreSQL: reject, expire, a two-step escalation ending
in reject, and a decision arriving in the same instant as the sweeper."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import pytest
from sqlalchemy import select

from oversight.approvals.exceptions import DecisionRefused, StaleView
from oversight.approvals.service import requirement_of
from oversight.notify.models import Notification
from oversight.sweeper import Sweeper
from tests.gateway import graphs
from tests.gateway.conftest import DANA, person
from tests.sweeper.support import ask, by_sweeper, ledger, request_row, sweep

LEAD = person("lena", "lead")
CTO = person("carl", "cto")


async def test_nothing_happens_before_the_deadline(gateway, sweeper, clock):
    view = await ask(gateway, "deploy.reject")
    clock.advance(minutes=9, seconds=59)
    summary = await sweep(sweeper)
    assert (summary.rejected, summary.expired, summary.escalated, summary.repaired) == (0, 0, 0, 0)
    assert request_row(gateway.sessions, view.pending[0].id).status == "pending"
    assert by_sweeper(ledger(gateway.sessions)) == []


async def test_reject_on_timeout_resumes_the_graph_with_a_rejection(gateway, sweeper, clock):
    view = await ask(gateway, "deploy.reject")
    request = view.pending[0]
    clock.advance(minutes=10)
    summary = await sweep(sweeper)
    assert (summary.rejected, summary.resumes_run, summary.errors) == (1, 1, 0)
    row = request_row(gateway.sessions, request.id)
    assert (row.status, row.outcome) == ("resumed", "reject")
    assert row.reason.startswith("the deadline passed at 2026-11-25T09:40:00+00:00")
    done = await gateway.thread(view.id)
    assert done.status == "completed"
    assert done.values["decision"]["outcome"] == "reject"
    assert "deadline passed" in done.values["decision"]["reason"]
    [rejected] = ledger(gateway.sessions, action="request.rejected")
    assert rejected["actor"]["id"] == "system:sweeper"
    assert rejected["data"]["rule"] == "timeout-reject" and rejected["data"]["on_timeout"] == "reject"
    assert rejected["policy"] == row.policy_version and rejected["policy"].startswith("sha256:")
    assert len(ledger(gateway.sessions, action="resume.applied")) == 1
    again = await sweep(sweeper)
    assert (again.rejected, again.resumes_run) == (0, 0)
    assert len(ledger(gateway.sessions, action="request.rejected")) == 1


async def test_a_rejection_on_timeout_tells_the_graph_who_had_approved(gateway, sweeper, clock):
    view = await ask(gateway, "deploy.reject-two")  # two DBAs needed; only one came
    request = view.pending[0]
    await gateway.decide(request.id, principal=DANA, decision="approve",
                         payload_digest=request.payload_digest)
    assert request_row(gateway.sessions, request.id).status == "pending"
    clock.advance(minutes=10)
    assert (await sweep(sweeper)).rejected == 1
    decision = (await gateway.thread(view.id)).values["decision"]
    assert decision["outcome"] == "reject" and decision["approvers"] == ["dana"]


async def test_expire_closes_request_and_thread_without_resuming(gateway, sweeper, clock):
    view = await ask(gateway, "deploy.expire")
    request = view.pending[0]
    clock.advance(minutes=11)
    summary = await sweep(sweeper)
    assert (summary.expired, summary.rejected, summary.resumes_run) == (1, 0, 0)
    row = request_row(gateway.sessions, request.id)
    assert (row.status, row.closed_at) == ("expired", clock.now)
    thread = await gateway.thread(view.id)
    assert thread.status == "expired" and thread.pending == []
    assert graphs.EXECUTED == []  # never resumed: the node after the approval did not run
    graph = gateway.registry.compiled("ask", gateway.checkpointer)
    state = await graph.aget_state({"configurable": {"thread_id": view.id}})
    assert [i.id for t in state.tasks for i in t.interrupts] == [request.interrupt_id]
    trail = by_sweeper(ledger(gateway.sessions, thread=view.id))
    assert [r["action"] for r in trail] == ["request.expired", "run.expired"]
    assert trail[0]["data"]["rule"] == "timeout-expire"
    with pytest.raises(StaleView) as late:
        await gateway.decide(request.id, principal=DANA, decision="approve",
                             payload_digest=request.payload_digest)
    assert late.value.code == "not_pending"


async def test_two_step_escalation_then_reject(gateway, sweeper, clock):
    view = await ask(gateway, "deploy.escalate")
    request = view.pending[0]
    clock.advance(minutes=10)
    first = await sweep(sweeper)
    assert (first.escalated, first.rejected) == (1, 0)
    row = request_row(gateway.sessions, request.id)
    assert (row.status, row.escalation_step) == ("pending", 1)
    assert row.deadline_at == clock.now + dt.timedelta(minutes=20)
    assert [g.role for g in requirement_of(row).approvers] == ["lead"]
    with pytest.raises(DecisionRefused) as refused:  # the first approvers were replaced
        await gateway.decide(request.id, principal=DANA, decision="approve",
                             payload_digest=request.payload_digest)
    assert refused.value.code == "not_eligible" and "1 of lead" in refused.value.detail

    clock.advance(minutes=19)
    assert (await sweep(sweeper)).escalated == 0
    clock.advance(minutes=1)
    second = await sweep(sweeper)
    assert (second.escalated, second.rejected) == (1, 0)
    row = request_row(gateway.sessions, request.id)
    assert row.escalation_step == 2 and [g.role for g in requirement_of(row).approvers] == ["cto"]

    clock.advance(minutes=30)
    third = await sweep(sweeper)
    assert (third.escalated, third.rejected, third.resumes_run) == (0, 1, 1)
    assert (await gateway.thread(view.id)).values["decision"]["outcome"] == "reject"
    escalations = ledger(gateway.sessions, action="request.escalated")
    assert [(r["data"]["step"], r["data"]["approvers"], r["data"]["notify"])
            for r in escalations] == [(1, "1 of lead", ["leads"]),
                                      (2, "1 of cto", ["cto-pager", "email"])]
    assert all(r["actor"]["id"] == "system:sweeper" and r["data"]["rule"] == "timeout-escalate"
               for r in escalations)
    with gateway.sessions() as session:  # each step tells its channels, in its transaction
        notices = list(session.scalars(select(Notification).where(
            Notification.approval_id == request.id).order_by(Notification.id)))
    assert [(n.channel, n.event, json.loads(n.message).get("step"),
             json.loads(n.message)["approvers"]) for n in notices] == [
        ("leads", "request.escalated", 1, "1 of lead"),
        ("cto-pager", "request.escalated", 2, "1 of cto"),
        ("email", "request.escalated", 2, "1 of cto")]


async def test_an_escalated_approver_can_decide(gateway, sweeper, clock):
    view = await ask(gateway, "deploy.escalate")
    clock.advance(minutes=10)
    await sweep(sweeper)
    result = await gateway.decide(view.pending[0].id, principal=LEAD, decision="approve",
                                  payload_digest=view.pending[0].payload_digest)
    assert result.became_final
    assert (await gateway.thread(view.id)).values["decision"]["outcome"] == "approve"


async def test_a_decision_committed_first_wins_over_the_sweeper(gateway, sweeper, clock):
    view = await ask(gateway, "deploy.reject")
    request = view.pending[0]
    clock.advance(minutes=10)  # the very instant of the deadline
    await gateway.decide(request.id, principal=DANA, decision="approve",
                         payload_digest=request.payload_digest)
    summary = await sweep(sweeper)
    assert summary.rejected == 0
    assert (await gateway.thread(view.id)).values["decision"]["outcome"] == "approve"
    assert len(ledger(gateway.sessions, action="decision.recorded")) == 1
    assert ledger(gateway.sessions, action="request.rejected") == []


async def test_a_decision_after_the_sweeper_is_refused_and_recorded(gateway, clock):
    sweeper = Sweeper(gateway, run_resumes=False)
    view = await ask(gateway, "deploy.reject")
    request = view.pending[0]
    clock.advance(minutes=10)
    assert (await sweep(sweeper)).rejected == 1
    with pytest.raises(StaleView) as late:
        await gateway.decide(request.id, principal=DANA, decision="approve",
                             payload_digest=request.payload_digest)
    assert late.value.code == "not_pending"
    assert ledger(gateway.sessions, action="decision.recorded") == []
    assert len(ledger(gateway.sessions, action="decision.refused")) == 1
    assert len(ledger(gateway.sessions, action="request.rejected")) == 1


async def test_decisions_racing_the_sweeper_exactly_one_wins_each_time(gateway, clock):
    views = [await ask(gateway, "deploy.reject", n=i) for i in range(6)]
    clock.advance(minutes=10)
    sweeper = Sweeper(gateway, batch=2)

    async def decide(view):
        try:
            await gateway.decide(view.pending[0].id, principal=DANA, decision="approve",
                                 payload_digest=view.pending[0].payload_digest)
        except StaleView:
            return "late"
        return "decided"

    outcomes = await asyncio.gather(sweep(sweeper), *(decide(v) for v in views))
    summary, decided = outcomes[0], outcomes[1:]
    for view, outcome in zip(views, decided, strict=True):
        request_id = view.pending[0].id
        won_by_person = [r for r in ledger(gateway.sessions, action="decision.recorded")
                         if r["subject"]["approval"] == request_id]
        won_by_sweeper = [r for r in ledger(gateway.sessions, action="request.rejected")
                          if r["subject"]["approval"] == request_id]
        assert len(won_by_person) + len(won_by_sweeper) == 1
        assert (outcome == "decided") == bool(won_by_person)
    assert summary.rejected == sum(1 for o in decided if o == "late")
    await sweep(sweeper)
    for view in views:
        assert len(ledger(gateway.sessions, action="resume.applied", thread=view.id)) == 1
        assert (await gateway.thread(view.id)).status == "completed"
