"""The API over HTTP with real bearer tokens from a test issuer, on SQLite and PostgreSQL."""

from __future__ import annotations

import time

from tests.api.conftest import auth_header


def _poll(client, path, headers, until, timeout=20.0):
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(path, headers=headers)
        if until(response) or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


def test_start_list_view_decide_and_audit_trail(client, tokens):
    riley, dana, ava = tokens("riley", "requester"), tokens("dana", "dba", amr=["pwd", "mfa"]), \
        tokens("ava", "auditor")
    started = client.post("/v1/threads", headers=auth_header(riley), json={
        "graph": "sql_agent", "input": {"request": "delete inactive users",
                                        "database": "production"}})
    assert started.status_code == 201, started.text
    thread = started.json()
    assert thread["status"] == "waiting"
    [pending] = thread["pending"]
    assert (pending["action"], pending["needs"]) == ("sql.execute", "1 of dba")

    listed = client.get("/v1/approvals?decidable=true", headers=auth_header(dana)).json()
    assert pending["id"] in [item["id"] for item in listed["items"]]
    assert client.get("/v1/approvals?decidable=true",
                      headers=auth_header(riley)).json()["items"] == []  # not the requester's

    detail = client.get(f"/v1/approvals/{pending['id']}", headers=auth_header(dana)).json()
    assert detail["payload"]["operation"] == "DELETE"
    assert detail["decisions_allowed"] == ["approve", "reject", "edit"]
    decided = client.post(f"/v1/approvals/{pending['id']}/decision", headers=auth_header(dana),
                          json={"decision": "approve", "payload_digest": detail["payload_digest"],
                                "comment": "checked"})
    assert decided.status_code == 200, decided.text
    assert decided.json()["final"] is True

    done = client.get(f"/v1/threads/{thread['id']}", headers=auth_header(riley)).json()
    assert done["status"] == "completed"
    assert done["values"]["result"].startswith("executed on production: DELETE")
    recorded = [r for r in done["audit_trail"] if r["action"] == "decision.recorded"]
    assert len(recorded) == 1
    who = recorded[0]["actor"]
    assert (who["sub"], who["roles"], who["amr"]) == ("dana", ["dba"], ["mfa", "pwd"])
    assert recorded[0]["time"].endswith("Z")
    viewed = [r for r in done["audit_trail"] if r["action"] == "approval.viewed"]
    assert [r["actor"]["sub"] for r in viewed] == ["dana"]

    trail = _poll(client, f"/v1/audit/records?thread={thread['id']}", auth_header(ava),
                  lambda r: r.status_code == 200 and any(
                      x["action"] == "run.completed" for x in r.json()["records"]))
    assert [r["action"] for r in trail.json()["records"]][:1] == ["run.started"]


def test_a_retried_decision_with_the_same_idempotency_key_decides_once(client, tokens):
    riley, dana = tokens("riley", "requester"), tokens("dana", "dba")
    thread = client.post("/v1/threads", headers=auth_header(riley), json={
        "graph": "sql_agent", "input": {"request": "delete old rows", "database": "staging"}}
    ).json()
    approval = client.get(f"/v1/approvals/{thread['pending'][0]['id']}",
                          headers=auth_header(dana)).json()
    body = {"decision": "approve", "payload_digest": approval["payload_digest"]}
    headers = {**auth_header(dana), "Idempotency-Key": "retry-me-1"}
    first = client.post(f"/v1/approvals/{approval['id']}/decision", headers=headers, json=body)
    second = client.post(f"/v1/approvals/{approval['id']}/decision", headers=headers, json=body)
    assert first.status_code == second.status_code == 200
    assert (first.json()["replayed"], second.json()["replayed"]) == (False, True)


