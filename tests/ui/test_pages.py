"""The approver's pages over HTTP (no browser): inbox, request page, decisions and refusals.

Every decision here goes through the real gateway; what the pages say is checked against the
database and the ledger, not against the templates' own text alone.
"""

from __future__ import annotations

import re
import time

from fastapi.testclient import TestClient

MFA = ["pwd", "mfa"]


def start(client: TestClient, headers: dict[str, str], graph: str, **input: object) -> dict:
    response = client.post("/v1/threads", headers=headers, json={"graph": graph, "input": input})
    assert response.status_code == 201, response.text
    return response.json()


def hidden(html: str, name: str, form_label: str) -> str:
    form = html.split(f'aria-label="{form_label}"', 1)[1].split("</form>", 1)[0]
    match = re.search(rf'name="{name}" value="([^"]*)"', form)
    assert match, f"no {name} in the {form_label} form"
    return match.group(1)


def wait_status(client: TestClient, headers: dict[str, str], thread_id: str, status: str) -> dict:
    deadline = time.monotonic() + 15
    while True:
        thread = client.get(f"/v1/threads/{thread_id}", headers=headers).json()
        if thread["status"] == status or time.monotonic() > deadline:
            return thread
        time.sleep(0.1)


def test_visitors_are_welcomed_and_pages_send_them_to_sign_in(client):
    welcome = client.get("/")
    assert welcome.status_code == 200 and "Sign in with your company account" in welcome.text
    assert welcome.headers["content-security-policy"].startswith("default-src 'self'")
    page = client.get("/requests/some-id?x=1")
    assert page.status_code == 303
    assert page.headers["location"] == "/auth/login?next=%2Frequests%2Fsome-id%3Fx%3D1"
    assert client.get("/static/oversight.css").status_code == 200


def test_a_dba_sees_the_delete_opens_it_and_approves(client, as_user):
    riley, dana = as_user("riley", "requester"), as_user("dana", "dba")
    thread = start(client, riley, "sql_agent", request="delete the users inactive since 2025",
                   database="production")
    request_id = thread["pending"][0]["id"]

    inbox = client.get("/", headers=dana)
    assert inbox.status_code == 200
    waiting = inbox.text.split('id="mine-title"', 1)[1].split('id="others-title"', 1)[0]
    assert f"/requests/{request_id}" in waiting
    riley_inbox = client.get("/", headers=riley).text
    mine = riley_inbox.split('id="mine-title"', 1)[1].split('id="others-title"', 1)[0]
    assert f"/requests/{request_id}" not in mine  # the requester may not decide it
    assert f"/requests/{request_id}" in riley_inbox  # but sees it among the others

    page = client.get(f"/requests/{request_id}", headers=dana)
    assert page.status_code == 200
    assert "DELETE FROM users\nWHERE last_login" in page.text  # the SQL, formatted
    assert "1 of 1 dba still needed" in page.text
    assert "sql-change-data" in page.text and "SQL that changes data needs one DBA" in page.text
    views = client.get(f"/v1/threads/{thread['id']}", headers=dana).json()["audit_trail"]
    assert any(r["action"] == "approval.viewed" and r["actor"]["sub"] == "dana" for r in views)

    decided = client.post(f"/requests/{request_id}/decide", headers=dana, data={
        "decision": "approve", "payload_digest": hidden(page.text, "payload_digest", "Approve"),
        "idempotency_key": hidden(page.text, "idempotency_key", "Approve"),
        "comment": "Checked the count."})
    assert decided.status_code == 303
    assert decided.headers["location"] == f"/requests/{request_id}?done=approve"
    assert wait_status(client, riley, thread["id"], "completed")["status"] == "completed"
    after = client.get(decided.headers["location"], headers=dana).text
    assert "Your approval is recorded." in after and "Checked the count." in after


