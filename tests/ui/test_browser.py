"""The inbox in real headless Chromium, against the server on loopback, signed in through
oidc-provider-mock: the approver's flows, separation of duties, the edit form, step-up, the
live inbox, time zones, working without JavaScript, and axe-core on every page."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from oversight.api.app import create_app
from tests.support.browser import axe_violations, screenshot
from tests.support.oidc import MockProvider, mock_provider_running, serve_in_thread
from tests.ui.conftest import demo_graphs, ui_settings

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _users() -> dict[str, dict[str, Any]]:
    now = int(time.time())  # oidc-provider-mock sends static claims: a sign-in "now"
    pwd = {"acr": "urn:mock:pwd", "amr": ["pwd"], "auth_time": now}
    mfa = {"acr": "urn:mock:mfa", "amr": ["pwd", "mfa"], "auth_time": now}
    return {
        "riley": {"name": "Riley Requester", "groups": ["requester"], **pwd},
        "dana": {"name": "Dana DBA", "groups": ["dba"], **mfa},
        "dmitri": {"name": "Dmitri DBA", "groups": ["dba"], **pwd},
        "tara": {"name": "Tara Traveller", "groups": ["traveller"], **pwd},
        "ava": {"name": "Ava Auditor", "groups": ["auditor"], **pwd},
        "adam": {"name": "Adam Admin", "groups": ["admin", "operator", "policy_author"], **mfa},
    }


class Live:
    """The server on loopback, its provider, and API calls as a given person."""

    def __init__(self, url: str, provider: MockProvider) -> None:
        self.url, self.provider = url, provider
        self._tokens: dict[str, str] = {}

    def headers(self, subject: str) -> dict[str, str]:
        """An opaque access token from the provider (checked by Oversight at its userinfo)."""
        if subject not in self._tokens:
            provider, redirect = self.provider, "http://127.0.0.1:9/callback"
            with httpx.Client(timeout=10) as client:
                authorized = client.post(provider.url + "/oauth2/authorize", params={
                    "response_type": "code", "client_id": provider.client_id,
                    "redirect_uri": redirect, "scope": "openid profile", "state": "s"},
                    data={"sub": subject})
                code = parse_qs(urlsplit(authorized.headers["location"]).query)["code"][0]
                tokens = client.post(provider.url + "/oauth2/token", data={
                    "grant_type": "authorization_code", "code": code, "redirect_uri": redirect},
                    auth=(provider.client_id, provider.client_secret))
            self._tokens[subject] = tokens.json()["access_token"]
        return {"Authorization": f"Bearer {self._tokens[subject]}"}

    def api(self, method: str, path: str, subject: str, **kwargs: Any) -> Any:
        response = httpx.request(method, self.url + path, headers=self.headers(subject),
                                 timeout=15, **kwargs)
        assert response.status_code < 400, response.text
        return response.json()

    def start(self, subject: str, graph: str, **input: Any) -> dict[str, Any]:
        return self.api("POST", "/v1/threads", subject, json={"graph": graph, "input": input})

    def wait_thread(self, thread_id: str, status: str, subject: str = "ava") -> dict[str, Any]:
        deadline = time.monotonic() + 20
        while True:
            thread = self.api("GET", f"/v1/threads/{thread_id}", subject)
            if thread["status"] == status or time.monotonic() > deadline:
                return thread
            time.sleep(0.2)


@pytest.fixture(scope="module")
def live(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    with mock_provider_running(_users()) as provider:
        settings = ui_settings(tmp_path_factory.mktemp("home"), database_url)
        auth = provider.auth_settings(cookie_secure=False, step_up_acr_values="urn:mock:mfa")
        app = create_app(settings, auth=auth, setup_graphs=demo_graphs)
        with serve_in_thread(app, lifespan="on") as url:
            yield Live(url, provider)


@pytest.fixture
def browser_context(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 1280, "height": 900},
                                   timezone_id="America/New_York", locale="en-US")
    context.set_default_timeout(15_000)
    try:
        yield context
    finally:
        context.close()


def sign_in(page: Any, live: Live, subject: str, path: str = "/") -> None:
    """Through the real flow: our /auth/login, the provider's page, the callback."""
    page.goto(live.url + "/auth/login?next=" + path.replace("/", "%2F"))
    page.get_by_role("button", name=subject, exact=True).click()
    page.wait_for_url(re.compile(re.escape(live.url) + r"/.*"))


def check_accessible(page: Any, axe: str, where: str) -> None:
    violations = axe_violations(page, axe)
    assert violations == [], f"{where}: {violations}"


