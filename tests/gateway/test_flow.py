"""End to end through the gateway, on SQLite and PostgreSQL with their real checkpointers."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from oversight.approvals.exceptions import (
    DecisionInvalid,
    DecisionRefused,
    StaleView,
    StepUpRequired,
)
from oversight.gateway.exceptions import ThreadWaiting
from oversight.gateway.models import ResumeJob
from tests.gateway import graphs
from tests.gateway.conftest import DANA, DMITRI, DORA_NO_MFA, OLGA, RILEY, TARA, person
from tests.gateway.support import actions, records


@pytest.fixture(autouse=True)
def _register(gateway):
    gateway.register("ask", graphs.ask_graph)
    gateway.register("swallow", graphs.swallow_graph)
    gateway.register("unsafe", graphs.unsafe_graph)
    gateway.register("raw", graphs.raw_graph)
    gateway.register("parallel", graphs.parallel_graph)
    gateway.register("plain", graphs.plain_graph, interrupt_before=["act"])
    gateway.register("inbox", graphs.inbox_graph)
    graphs.EXECUTED.clear()


async def _ask(gateway, operation, query="DELETE FROM users", requester=RILEY):
    return await gateway.start("ask", {"action": "sql.execute", "payload": {
        "operation": operation, "query": query}}, requester=requester)


async def test_read_only_select_is_auto_approved(gateway):
    view = await gateway.start("sql_agent", {"request": "list active users",
                                             "database": "production"}, requester=RILEY)
    assert view.status == "completed" and view.pending == []
    assert view.values["result"].startswith("executed on production: SELECT")
    trail = records(gateway.sessions, view.id)
    evaluated = next(r for r in trail if r["action"] == "policy.evaluated")
    assert evaluated["data"]["outcome"] == "auto_approve" and evaluated["data"]["rule"] == "select-auto"
    assert evaluated["policy"].startswith("sha256:")
    assert [a for a in actions(gateway.sessions, view.id) if a.startswith(("run", "resume"))] == [
        "run.started", "resume.applied", "run.completed"]


async def test_denied_by_policy_resumes_with_the_reason(gateway):
    view = await _ask(gateway, "GRANT", "GRANT ALL ON users TO agent")
    assert view.status == "completed"
    assert view.values["decision"] == {
        "outcome": "reject", "approved": False, "payload": {"operation": "GRANT",
                                                            "query": "GRANT ALL ON users TO agent"},
        "reason": "Agents never grant privileges.", "response": None, "approvers": []}
    assert graphs.EXECUTED == ["act"]


async def test_one_dba_decides_and_the_thread_resumes_once(gateway):
    view = await gateway.start("sql_agent", {"request": "delete inactive users",
                                             "database": "production"}, requester=RILEY)
    assert view.status == "waiting" and len(view.pending) == 1
    request = view.pending[0]
    assert (request.action, request.rule_id, request.status) == ("sql.execute", "sql-one-dba",
                                                                 "pending")
    with pytest.raises(DecisionRefused) as refused:
        await gateway.decide(request.id, principal=RILEY, decision="approve",
                             payload_digest=request.payload_digest)
    assert refused.value.code == "self_approval"
    with pytest.raises(DecisionRefused) as refused:
        await gateway.decide(request.id, principal=OLGA, decision="approve",
                             payload_digest=request.payload_digest)
    assert refused.value.code == "not_eligible" and "1 of dba" in refused.value.detail
    result = await gateway.decide(request.id, principal=DANA, decision="approve",
                                  payload_digest=request.payload_digest, comment="checked")
    assert result.became_final and result.request.status == "approved"
    assert (await gateway.request(request.id)).status == "resumed"
    done = await gateway.thread(view.id)
    assert done.status == "completed"
    assert done.values["result"] == ("executed on production: DELETE FROM users WHERE "
                                     "last_login < '2025-01-01'")
    trail = records(gateway.sessions, view.id)
    refusals = [r for r in trail if r["action"] == "decision.refused"]
    assert [(r["actor"]["sub"], r["data"]["code"]) for r in refusals] == [
        ("riley", "self_approval"), ("olga", "not_eligible")]
    decided = next(r for r in trail if r["action"] == "decision.recorded")
    assert decided["actor"]["sub"] == "dana" and decided["actor"]["amr"] == ["mfa", "pwd"]
    assert decided["data"] == {"decision": "approve", "final": True, "status": "approved"}
    assert decided["payload_digest"].startswith("hmac-sha256:")
    assert [r["action"] for r in trail].count("resume.applied") == 1


async def test_drop_needs_two_distinct_dbas_signed_in_with_mfa(gateway, clock):
    view = await _ask(gateway, "DROP", "DROP TABLE users")
    request = view.pending[0]
    digest = request.payload_digest
    with pytest.raises(StepUpRequired) as weak:
        await gateway.decide(request.id, principal=DORA_NO_MFA, decision="approve",
                             payload_digest=digest)
    assert weak.value.extra["amr"] == ["mfa"]
    first = await gateway.decide(request.id, principal=DANA, decision="approve",
                                 payload_digest=digest)
    assert not first.became_final and graphs.EXECUTED == []
    with pytest.raises(DecisionRefused) as again:
        await gateway.decide(request.id, principal=DANA, decision="approve", payload_digest=digest)
    assert again.value.code == "already_decided"
    clock.advance(minutes=3)
    second = await gateway.decide(request.id, principal=DMITRI, decision="approve",
                                  payload_digest=digest)
    assert second.became_final
    done = await gateway.thread(view.id)
    assert done.status == "completed"
    assert done.values["decision"]["approvers"] == ["dana", "dmitri"]
    assert graphs.EXECUTED == ["act"]


async def test_first_rejection_is_final_and_needs_a_reason(gateway):
    view = await _ask(gateway, "DROP", "DROP TABLE users")
    request = view.pending[0]
    with pytest.raises(DecisionInvalid) as missing:
        await gateway.decide(request.id, principal=DANA, decision="reject",
                             payload_digest=request.payload_digest)
    assert missing.value.extra["pointer"] == "/comment"
    await gateway.decide(request.id, principal=DANA, decision="reject",
                         payload_digest=request.payload_digest, comment="not today")
    done = await gateway.thread(view.id)
    assert done.values["decision"]["outcome"] == "reject"
    assert done.values["decision"]["reason"] == "not today"


async def test_an_edit_is_validated_and_reaches_the_node(gateway):
    view = await _ask(gateway, "DELETE", "DELETE FROM users")
    request = view.pending[0]
    with pytest.raises(DecisionInvalid) as bad:
        await gateway.decide(request.id, principal=DANA, decision="edit",
                             payload_digest=request.payload_digest, edits={"query": ""})
    assert bad.value.extra["pointer"] == "/edits/query"
    with pytest.raises(DecisionInvalid) as field:
        await gateway.decide(request.id, principal=DANA, decision="edit",
                             payload_digest=request.payload_digest, edits={"operation": "SELECT"})
    assert field.value.code == "edits_invalid"
    await gateway.decide(request.id, principal=DANA, decision="edit",
                         payload_digest=request.payload_digest,
                         edits={"query": "DELETE FROM users WHERE id = 7"})
    done = await gateway.thread(view.id)
    assert done.values["decision"]["outcome"] == "edit"
    assert done.values["decision"]["payload"]["query"] == "DELETE FROM users WHERE id = 7"


async def test_a_decision_is_bound_to_the_payload_shown(gateway):
    view = await _ask(gateway, "DELETE")
    request = view.pending[0]
    with pytest.raises(StaleView) as stale:
        await gateway.decide(request.id, principal=DANA, decision="approve",
                             payload_digest="sha256:" + "0" * 64)
    assert stale.value.code == "digest_mismatch"
    await gateway.decide(request.id, principal=DANA, decision="approve",
                         payload_digest=request.payload_digest)
    with pytest.raises(StaleView) as late:
        await gateway.decide(request.id, principal=DMITRI, decision="approve",
                             payload_digest=request.payload_digest)
    assert late.value.code == "not_pending"


async def test_a_retried_post_never_decides_twice(gateway):
    view = await _ask(gateway, "DROP", "DROP TABLE t")
    request = view.pending[0]
    first = await gateway.decide(request.id, principal=DANA, decision="approve",
                                 payload_digest=request.payload_digest, idempotency_key="k-1")
    again = await gateway.decide(request.id, principal=DANA, decision="approve",
                                 payload_digest=request.payload_digest, idempotency_key="k-1")
    assert again.replayed and again.decision.id == first.decision.id
    assert actions(gateway.sessions, view.id).count("decision.recorded") == 1
    with pytest.raises(DecisionInvalid):
        await gateway.decide(request.id, principal=DMITRI, decision="approve",
                             payload_digest=request.payload_digest, idempotency_key="k-1")


async def test_input_to_a_waiting_thread_is_refused(gateway):
    view = await _ask(gateway, "DELETE")
    with pytest.raises(ThreadWaiting):
        await gateway.send(view.id, {"action": "sql.execute", "payload": {}}, requester=RILEY)
    still = await gateway.thread(view.id)
    assert still.status == "waiting" and [r.id for r in still.pending] == [view.pending[0].id]


async def test_a_swallowed_interrupt_fails_the_run(gateway):
    view = await gateway.start("swallow", {"action": "sql.execute",
                                           "payload": {"operation": "DELETE", "query": "x"}},
                               requester=RILEY)
    assert view.status == "failed" and "swallowing" in (view.error or "")
    assert graphs.EXECUTED == []  # the next node never ran
    trail = records(gateway.sessions, view.id)
    swallowed = next(r for r in trail if r["action"] == "interrupt.swallowed")
    assert swallowed["data"]["node"] == "swallowing"


async def test_an_unsafe_payload_fails_at_once_with_its_path(gateway):
    view = await gateway.start("unsafe", {}, requester=RILEY)
    assert view.status == "failed" and view.pending == []
    assert "/when" in (view.error or "") and "isoformat" in (view.error or "")


async def test_raw_interrupt_with_a_registered_resume_template(gateway):
    view = await gateway.start("travel", {"traveller": "tara", "destination": "Lisbon"},
                               requester=RILEY)
    request = view.pending[0]
    assert (request.action, request.shape) == ("travel.book", "raw")
    with pytest.raises(DecisionRefused):
        await gateway.decide(request.id, principal=OLGA, decision="approve",
                             payload_digest=request.payload_digest)
    with pytest.raises(DecisionInvalid):
        await gateway.decide(request.id, principal=TARA, decision="edit",
                             payload_digest=request.payload_digest, edits={"hotel": {"nights": 2}})
    await gateway.decide(request.id, principal=TARA, decision="edit",
                         payload_digest=request.payload_digest,
                         edits={"hotel": {"name": "Casa do Rio", "nights": 3,
                                          "price_per_night": 150}})
    done = await gateway.thread(view.id)
    assert done.values["booking"] == "booked Casa do Rio for 3 nights and flight TP1351"


async def test_raw_interrupt_without_template_gets_the_default_value(gateway):
    view = await gateway.start("raw", {}, requester=RILEY)
    request = view.pending[0]
    assert request.action == "publish" and request.rule_id == "catch-all"
    await gateway.decide(request.id, principal=OLGA, decision="respond",
                         payload_digest=request.payload_digest, response="Shorten it first.")
    done = await gateway.thread(view.id)
    assert done.values["decision"] == {
        "outcome": "respond", "approved": False, "payload": {"text": "Publish this paragraph?"},
        "edits": {}, "response": "Shorten it first.", "reason": None}


async def test_parallel_interrupts_are_separate_requests(gateway):
    view = await gateway.start("parallel", {}, requester=RILEY)
    assert view.status == "waiting"
    left, right = sorted(view.pending, key=lambda r: r.node)
    assert (left.node, right.node) == ("left", "right")
    assert left.interrupt_id != right.interrupt_id
    await gateway.decide(left.id, principal=DANA, decision="approve",
                         payload_digest=left.payload_digest)
    middle = await gateway.thread(view.id)
    assert middle.status == "waiting" and [r.id for r in middle.pending] == [right.id]
    assert graphs.EXECUTED == []
    await gateway.decide(right.id, principal=DANA, decision="reject",
                         payload_digest=right.payload_digest, comment="no")
    done = await gateway.thread(view.id)
    assert done.status == "completed"
    assert sorted(done.values["log"]) == ["acted:None", "left:approve", "right:reject"]
    assert graphs.EXECUTED == ["act"]


async def test_static_breakpoint_is_an_approval_of_the_next_node(gateway):
    approved = await gateway.start("plain", {}, requester=RILEY)
    request = approved.pending[0]
    assert (request.shape, request.action, request.node) == ("breakpoint", "act", "act")
    await gateway.decide(request.id, principal=OLGA, decision="approve",
                         payload_digest=request.payload_digest)
    assert (await gateway.thread(approved.id)).status == "completed"
    assert graphs.EXECUTED == ["act"]
    refused = await gateway.start("plain", {}, requester=RILEY)
    request = refused.pending[0]
    await gateway.decide(request.id, principal=OLGA, decision="reject",
                         payload_digest=request.payload_digest, comment="stop")
    assert (await gateway.thread(refused.id)).status == "rejected"
    assert graphs.EXECUTED == ["act"]


async def test_agent_inbox_interrupt(gateway):
    view = await gateway.start("inbox", {}, requester=RILEY)
    request = view.pending[0]
    assert (request.shape, request.action) == ("agent_inbox", "send_email")
    await gateway.decide(request.id, principal=OLGA, decision="edit",
                         payload_digest=request.payload_digest, edits={"to": "cfo@acme.example"})
    done = await gateway.thread(view.id)
    assert done.values["decision"] == {"type": "edit", "args": {
        "action": "send_email", "args": {"to": "cfo@acme.example", "body": "Q3 numbers"}}}


async def test_a_retried_resume_job_does_not_resume_twice(gateway):
    view = await _ask(gateway, "DELETE")
    request = view.pending[0]
    await gateway.decide(request.id, principal=DANA, decision="approve",
                         payload_digest=request.payload_digest)
    assert graphs.EXECUTED == ["act"]
    # the runner died after resuming but before its job was marked done: the job runs again
    with gateway.sessions() as session, session.begin():
        session.execute(update(ResumeJob).where(ResumeJob.thread_id == view.id)
                        .values(status="queued", finished_at=None))
    assert await gateway.run_jobs(thread_id=view.id) == 1
    assert graphs.EXECUTED == ["act"]
    trail = actions(gateway.sessions, view.id)
    assert trail.count("resume.applied") == 1 and trail.count("resume.skipped") == 1


async def test_another_issuer_with_the_same_subject_is_another_person(gateway):
    view = await _ask(gateway, "DELETE", requester=person("dana", "dba", issuer="https://other"))
    request = view.pending[0]
    result = await gateway.decide(request.id, principal=DANA, decision="approve",
                                  payload_digest=request.payload_digest)
    assert result.became_final