def test_refusals_are_explained_on_the_page_and_record_nothing_twice(client, as_user):
    riley, dana, dmitri = as_user("riley", "requester"), as_user("dana", "dba"), as_user("dmitri", "dba")
    thread = start(client, riley, "sql_agent", request="update the stale users", database="production")
    request_id = thread["pending"][0]["id"]
    page = client.get(f"/requests/{request_id}", headers=riley).text
    assert "You raised this request. Separation of duties" in page
    assert 'aria-label="Approve"' not in page  # no form for the requester

    shown = client.get(f"/requests/{request_id}", headers=dana).text
    form = {"decision": "approve", "payload_digest": hidden(shown, "payload_digest", "Approve"),
            "idempotency_key": hidden(shown, "idempotency_key", "Approve")}
    stale = client.post(f"/requests/{request_id}/decide", headers=dana,
                        data={**form, "payload_digest": "sha256:" + "0" * 64})
    assert stale.status_code == 409 and "changed since this page showed it" in stale.text
    no_reason = client.post(f"/requests/{request_id}/decide", headers=dana, data={
        **form, "decision": "reject", "comment": " "})
    assert no_reason.status_code == 422 and "needs a reason" in no_reason.text

    first = client.post(f"/requests/{request_id}/decide", headers=dana, data=form)
    again = client.post(f"/requests/{request_id}/decide", headers=dana, data=form)
    assert first.status_code == again.status_code == 303  # the same key replays, not twice
    decisions = client.get(f"/v1/approvals/{request_id}", headers=dana).json()["decisions"]
    assert [d["decision"] for d in decisions] == ["approve"]
    late = client.post(f"/requests/{request_id}/decide", headers=dmitri, data={
        **form, "idempotency_key": "another"})
    assert late.status_code in (403, 409)
    assert "approved" in late.text  # decided while dmitri was reading: the page says so


def test_the_traveller_edits_the_hotel_sees_the_diff_and_confirms(client, as_user):
    riley, tara = as_user("riley", "requester"), as_user("tara", "traveller")
    thread = start(client, riley, "travel", traveller="tara", destination="Lisbon")
    request_id = thread["pending"][0]["id"]
    page = client.get(f"/requests/{request_id}", headers=tara).text
    assert 'name="edit:hotel.name"' in page and 'type="date" id=' in page
    form = {"decision": "edit", "payload_digest": hidden(page, "payload_digest", "Edit"),
            "idempotency_key": hidden(page, "idempotency_key", "Edit"),
            "edit:hotel.name": "Casa do Rio"}
    for name in re.findall(r'name="(edit:[^"]+)" value="([^"]*)"', page):
        form.setdefault(name[0], name[1])
    review = client.post(f"/requests/{request_id}/decide", headers=tara, data=form)
    assert review.status_code == 200 and "Confirm your changes" in review.text
    assert re.search(r"<code>hotel\.name</code></th><td class=\"old\">&#34;[^<]+&#34;</td>"
                     r"<td class=\"new\">&#34;Casa do Rio&#34;</td>", review.text), review.text
    pending = client.get(f"/v1/approvals/{request_id}", headers=tara).json()
    assert pending["status"] == "pending" and pending["decisions"] == []  # nothing yet

    confirmed = client.post(f"/requests/{request_id}/decide", headers=tara,
                            data={**form, "confirm": "yes"})
    assert confirmed.status_code == 303
    done = wait_status(client, riley, thread["id"], "completed")
    # the hotel's other fields (nights, price) are kept: the form sends the whole object
    assert done["values"]["booking"] == "booked Casa do Rio for 3 nights and flight TP1351"