def test_refusals_are_problems_and_recorded(client, tokens):
    riley, olga = tokens("riley", "requester"), tokens("olga", "operator")
    thread = client.post("/v1/threads", headers=auth_header(riley), json={
        "graph": "sql_agent", "input": {"request": "delete users", "database": "production"}}
    ).json()
    approval_id = thread["pending"][0]["id"]
    digest = client.get(f"/v1/approvals/{approval_id}", headers=auth_header(riley)).json()[
        "payload_digest"]
    own = client.post(f"/v1/approvals/{approval_id}/decision", headers=auth_header(riley),
                      json={"decision": "approve", "payload_digest": digest})
    assert own.status_code == 403
    assert own.headers["content-type"].startswith("application/problem+json")
    assert own.json()["code"] == "self_approval"
    stale = client.post(f"/v1/approvals/{approval_id}/decision", headers=auth_header(olga),
                        json={"decision": "approve", "payload_digest": "sha256:" + "0" * 64})
    assert stale.status_code == 409 and stale.json()["code"] == "digest_mismatch"
    bad = client.post(f"/v1/approvals/{approval_id}/decision", headers=auth_header(olga),
                      json={"decision": "maybe", "payload_digest": digest})
    assert bad.status_code == 422 and bad.json()["errors"][0]["pointer"] == "/decision"
    trail = client.get(f"/v1/threads/{thread['id']}", headers=auth_header(riley)).json()
    refused = [r for r in trail["audit_trail"] if r["action"] == "decision.refused"]
    assert [(r["actor"]["sub"], r["data"]["code"]) for r in refused] == [
        ("riley", "self_approval"), ("olga", "digest_mismatch")]


def test_the_stop_button(client, tokens):
    adam, riley = tokens("adam", "admin"), tokens("riley", "requester")
    waiting = client.post("/v1/threads", headers=auth_header(riley), json={
        "graph": "sql_agent", "input": {"request": "delete users", "database": "production"}}
    ).json()
    denied = client.post("/v1/stops", headers=auth_header(riley),
                         json={"scope": "graph", "target": "sql_agent", "reason": "x"})
    assert denied.status_code == 403
    placed = client.post("/v1/stops", headers=auth_header(adam),
                         json={"scope": "graph", "target": "sql_agent", "reason": "incident 7"})
    assert placed.status_code == 201 and placed.json()["cancelled"] >= 1
    refused = client.post("/v1/threads", headers=auth_header(riley), json={
        "graph": "sql_agent", "input": {"request": "list users"}})
    assert refused.status_code == 423 and "incident 7" in refused.json()["detail"]
    cancelled = client.get(f"/v1/approvals/{waiting['pending'][0]['id']}",
                           headers=auth_header(adam)).json()
    assert cancelled["status"] == "cancelled"
    active = client.get("/v1/stops", headers=auth_header(adam)).json()
    assert [s["id"] for s in active] == [placed.json()["id"]]
    lifted = client.delete(f"/v1/stops/{placed.json()['id']}?reason=resolved",
                           headers=auth_header(adam))
    assert lifted.status_code == 200 and lifted.json()["lifted_at"] is not None
    again = client.post("/v1/threads", headers=auth_header(riley), json={
        "graph": "sql_agent", "input": {"request": "list users"}})
    assert again.status_code == 201


def test_health_readiness_metrics_and_limits(client, tokens):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": "ok", "checkpointer": "ok", "sequencer": "ok"}
    metrics = client.get("/metrics").text
    assert "oversight_ledger_records" in metrics and "oversight_active_stops" in metrics
    too_big = client.post("/v1/threads", headers={**auth_header(tokens("riley", "requester")),
                                                  "content-type": "application/json"},
                          content=b'{"graph": "sql_agent", "input": {"x": "' + b"a" * 2_000_000
                          + b'"}}')
    assert too_big.status_code == 413
    anonymous = client.get("/v1/approvals")
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"].startswith("Bearer")
    nul = client.get("/v1/approvals?action=%00", headers=auth_header(tokens("riley", "requester")))
    assert nul.status_code == 400 and "NUL" in nul.json()["detail"]


def test_the_inbox_orders_by_urgency_with_a_cursor(client, tokens):
    riley = auth_header(tokens("riley", "requester"))
    for request in ("delete the old users", "update the stale users", "drop the events table"):
        started = client.post("/v1/threads", headers=riley, json={
            "graph": "sql_agent", "input": {"request": request, "database": "production"}})
        assert started.status_code == 201, started.text
    dba = auth_header(tokens("dmitri", "dba"))
    seen, cursor = [], None
    while True:
        page = client.get("/v1/approvals", headers=dba, params={
            "order": "urgent", "limit": 1, **({"cursor": cursor} if cursor else {})}).json()
        seen += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    deadlines = [item["deadline_at"] for item in seen]
    assert len(seen) == len({item["id"] for item in seen}) >= 3
    assert deadlines == sorted(deadlines)  # the DROP (1 h) before the 4 h ones
    assert seen[0]["rule_id"] == "drop-two-dbas"  # 1 h, before the 4 h rules of tests/api/conftest.py
