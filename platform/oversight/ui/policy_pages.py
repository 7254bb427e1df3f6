"""Policies for policy authors and admins: the set in force, its history, and replays.

A replay builds the candidate set and runs it over every interrupt the gateway registered,
against the set in force, as ``POST /v1/policies/replay`` does; nothing goes into force here.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from oversight.api.deps import POLICY_ROLES, require_any_role
from oversight.approvals.history import recorded_events
from oversight.approvals.visibility import AUDIT_ROLES
from oversight.auth.csrf import uses_bearer_token, verify_csrf
from oversight.auth.forms import urlencoded_form
from oversight.auth.identity import Principal
from oversight.ledger import service as ledger
from oversight.policy import PolicyInvalid, PolicySource, build_policy_set
from oversight.policy.replay import replay
from oversight.policy.store import PolicyStore
from oversight.ui.pages import Person, log, page_router, render

router = page_router()
DEFAULT_NAME = "candidate.yaml"
MAX_NAME = 200
_EVENT_ID = re.compile(r"\(id ([^)]+)\)$")


def _author(principal: Principal) -> None:
    require_any_role(principal, POLICY_ROLES, "policies")


def _load(record: dict[str, Any]) -> dict[str, Any]:
    """A ``policy.loaded`` record as a line of the history."""
    data = record.get("data") or {}
    changes = [f"{len(data.get(key) or ())} {word}" for key, word in (
        ("rules_added", "added"), ("rules_removed", "removed"), ("rules_changed", "changed"))
        if data.get(key)]
    reason = data.get("reason") or ("reloaded" + (f": {', '.join(changes)}" if changes else ""))
    return {"seq": record.get("seq"), "time": record.get("time"), "actor": record.get("actor"),
            "version": record.get("policy") or data.get("new_version") or data.get("version"),
            "reason": reason, "files": data.get("files") or []}


@router.get("/policies", response_class=HTMLResponse)
def policies_page(request: Request, principal: Person) -> HTMLResponse:
    """The set in force, rule by rule, and every load of a set, newest first."""
    _author(principal)
    store: PolicyStore = request.app.state.policy_store
    with request.app.state.read_sessions() as session:
        loads = [_load(r) for r in ledger.recorded(session, action="policy.loaded")]
    return render(request, "policies.html", current=store.current, history=loads[::-1])


def _replay_form(request: Request, *, status: int = 200, form: dict[str, str] | None = None,
                 problems: list[str] | None = None, error: str | None = None,
                 report: dict[str, Any] | None = None) -> HTMLResponse:
    store: PolicyStore = request.app.state.policy_store
    texts = store.current.source_texts()
    principal: Principal = request.state.page_principal
    if form is None:  # a one-file set in force is where an edit starts
        form = {"name": DEFAULT_NAME, "since": "",
                "text": next(iter(texts.values())) if len(texts) == 1 else ""}
    return render(request, "policy_replay.html", status=status, current=store.current,
                  files=len(texts), form=form, problems=problems or [], error=error,
                  report=report, link_requests=bool(principal.roles & AUDIT_ROLES))


@router.get("/policies/replay", response_class=HTMLResponse)
def replay_page(request: Request, principal: Person) -> HTMLResponse:
    """The form: a candidate policy file to replay over past interrupts."""
    _author(principal)
    return _replay_form(request)


def _since(value: str) -> dt.datetime | None:
    if not value:
        return None
    day = dt.date.fromisoformat(value)  # ValueError for the caller
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


def _replay(request: Request, name: str, text: str, since: dt.datetime | None) -> dict[str, Any]:
    store: PolicyStore = request.app.state.policy_store
    candidate = build_policy_set([PolicySource(name, text)])
    with request.app.state.read_sessions() as session:
        report = replay(candidate, recorded_events(session, since=since), store.current)
    result = report.as_dict()
    for change in result["changes"]:
        found = _EVENT_ID.search(change["event"])
        change["request_id"] = found.group(1) if found else None
    return result


@router.post("/policies/replay", response_class=HTMLResponse)
async def replay_submit(request: Request, principal: Person) -> HTMLResponse:
    """Replay the candidate; the report, or the problems with file:line:column, on the page."""
    _author(principal)
    raw = await urlencoded_form(request)
    if not uses_bearer_token(request):
        verify_csrf(request, raw.get("csrf_token"))
    form = {"name": raw.get("name", "").strip() or DEFAULT_NAME, "text": raw.get("text", ""),
            "since": raw.get("since", "").strip()}
    if len(form["name"]) > MAX_NAME or "/" in form["name"] or "\\" in form["name"]:
        return _replay_form(request, status=422, form=form,
                            error="The file name is a plain name like candidate.yaml.")
    if not form["text"].strip():
        return _replay_form(request, status=422, form=form,
                            error="Paste the candidate policy file to replay.")
    try:
        since = _since(form["since"])
    except ValueError:
        return _replay_form(request, status=422, form=form,
                            error=f"“{form['since']}” is not a date (YYYY-MM-DD).")
    try:
        report = await run_in_threadpool(_replay, request, form["name"], form["text"], since)
    except PolicyInvalid as invalid:
        return _replay_form(request, status=422, form=form,
                            problems=[str(p) for p in invalid.problems] or [invalid.detail],
                            error="The candidate does not validate; nothing was replayed.")
    log.info("ui.policy_replayed", by=principal.id, events=report["events"],
             changed=report["changed"], candidate=report["candidate_version"])
    return _replay_form(request, form=form, report=report)