def test_a_step_up_rule_sends_the_dba_back_to_the_provider(client, as_user):
    riley, weak = as_user("riley", "requester"), as_user("dmitri", "dba", amr=["pwd"])
    thread = start(client, riley, "sql_agent", request="drop the staging_events table",
                   database="production")
    request_id = thread["pending"][0]["id"]
    page = client.get(f"/requests/{request_id}", headers=weak).text
    href = re.search(r'href="(/auth/login\?[^"]+)"', page)
    assert href and "max_age=900" in href.group(1) and "next=%2Frequests%2F" in href.group(1)
    assert 'aria-label="Approve"' not in page
    digest = client.get(f"/v1/approvals/{request_id}", headers=weak).json()["payload_digest"]
    posted = client.post(f"/requests/{request_id}/decide", headers=weak, data={
        "decision": "approve", "payload_digest": digest})
    assert posted.status_code == 303 and posted.headers["location"].startswith("/auth/login?")
    strong = client.get(f"/requests/{request_id}", headers=as_user("dora", "dba", amr=MFA)).text
    assert 'aria-label="Approve"' in strong and "at least 30 s of review" in strong


def test_an_unknown_or_hidden_request_is_a_404_page(client, as_user):
    riley = as_user("riley", "requester")
    thread = start(client, riley, "sql_agent", request="delete the old rows", database="staging")
    missing = client.get("/requests/nope", headers=riley)
    assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]
    stranger = client.get(f"/requests/{thread['pending'][0]['id']}", headers=as_user("tara", "traveller"))
    assert stranger.status_code == 404 and "that you may see" in stranger.text


def test_the_inbox_filters_by_risk_and_deadline_and_pages(client, as_user):
    riley, dora = as_user("riley", "requester"), as_user("dora", "dba")
    drop = start(client, riley, "sql_agent", request="drop the logs table", database="production")
    delete = start(client, riley, "sql_agent", request="delete the old rows", database="production")
    drop_id, delete_id = drop["pending"][0]["id"], delete["pending"][0]["id"]
    high = client.get("/?risk=high", headers=dora).text
    mine = high.split('id="mine-title"', 1)[1].split('id="others-title"', 1)[0]
    assert f"/requests/{drop_id}" in mine and f"/requests/{delete_id}" not in mine
    soon = client.get("/?due=1h&order=urgent", headers=dora).text
    mine = soon.split('id="mine-title"', 1)[1].split('id="others-title"', 1)[0]
    assert f"/requests/{drop_id}" in mine  # the DROP is due in 1 h, the DELETE in 4 h
    assert f"/requests/{delete_id}" not in mine
    fragment = client.get("/", headers={**dora, "X-Oversight-Fragment": "1"})
    assert fragment.text.lstrip().startswith("<div data-ids=")  # the list alone, for the refresh
    assert f"{drop_id}:" in fragment.text.split(">", 1)[0]


def test_a_reviewer_answers_the_agent_or_corrects_its_text(client, as_user):
    riley, rita = as_user("riley", "requester"), as_user("rita", "reviewer")
    answered = start(client, riley, "support_reply", customer="Ms. Okafor", question="a double charge")
    page = client.get(f"/requests/{answered['pending'][0]['id']}", headers=rita).text
    assert "<textarea" in page.split('aria-label="Edit"', 1)[1]  # the long text is a text area
    sent = client.post(f"/requests/{answered['pending'][0]['id']}/decide", headers=rita, data={
        "decision": "respond", "payload_digest": hidden(page, "payload_digest", "Respond"),
        "response": "Check the refund policy first: only one charge is refundable."})
    assert sent.status_code == 303
    done = wait_status(client, riley, answered["id"], "completed")
    assert done["values"]["note"] == "Check the refund policy first: only one charge is refundable."
    assert "sent" not in done["values"]

    corrected = start(client, riley, "support_reply", customer="Mr. Berg", question="a late parcel")
    request_id = corrected["pending"][0]["id"]
    page = client.get(f"/requests/{request_id}", headers=rita).text
    form = {"decision": "edit", "payload_digest": hidden(page, "payload_digest", "Edit"),
            "edit:text": "Dear Mr. Berg,\n\nYour parcel left our warehouse today.", "confirm": "yes"}
    assert client.post(f"/requests/{request_id}/decide", headers=rita, data=form).status_code == 303
    done = wait_status(client, riley, corrected["id"], "completed")
    assert done["values"]["sent"] == "Dear Mr. Berg,\n\nYour parcel left our warehouse today."
