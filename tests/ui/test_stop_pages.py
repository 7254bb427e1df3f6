"""The stop button over HTTP: placing and lifting stops, the confirmation, roles and CSRF.

Every stop placed through the page is checked through ``/v1/stops``, ``/v1/approvals`` and
the database: what it cancelled, that nothing starts in its scope, and that lifting ends it.
"""

from __future__ import annotations

import functools
import re
import time

from fastapi.testclient import TestClient

from oversight.auth.dependencies import SESSION_PRINCIPAL, SESSION_SIGNED_IN_AT
from oversight.auth.sessions import CookieSigner, store_key
from oversight.stops.models import Stop

DELETE = {"request": "delete the users inactive since 2025", "database": "production"}
CONFIRMED = {"confirm": "yes"}


def start(client: TestClient, headers: dict[str, str], graph: str = "sql_agent", **input: object
          ) -> dict:
    response = client.post("/v1/threads", headers=headers, json={"graph": graph, "input": input or DELETE})
    assert response.status_code == 201, response.text
    return response.json()


def status_of(client: TestClient, headers: dict[str, str], approval_id: str) -> str:
    return client.get(f"/v1/approvals/{approval_id}", headers=headers).json()["status"]


def active_ids(client: TestClient, headers: dict[str, str]) -> set[str]:
    response = client.get("/v1/stops", headers=headers)
    assert response.status_code == 200, response.text
    return {stop["id"] for stop in response.json()}


def placed_id(response) -> str:
    assert response.status_code == 303, response.text
    found = re.fullmatch(r"/stops\?placed=([0-9a-f-]{36})", response.headers["location"])
    assert found, response.headers["location"]
    return found.group(1)


def browser_session(client: TestClient, subject: str, *roles: str) -> str:
    """A signed-in session cookie (as after the provider's sign-in), for CSRF checks."""
    auth = client.app.state.oversight_auth
    session_id = f"test-{subject}-{time.monotonic_ns()}"
    data = {SESSION_PRINCIPAL: {"iss": auth.settings.oidc_issuer, "sub": subject, "name": subject.title(),
                                "roles": list(roles), "acr": None, "amr": ["pwd"],
                                "auth_time": int(time.time())},
            SESSION_SIGNED_IN_AT: int(time.time())}
    client.portal.call(functools.partial(auth.store.save, store_key(session_id), data, max_age=600))
    signer = CookieSigner(auth.settings.session_secret.get_secret_value().encode())
    return f"{auth.settings.cookie_name}={signer.sign(session_id)}"


def test_only_admins_and_the_configured_roles_may_stop(client, as_user, monkeypatch):
    assert client.get("/stops").status_code == 303
    for person in (as_user("riley", "requester"), as_user("ava", "auditor"), as_user("otto", "operator")):
        refused = client.get("/stops", headers=person)
        assert refused.status_code == 403 and "the stop button needs one of the roles" in refused.text
    otto, ada = as_user("otto", "operator"), as_user("ada", "admin")
    before = active_ids(client, ada)
    refused = client.post("/stops", headers=otto, data={
        "scope": "all", "reason": "testing", **CONFIRMED})
    assert refused.status_code == 403
    assert active_ids(client, ada) == before  # nothing placed
    monkeypatch.setattr(client.app.state.settings, "stop_roles", ["operator"])
    page = client.get("/stops", headers=otto)
    assert page.status_code == 200 and 'href="/stops" aria-current="page"' in page.text


def test_a_thread_stop_cancels_its_pending_request_and_lifting_ends_it(client, as_user):
    riley, ada = as_user("riley", "requester"), as_user("ada", "admin")
    thread = start(client, riley)
    other = start(client, riley)
    request_id = thread["pending"][0]["id"]
    empty = client.get("/stops", headers=ada).text
    assert "No active stop" in empty

    placed = client.post("/stops", headers=ada, data={
        "scope": "thread", "target": thread["id"], "reason": "the agent loops on deletes", **CONFIRMED})
    stop_id = placed_id(placed)
    assert status_of(client, riley, request_id) == "cancelled"
    assert status_of(client, riley, other["pending"][0]["id"]) == "pending"
    listed = {s["id"]: s for s in client.get("/v1/stops", headers=ada).json()}
    assert listed[stop_id]["scope"] == "thread" and listed[stop_id]["target"] == thread["id"]
    page = client.get(placed.headers["location"], headers=ada).text
    assert f"Stop placed on thread {thread['id']}: 1 pending request cancelled." in page
    assert f'action="/stops/{stop_id}/lift"' in page and "the agent loops on deletes" in page

    lifted = client.post(f"/stops/{stop_id}/lift", headers=ada, data={"reason": "fixed the prompt"})
    assert lifted.status_code == 303 and lifted.headers["location"] == f"/stops?lifted={stop_id}"
    assert stop_id not in active_ids(client, ada)
    with client.app.state.read_sessions() as session:
        stop = session.get(Stop, stop_id)
        assert stop is not None and stop.lift_reason == "fixed the prompt" and stop.lifted_by.endswith("|ada")
    page = client.get(lifted.headers["location"], headers=ada).text
    assert "lifted. New runs can start; the 1 pending request it cancelled stays cancelled." in page
    assert f'action="/stops/{stop_id}/lift"' not in page and "fixed the prompt" in page  # lifted lately
    assert status_of(client, riley, request_id) == "cancelled"
    again = client.post(f"/stops/{stop_id}/lift", headers=ada, data={})
    assert again.status_code == 404 and "no active stop" in again.text


