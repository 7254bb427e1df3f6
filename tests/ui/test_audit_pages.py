"""The auditor's pages over HTTP: the ledger browser, verification, records, receipts, exports.

What the pages show is checked against ``/v1/audit``, the database and the offline verifier.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import time
import zipfile
from pathlib import Path

from fastapi.testclient import TestClient
from markupsafe import escape
from sqlalchemy import select, update

from oversight.ledger import service as ledger
from oversight.ledger.models import LedgerRecord
from oversight_audit import Receipt, VerifierKey, canonical_json, verify_bundle, verify_receipt

DELETE = {"request": "delete the users inactive since 2025", "database": "production"}


def start(client: TestClient, headers: dict[str, str], **input: object) -> dict:
    response = client.post("/v1/threads", headers=headers, json={"graph": "sql_agent", "input": input})
    assert response.status_code == 201, response.text
    return response.json()


def wait_sealed(client: TestClient) -> int:
    """Wait until the queue is empty; the number of sealed records."""
    deadline = time.monotonic() + 15
    while True:
        with client.app.state.read_sessions() as session:
            if ledger.pending_count(session) == 0:
                return ledger.tree_size(session)
        assert time.monotonic() < deadline, "the sequencer did not seal in time"
        time.sleep(0.05)


def seqs(html: str) -> list[int]:
    return [int(seq) for seq in re.findall(r'<td class="num"><a href="/audit/records/(\d+)">', html)]


def api_records(client: TestClient, headers: dict[str, str], **params: str) -> list[dict]:
    response = client.get("/v1/audit/records", headers=headers, params={"limit": 1000, **params})
    assert response.status_code == 200, response.text
    return response.json()["records"]


def published_keys(client: TestClient, headers: dict[str, str]) -> list[VerifierKey]:
    return [VerifierKey.from_string(k) for k in client.get("/v1/audit/keys", headers=headers).json()["keys"]]


def test_only_auditors_and_admins_see_the_ledger(client, as_user):
    assert client.get("/audit").status_code == 303  # not signed in: to the sign-in page
    refused = client.get("/audit", headers=as_user("riley", "requester"))
    assert refused.status_code == 403 and "text/html" in refused.headers["content-type"]
    assert client.get("/audit/export", headers=as_user("dana", "dba")).status_code == 403
    assert client.get("/audit", headers=as_user("ada", "admin")).status_code == 200
    page = client.get("/audit", headers=as_user("ava", "auditor"))
    assert page.status_code == 200 and 'href="/audit" aria-current="page"' in page.text


def test_the_filters_show_what_the_api_lists(client, as_user):
    riley, ava = as_user("riley", "requester"), as_user("ava", "auditor")
    thread = start(client, riley, **DELETE)
    request_id = thread["pending"][0]["id"]
    wait_sealed(client)

    by_action = client.get("/audit", headers=ava, params={"action": "approval.requested"}).text
    expected = [r["seq"] for r in api_records(client, ava, action="approval.requested")]
    assert set(re.findall(r'data-action="([^"]+)"', by_action)) == {"approval.requested"}
    assert seqs(by_action) == sorted(expected, reverse=True)[:50]
    assert f'id="matching">{len(expected)}<' in by_action
    assert f'href="/requests/{request_id}"' in by_action

    by_thread = client.get("/audit", headers=ava, params={"thread": thread["id"]}).text
    expected = [r["seq"] for r in api_records(client, ava, thread=thread["id"])]
    assert expected and seqs(by_thread) == sorted(expected, reverse=True)

    by_actor = client.get("/audit", headers=ava, params={"actor": "|riley"}).text
    with client.app.state.read_sessions() as session:
        riley_seqs = session.scalars(select(LedgerRecord.seq).where(LedgerRecord.actor.like("%|riley"))
                                     .order_by(LedgerRecord.seq.desc()).limit(50)).all()
    assert riley_seqs and seqs(by_actor) == list(riley_seqs)

    today = dt.datetime.now(dt.UTC).date()
    window = client.get("/audit", headers=ava, params={
        "thread": thread["id"], "since": str(today - dt.timedelta(days=1)), "until": str(today)}).text
    assert seqs(window) == seqs(by_thread)
    before = client.get("/audit", headers=ava, params={"until": str(today - dt.timedelta(days=1))})
    assert before.status_code == 200 and seqs(before.text) == [] and "No record matches" in before.text
    bad = client.get("/audit", headers=ava, params={"since": "2025-13-01"})
    assert bad.status_code == 422 and "is not a date" in bad.text


def test_pages_of_fifty_newest_first_and_older_by_seq(client, as_user):
    riley, ava = as_user("riley", "requester"), as_user("ava", "auditor")
    while wait_sealed(client) <= 60:
        start(client, riley, request="update the stale users", database="staging")
    size = wait_sealed(client)
    first = client.get("/audit", headers=ava).text
    newest = seqs(first)
    assert len(newest) == 50 and newest == sorted(newest, reverse=True)
    assert newest[0] >= size - 1  # the runner may have added records since
    older = re.search(r'href="(/audit\?before=(\d+))" rel="next"', first)
    assert older and int(older.group(2)) == newest[-1]
    second = seqs(client.get(older.group(1).replace("&amp;", "&"), headers=ava).text)
    assert second[0] == newest[-1] - 1 and second == sorted(second, reverse=True)

    api = api_records(client, ava, action="run.started")
    filtered = client.get("/audit", headers=ava, params={"action": "run.started",
                                                         "before": str(api[-1]["seq"])}).text
    assert seqs(filtered) == sorted((r["seq"] for r in api[:-1]), reverse=True)[:50]


def test_verify_now_says_intact_with_the_record_count(client, as_user):
    ava = as_user("ava", "auditor")
    start(client, as_user("riley", "requester"), **DELETE)
    before = wait_sealed(client)
    page = client.post("/audit/verify", headers=ava)
    with client.app.state.read_sessions() as session:
        after = ledger.tree_size(session)
    assert page.status_code == 200, page.text
    found = re.search(r"Intact: (\d+) records? \(seq 0 to (\d+)\)", page.text)
    assert found, page.text
    assert before <= int(found.group(1)) <= after and int(found.group(2)) == int(found.group(1)) - 1
    assert client.post("/audit/verify", headers=as_user("riley", "requester")).status_code == 403


def test_a_tampered_record_breaks_verification_at_its_seq(client, as_user):
    ava = as_user("ava", "auditor")
    thread = start(client, as_user("riley", "requester"), **DELETE)
    wait_sealed(client)
    target = next(r for r in api_records(client, ava, thread=thread["id"])
                  if r["action"] == "approval.requested")
    forged = {**target, "data": {**target["data"], "forged": "after sealing"}}
    sessions = client.app.state.sessions
    try:
        with sessions() as session, session.begin():
            session.execute(update(LedgerRecord).where(LedgerRecord.seq == target["seq"])
                            .values(line=canonical_json(forged).decode()))
        page = client.post("/audit/verify", headers=ava)
        assert page.status_code == 200
        assert f"Broken at seq {target['seq']}: seq {target['seq']}: hash: recomputed hash" in page.text
        assert f'href="/audit/records/{target["seq"]}">Open record' in page.text
    finally:
        with sessions() as session, session.begin():
            session.execute(update(LedgerRecord).where(LedgerRecord.seq == target["seq"])
                            .values(line=canonical_json(target).decode()))
    assert "Intact: " in client.post("/audit/verify", headers=ava).text


def test_a_record_page_and_its_receipt_verify_offline(client, as_user):
    ava = as_user("ava", "auditor")
    thread = start(client, as_user("riley", "requester"), **DELETE)
    wait_sealed(client)
    record = next(r for r in api_records(client, ava, thread=thread["id"])
                  if r["action"] == "approval.requested")
    seq = record["seq"]
    page = client.get(f"/audit/records/{seq}", headers=ava)
    assert page.status_code == 200
    assert str(escape(json.dumps(record, indent=2, ensure_ascii=False))) in page.text
    assert record["hash"] in page.text and f'href="/audit/records/{seq}/receipt"' in page.text

    download = client.get(f"/audit/records/{seq}/receipt", headers=ava)
    assert download.status_code == 200 and download.headers["content-type"] == "application/json"
    assert download.headers["content-disposition"] == f'attachment; filename="oversight-receipt-{seq}.json"'
    verified = verify_receipt(Receipt.from_json(download.content), published_keys(client, ava))
    assert (verified.seq, verified.hash, verified.keys_pinned) == (seq, record["hash"], True)


def test_a_record_not_sealed_yet_says_so_and_an_unknown_one_is_404(client, as_user, monkeypatch):
    ava = as_user("ava", "auditor")
    far = 10**12
    missing = client.get(f"/audit/records/{far}", headers=ava)
    assert missing.status_code == 404 and f"no sealed ledger record with seq {far}" in missing.text
    monkeypatch.setattr(ledger, "pending_count", lambda session: 2 * far)  # as if queued
    for path in (f"/audit/records/{far}", f"/audit/records/{far}/receipt"):
        queued = client.get(path, headers=ava)
        assert queued.status_code == 409 and "text/html" in queued.headers["content-type"]
        assert f"Record {far} is queued and will be sealed within a few seconds" in queued.text


def test_the_zip_export_unzips_into_a_bundle_the_verifier_accepts(client, as_user, tmp_path: Path):
    ava = as_user("ava", "auditor")
    start(client, as_user("riley", "requester"), **DELETE)
    size = wait_sealed(client)
    download = client.get("/audit/export", headers=ava)
    assert download.status_code == 200 and download.headers["content-type"] == "application/zip"
    name = re.search(r'filename="(oversight-ledger-0-(\d+))\.zip"', download.headers["content-disposition"])
    assert name and int(name.group(2)) >= size - 1
    with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
        archive.extractall(tmp_path)
    report = verify_bundle(tmp_path / name.group(1), keys=published_keys(client, ava))
    assert (report.first_seq, report.last_seq, report.keys_pinned) == (0, int(name.group(2)), True)
    assert report.record_count == int(name.group(2)) + 1

    yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    empty = client.get("/audit/export", headers=ava, params={"until": str(yesterday)})
    assert empty.status_code == 404 and "no sealed ledger record falls in the asked time range" in empty.text
    page = client.get("/audit", headers=ava).text
    assert "python -m oversight_audit verify oversight-ledger-" in page
    assert all(str(key) in page for key in published_keys(client, ava))


def test_a_signed_out_post_is_sent_to_sign_in(client):
    response = client.post("/audit/verify", data={"csrf_token": "x"})
    assert response.status_code == 303 and response.headers["location"].startswith("/auth/login")