def test_a_dba_approves_the_delete_and_an_auditor_sees_the_records(live, browser_context, axe_source):
    thread = live.start("riley", "sql_agent", request="delete the users inactive since 2025",
                        database="production")
    request_id = thread["pending"][0]["id"]
    page = browser_context.new_page()
    page.goto(live.url + "/")
    check_accessible(page, axe_source, "welcome")
    page.get_by_role("link", name="Sign in with your company account").click()
    page.get_by_role("button", name="dana", exact=True).click()
    page.wait_for_url(live.url + "/")
    mine = page.locator("#inbox-list")
    link = mine.get_by_role("link", name=re.compile("1,204|DELETE|delete", re.I)).first
    assert link.get_attribute("href") == f"/requests/{request_id}"
    time_el = page.locator("#inbox-list time").first
    assert "UTC" in time_el.get_attribute("title") and "UTC" not in time_el.inner_text()
    screenshot(page, "inbox")
    check_accessible(page, axe_source, "inbox")

    link.click()
    page.wait_for_url(live.url + f"/requests/{request_id}")
    assert "DELETE FROM users\nWHERE last_login" in page.locator("pre.sql").last.inner_text()
    assert "1 of 1 dba still needed" in page.locator("#needs-title + ul").inner_text()
    screenshot(page, "request")
    check_accessible(page, axe_source, "request")
    page.get_by_label("Comment (optional)").first.fill("Checked: 1,204 rows, all inactive.")
    page.get_by_role("button", name="Approve", exact=True).click()
    page.wait_for_url(re.compile(r".*\?done=approve$"))
    assert page.get_by_role("status").first.inner_text() == "Your approval is recorded."
    assert live.wait_thread(thread["id"], "completed")["status"] == "completed"

    auditor = browser_context.browser.new_context(timezone_id="Europe/Lisbon")
    try:
        audit_page = auditor.new_page()
        sign_in(audit_page, live, "ava", f"/requests/{request_id}")
        trail = audit_page.locator("table.trail").inner_text()
        for words in ("approval requested", "viewed", "decided", "run completed"):
            assert words in trail, trail
        assert "Dana DBA" in trail and "Checked: 1,204 rows" in audit_page.content()
    finally:
        auditor.close()


def test_separation_of_duties_and_the_review_time_are_explained(live, browser_context, axe_source):
    own = live.start("dana", "sql_agent", request="drop the staging_events table",
                     database="production")
    page = browser_context.new_page()
    sign_in(page, live, "dana", f"/requests/{own['pending'][0]['id']}")
    decide = page.locator("section.decide")
    assert "You raised this request. Separation of duties" in decide.inner_text()
    assert decide.get_by_role("button", name="Approve").count() == 0

    other = live.start("riley", "sql_agent", request="drop the audit_old table",
                       database="production")
    page.goto(live.url + f"/requests/{other['pending'][0]['id']}")
    assert "at least 30 s of review" in page.locator("#review-note").inner_text()
    page.get_by_role("button", name="Approve", exact=True).click()  # at once: rubber-stamping
    alert = page.get_by_role("alert")
    assert "30 s of review" in alert.inner_text() and "rubber-stamping" in alert.inner_text()
    check_accessible(page, axe_source, "refused decision")
    detail = live.api("GET", f"/v1/approvals/{other['pending'][0]['id']}", "ava")
    assert detail["decisions"] == [] and detail["status"] == "pending"
    refused = [r for r in live.api("GET", f"/v1/threads/{other['id']}", "ava")["audit_trail"]
               if r["action"] == "decision.refused"]
    assert refused and refused[-1]["data"]["code"] == "too_fast"


def test_the_traveller_edits_the_hotel_through_the_form(live, browser_context, axe_source):
    thread = live.start("riley", "travel", traveller="tara", destination="Lisbon")
    page = browser_context.new_page()
    sign_in(page, live, "tara", f"/requests/{thread['pending'][0]['id']}")
    page.get_by_text("Edit before approving").click()
    name = page.get_by_label("hotel.name")
    assert name.input_value() == "Grand Hotel Lisbon"
    name.fill("Casa do Rio")
    screenshot(page, "edit-form")
    check_accessible(page, axe_source, "edit form")
    page.get_by_role("button", name="Review changes").click()
    row = page.locator("table.diff tbody tr")
    assert row.count() == 1
    assert row.inner_text().split("\t") == ["hotel.name", '"Grand Hotel Lisbon"', '"Casa do Rio"']
    screenshot(page, "edit-diff")
    check_accessible(page, axe_source, "edit diff")
    page.get_by_role("button", name="Approve with these changes").click()
    page.wait_for_url(re.compile(r".*\?done=edit$"))
    done = live.wait_thread(thread["id"], "completed")
    assert done["values"]["booking"] == "booked Casa do Rio for 3 nights and flight TP1351"


def test_a_step_up_rule_sends_the_person_back_to_the_provider(live, browser_context):
    thread = live.start("riley", "sql_agent", request="drop the staging_events table",
                        database="production")
    page = browser_context.new_page()
    sign_in(page, live, "dmitri", f"/requests/{thread['pending'][0]['id']}")
    assert "stronger sign-in" in page.locator("section.decide").inner_text()
    page.get_by_role("link", name="Sign in again with a stronger method").click()
    page.wait_for_url(re.compile(re.escape(live.provider.url) + r"/oauth2/authorize\?.*"))
    sent = parse_qs(urlsplit(page.url).query)
    assert sent["acr_values"] == ["urn:mock:mfa"] and sent["max_age"] == ["900"]
    assert sent["redirect_uri"] == [live.url + "/auth/callback"]