def test_an_unconfirmed_or_incomplete_stop_places_nothing(client, as_user):
    riley, ada = as_user("riley", "requester"), as_user("ada", "admin")
    thread = start(client, riley)
    request_id = thread["pending"][0]["id"]
    before = active_ids(client, ada)
    unconfirmed = client.post("/stops", headers=ada, data={
        "scope": "thread", "target": thread["id"], "reason": "just in case"})
    assert unconfirmed.status_code == 422
    assert "Tick the box to confirm" in unconfirmed.text and "Nothing was stopped" in unconfirmed.text
    assert f'value="{thread["id"]}"' in unconfirmed.text and ">just in case</textarea>" in unconfirmed.text
    no_target = client.post("/stops", headers=ada, data={"scope": "graph", "reason": "r", **CONFIRMED})
    assert no_target.status_code == 422 and "Name the graph to stop" in no_target.text
    no_reason = client.post("/stops", headers=ada, data={"scope": "all", "reason": "  ", **CONFIRMED})
    assert no_reason.status_code == 422 and "Say why" in no_reason.text
    bad_scope = client.post("/stops", headers=ada, data={"scope": "planet", "reason": "r", **CONFIRMED})
    assert bad_scope.status_code == 422 and "Choose what to stop" in bad_scope.text
    assert active_ids(client, ada) == before
    assert status_of(client, riley, request_id) == "pending"
    form = client.get("/stops", headers=ada).text
    assert re.search(r'<form class="panel stop-form" method="post" action="/stops"[^>]* data-confirm="', form)
    assert 'type="checkbox" name="confirm" value="yes" required' in form


def test_a_graph_stop_and_a_stop_of_everything_keep_runs_from_starting(client, as_user):
    riley, ada, tara = as_user("riley", "requester"), as_user("ada", "admin"), as_user("tara", "traveller")
    booking = start(client, riley, "travel", traveller="tara", destination="Lisbon")
    stop_id = placed_id(client.post("/stops", headers=ada, data={
        "scope": "graph", "target": "travel", "reason": "the booking API double-charges", **CONFIRMED}))
    assert status_of(client, tara, booking["pending"][0]["id"]) == "cancelled"
    refused = client.post("/v1/threads", headers=riley, json={
        "graph": "travel", "input": {"traveller": "tara", "destination": "Porto"}})
    assert refused.status_code == 423
    start(client, riley)  # the SQL agent still runs
    assert client.post(f"/stops/{stop_id}/lift", headers=ada, data={}).status_code == 303

    everything = placed_id(client.post("/stops", headers=ada, data={
        "scope": "all", "target": "ignored for everything", "reason": "incident 42", **CONFIRMED}))
    listed = {s["id"]: s for s in client.get("/v1/stops", headers=ada).json()}
    assert listed[everything]["scope"] == "all" and listed[everything]["target"] is None
    refused = client.post("/v1/threads", headers=riley, json={"graph": "sql_agent", "input": DELETE})
    assert refused.status_code == 423
    page = client.get("/stops", headers=ada).text
    assert "Everything is stopped" in page
    assert client.post(f"/stops/{everything}/lift", headers=ada, data={}).status_code == 303
    start(client, riley)


def test_a_browser_post_needs_the_csrf_token_of_its_session(client, as_user):
    ada = as_user("ada", "admin")
    before = active_ids(client, ada)
    signed_out = client.post("/stops", data={"scope": "all", "reason": "no session", **CONFIRMED})
    assert signed_out.status_code == 303 and signed_out.headers["location"].startswith("/auth/login")
    cookie = {"Cookie": browser_session(client, "adele", "admin")}
    try:
        page = client.get("/stops", headers=cookie)
        assert page.status_code == 200 and "Adele" in page.text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        form = {"scope": "graph", "target": "travel", "reason": "csrf check", **CONFIRMED}
        missing = client.post("/stops", headers=cookie, data=form)
        wrong = client.post("/stops", headers=cookie, data={**form, "csrf_token": token[:-2] + "xx"})
        assert missing.status_code == wrong.status_code == 403
        assert "CSRF token" in missing.text and "text/html" in missing.headers["content-type"]
        assert active_ids(client, ada) == before  # nothing placed
        stop_id = placed_id(client.post("/stops", headers=cookie, data={**form, "csrf_token": token}))
        assert client.post(f"/stops/{stop_id}/lift", headers=cookie, data={}).status_code == 403
        assert client.post(f"/stops/{stop_id}/lift", headers=cookie,
                           data={"csrf_token": token}).status_code == 303
        assert active_ids(client, ada) == before
    finally:
        client.cookies.clear()  # keep the session out of the module's other tests
