"""The policy author's pages over HTTP: the set in force, its loads, and replays of a candidate.

What the pages show is checked against ``/v1/policies`` and the requests the gateway holds.
"""

from __future__ import annotations

import datetime as dt
import re

from fastapi.testclient import TestClient
from markupsafe import escape

from tests.ui.conftest import SHIPPED_POLICIES

AUTO_DELETE = """  - id: sql-delete-without-review
    description: Deletes no longer need a DBA (a candidate under review).
    match:
      graph: sql_agent
      action: sql.execute
      payload: {operation: DELETE}
    auto_approve:
      reason: Deletes are reviewed afterwards.

  - id: sql-read-only
"""


def start(client: TestClient, headers: dict[str, str], request: str) -> str:
    response = client.post("/v1/threads", headers=headers, json={
        "graph": "sql_agent", "input": {"request": request, "database": "production"}})
    assert response.status_code == 201, response.text
    return response.json()["pending"][0]["id"]


def candidate() -> str:
    text = (SHIPPED_POLICIES / "default.yaml").read_text()
    changed = text.replace("  - id: sql-read-only\n", AUTO_DELETE, 1)
    assert changed != text
    return changed


def test_only_policy_authors_and_admins_see_policies(client, as_user):
    auditor = as_user("ava", "auditor")
    assert client.get("/policies", headers=auditor).status_code == 403
    assert client.get("/policies/replay", headers=auditor).status_code == 403
    refused = client.post("/policies/replay", headers=auditor, data={"text": candidate()})
    assert refused.status_code == 403 and "policies needs one of the roles" in refused.text
    assert client.get("/policies", headers=as_user("ada", "admin")).status_code == 200
    signed_out = client.post("/policies/replay", data={"text": candidate()})
    assert signed_out.status_code == 303 and signed_out.headers["location"].startswith("/auth/login")


def test_the_set_in_force_and_its_loads_as_the_api_lists_them(client, as_user):
    pat = as_user("pat", "policy_author")
    api = client.get("/v1/policies", headers=pat).json()
    page = client.get("/policies", headers=pat)
    assert page.status_code == 200
    assert f'id="policy-version">{api["version"]}<' in page.text
    assert re.findall(r"<td><code>([a-z0-9-]+)</code></td>", page.text) == [r["id"] for r in api["rules"]]
    for rule in api["rules"]:
        assert f"<code>{escape(rule['file'])}:{rule['line']}</code>" in page.text
    history = page.text.split('id="history-title"', 1)[1]
    assert history.count("<tr><td>") == len(api["history"]) >= 1
    assert "server start" in history and "in force" in history
    assert "<td>server start</td><td>system:server</td>" in history


def test_a_candidate_that_auto_approves_deletes_shows_the_deletes_as_changed(client, as_user):
    riley, pat = as_user("riley", "requester"), as_user("pat", "policy_author")
    delete = start(client, riley, "delete the users inactive since 2025")
    update = start(client, riley, "update the stale users")
    form = client.get("/policies/replay", headers=pat)
    assert form.status_code == 200 and 'name="name" value="candidate.yaml"' in form.text
    assert "sql-read-only" in form.text  # the one file in force is where an edit starts

    page = client.post("/policies/replay", headers=pat, data={"name": "candidate.yaml", "text": candidate()})
    assert page.status_code == 200, page.text
    api = client.post("/v1/policies/replay", headers=pat,
                      json={"sources": {"candidate.yaml": candidate()}}).json()
    assert f'id="replayed-events">{api["events"]}<' in page.text
    assert f'id="changed-events">{api["changed"]}<' in page.text
    rows = re.findall(r'<tr data-before="([a-z_]+)" data-after="([a-z_]+)">\s*<td><code>([0-9a-f]{8})…',
                      page.text)
    assert len(rows) == api["changed"] >= 1
    assert {(before, after) for before, after, _ in rows} == {("require", "auto_approve")}
    changed_ids = {request_id for _, _, request_id in rows}
    assert delete[:8] in changed_ids and update[:8] not in changed_ids
    assert "sql-change-data: require 1 person with the role dba" in page.text
    assert "sql-delete-without-review: auto approve" in page.text
    assert client.get(f"/v1/approvals/{delete}", headers=riley).json()["status"] == "pending"  # replay only

    auditor_admin = client.post("/policies/replay", headers=as_user("ada", "admin", "auditor"),
                                data={"text": candidate()}).text
    assert f'href="/requests/{delete}"' in auditor_admin  # those who may open requests get links


def test_since_limits_the_replay_to_later_requests(client, as_user):
    pat = as_user("pat", "policy_author")
    start(client, as_user("riley", "requester"), "delete the users inactive since 2025")
    tomorrow = str(dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1))
    page = client.post("/policies/replay", headers=pat, data={"text": candidate(), "since": tomorrow})
    assert page.status_code == 200 and 'id="replayed-events">0<' in page.text
    assert "No past request to replay" in page.text
    bad = client.post("/policies/replay", headers=pat, data={"text": candidate(), "since": "soon"})
    assert bad.status_code == 422 and "is not a date" in bad.text


def test_an_invalid_candidate_shows_file_line_and_column_and_keeps_the_text(client, as_user):
    pat = as_user("pat", "policy_author")
    text = candidate().replace("    auto_approve:\n      reason: Deletes are reviewed",
                               "    auto_aprove:\n      reason: Deletes are reviewed", 1)
    page = client.post("/policies/replay", headers=pat, data={"name": "mine.yaml", "text": text})
    assert page.status_code == 422
    problems = client.post("/v1/policies/replay", headers=pat,
                           json={"sources": {"mine.yaml": text}}).json()["problems"]
    assert problems
    for problem in problems:
        where = f"mine.yaml:{problem['line']}:{problem['column']}: "
        assert where in page.text
    line = text.splitlines().index("    auto_aprove:") + 1
    assert any(p["line"] == line for p in problems)
    assert f'>\n{escape(text)}</textarea>' in page.text  # kept (a browser drops the first newline)
    assert 'id="changed-events"' not in page.text  # nothing was replayed
    empty = client.post("/policies/replay", headers=pat, data={"text": "  "})
    assert empty.status_code == 422 and "Paste the candidate policy file" in empty.text