def test_error_pages_are_designed_and_accessible(live, browser_context, axe_source):
    page = browser_context.new_page()
    sign_in(page, live, "riley", "/requests/no-such-request")
    assert page.get_by_role("heading", level=1).inner_text() == "No such approval request"
    assert page.get_by_role("link", name="Back to the inbox").is_visible()
    check_accessible(page, axe_source, "404 page")
    response = page.goto(live.url + "/audit")
    assert response is not None and response.status == 403
    assert "auditor" in page.locator("main").inner_text()  # says which roles it needs
    check_accessible(page, axe_source, "403 page")


def test_new_requests_appear_without_a_reload(live, browser_context):
    page = browser_context.new_page()
    sign_in(page, live, "dmitri")
    marker = page.evaluate("() => (window.__marker = Math.random())")
    thread = live.start("riley", "sql_agent", request="update the stale users",
                        database="production")
    link = page.locator(f'#inbox-list a[href="/requests/{thread["pending"][0]["id"]}"]')
    link.wait_for(timeout=15_000)
    assert page.evaluate("() => window.__marker") == marker  # the same page, not reloaded
    assert "new request" in page.locator("#live").inner_text()


def test_deciding_works_without_javascript(live, chromium):
    context = chromium.new_context(java_script_enabled=False)
    try:
        thread = live.start("riley", "sql_agent", request="delete the users inactive since 2025",
                            database="staging")
        page = context.new_page()
        sign_in(page, live, "dmitri", f"/requests/{thread['pending'][0]['id']}")
        assert "UTC" in page.locator("time").first.inner_text()  # no script: UTC is shown
        page.get_by_label("Reason for rejecting (required)").fill("Not on a Friday.")
        page.keyboard.press("Tab")
        focused = page.evaluate("() => document.activeElement.textContent")
        assert focused == "Reject"  # keyboard: the reason field leads to its button
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r".*\?done=reject$"))
        ended = live.wait_thread(thread["id"], "completed")
        assert ended["values"]["approved"] is False
        assert "Not on a Friday." in ended["values"]["reason"]
    finally:
        context.close()


def test_the_accessibility_check_itself_catches_violations(chromium, axe_source):
    context = chromium.new_context()
    try:
        page = context.new_page()
        page.set_content('<html><body><img src="data:,"><p style="color:#bbb;background:#fff">'
                         "faint</p><button></button></body></html>")
        found = {v["id"] for v in axe_violations(page, axe_source)}
    finally:
        context.close()
    assert {"image-alt", "color-contrast", "button-name"} <= found


def test_auditors_policy_authors_and_admins_have_their_pages(live, browser_context, axe_source):
    thread = live.start("riley", "sql_agent", request="delete the users inactive since 2025",
                        database="staging")
    page = browser_context.new_page()
    sign_in(page, live, "ava", "/audit")
    assert page.get_by_role("heading", name="Audit ledger", level=1).is_visible()
    deadline = time.monotonic() + 15
    while f"/requests/{thread['pending'][0]['id']}" not in page.content():  # sealed shortly
        assert time.monotonic() < deadline, "the thread's records never appeared"
        page.wait_for_timeout(300)
        page.reload()
    screenshot(page, "audit")
    check_accessible(page, axe_source, "audit ledger")
    page.get_by_role("button", name="Verify the ledger now").click()
    verdict = page.get_by_role("status").first.inner_text()
    assert verdict.startswith("Intact: ") and "verified against the checkpoint" in verdict
    check_accessible(page, axe_source, "audit verified")
    page.goto(live.url + "/stops")
    assert "Not allowed" in page.content()  # an auditor may not press the stop button

    admin = browser_context.browser.new_context()
    try:
        page = admin.new_page()
        page.on("dialog", lambda dialog: dialog.accept())  # the stop button's confirmation
        sign_in(page, live, "adam", "/policies")
        assert "sql-destructive-production" in page.content()
        screenshot(page, "policies")
        check_accessible(page, axe_source, "policies")
        page.goto(live.url + "/policies/replay")
        check_accessible(page, axe_source, "policy replay")
        page.goto(live.url + "/stops")
        check_accessible(page, axe_source, "stops")
        page.get_by_label("a thread", exact=True).check()
        page.get_by_label("Thread id or graph name", exact=False).fill(thread["id"])
        page.get_by_label("Reason (required, recorded and shown)").fill("Investigating a leak.")
        page.get_by_label(re.compile("I understand")).check()
        page.get_by_role("button", name="Place the stop").click()
        page.wait_for_url(re.compile(r".*/stops.*"))
        assert "Investigating a leak." in page.locator("main").inner_text()
        screenshot(page, "stops")
        stops = live.api("GET", "/v1/stops", "adam")
        assert [s["target"] for s in stops] == [thread["id"]]
        assert live.api("GET", f"/v1/approvals/{thread['pending'][0]['id']}", "adam")["status"] == "cancelled"
        check_accessible(page, axe_source, "stops with one active")
        page.get_by_role("button", name="Lift").click()
        page.wait_for_url(re.compile(r".*/stops.*"))
        assert live.api("GET", "/v1/stops", "adam") == []
    finally:
        admin.close()
