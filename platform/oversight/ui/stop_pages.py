"""The stop button for admins and the configured stop roles: place, list and lift stops.

A stop cancels the pending requests in its scope and nothing in it starts or resumes until
it is lifted. The form asks for an explicit confirmation, checked here as well as in the
browser. After placing or lifting, the page says how many requests the stop cancelled,
counted in the database (the redirect carries only the stop's id).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from oversight.api.deps import require_any_role
from oversight.approvals.models import ApprovalRequest
from oversight.auth.csrf import uses_bearer_token, verify_csrf
from oversight.auth.forms import urlencoded_form
from oversight.auth.identity import Principal
from oversight.stops import service as stops
from oversight.stops.exceptions import StopInvalid
from oversight.stops.models import Stop
from oversight.ui.pages import Person, log, page_router, render

router = page_router()
SCOPE_WORDS = {"thread": "a thread", "graph": "a graph", "all": "everything"}
RECENTLY_LIFTED = 10
MAX_TARGET, MAX_REASON = 200, 2000


def _stopper(request: Request, principal: Principal) -> None:
    roles = frozenset({"admin", *request.app.state.settings.stop_roles})
    require_any_role(principal, roles, "the stop button")


def cancelled_by(session: Session, stop: Stop) -> int:
    """How many requests this stop cancelled: those in its scope closed at its very moment."""
    query = select(func.count()).select_from(ApprovalRequest).where(
        ApprovalRequest.status == "cancelled", ApprovalRequest.closed_at == stop.created_at)
    if stop.scope == "thread":
        query = query.where(ApprovalRequest.thread_id == stop.target)
    elif stop.scope == "graph":
        query = query.where(ApprovalRequest.graph == stop.target)
    return int(session.scalar(query) or 0)


def _scope_words(stop: Stop) -> str:
    return f"{stop.scope} {stop.target}" if stop.target else "everything"


def _flash(session: Session, placed: str | None, lifted: str | None) -> str | None:
    stop = session.get(Stop, placed or lifted) if (placed or lifted) else None
    if stop is None:
        return None
    count = cancelled_by(session, stop)
    requests = f"{count} pending request{'s' if count != 1 else ''}"
    if placed:
        return (f"Stop placed on {_scope_words(stop)}: {requests} cancelled. Nothing in this "
                "scope starts or resumes until the stop is lifted.")
    return (f"Stop on {_scope_words(stop)} lifted. New runs can start; the {requests} it "
            f"cancelled {'stays' if count == 1 else 'stay'} cancelled.")


def _page(request: Request, *, status: int = 200, form: dict[str, str] | None = None,
          errors: dict[str, str] | None = None, flash: str | None = None,
          placed: str | None = None, lifted: str | None = None) -> HTMLResponse:
    with request.app.state.read_sessions() as session:
        active = [(stop, cancelled_by(session, stop)) for stop in stops.active(session)]
        recent = list(session.scalars(select(Stop).where(Stop.lifted_at.is_not(None))
                                      .order_by(Stop.lifted_at.desc()).limit(RECENTLY_LIFTED)))
        done = _flash(session, placed, lifted)
    return render(request, "stops.html", status=status, active=active, recent=recent,
                  form=form or {"scope": "thread", "target": "", "reason": ""},
                  errors=errors or {}, done=done, flash=flash, scope_words=SCOPE_WORDS,
                  graphs=request.app.state.gateway.registry.names())


@router.get("/stops", response_class=HTMLResponse)
def stops_page(
    request: Request, principal: Person,
    placed: Annotated[str | None, Query(max_length=36)] = None,
    lifted: Annotated[str | None, Query(max_length=36)] = None,
) -> HTMLResponse:
    """The active stops with their lift forms, and the form to place a stop."""
    _stopper(request, principal)
    return _page(request, placed=placed, lifted=lifted)


def _form_errors(form: dict[str, str]) -> dict[str, str]:
    errors = {}
    if form["scope"] not in SCOPE_WORDS:
        errors["scope"] = "Choose what to stop: a thread, a graph or everything."
    elif form["scope"] != "all" and not form["target"]:
        errors["target"] = f"Name the {form['scope']} to stop" + (
            " (its id)." if form["scope"] == "thread" else " (as registered).")
    if len(form["target"]) > MAX_TARGET:
        errors["target"] = f"At most {MAX_TARGET} characters."
    if not form["reason"]:
        errors["reason"] = "Say why: the reason is recorded and shown to everyone affected."
    elif len(form["reason"]) > MAX_REASON:
        errors["reason"] = f"At most {MAX_REASON} characters."
    if form["confirm"] != "yes":
        errors["confirm"] = "Tick the box to confirm that you understand what a stop does."
    return errors


async def _checked_form(request: Request) -> dict[str, str]:
    form = await urlencoded_form(request)
    if not uses_bearer_token(request):  # a browser never attaches a bearer token on its own
        verify_csrf(request, form.get("csrf_token"))
    return form


def _place(request: Request, principal: Principal, form: dict[str, str]) -> tuple[str, int]:
    with request.app.state.sessions() as session, session.begin():
        stop, cancelled = stops.place(
            session, scope=form["scope"], target=None if form["scope"] == "all" else form["target"],
            reason=form["reason"], principal=principal, now=request.app.state.gateway.clock())
        return stop.id, cancelled


@router.post("/stops", response_model=None)
async def place(request: Request, principal: Person) -> Response:
    """Place a stop; an incomplete form comes back with what is missing, nothing placed."""
    _stopper(request, principal)
    raw = await _checked_form(request)
    form = {"scope": raw.get("scope", ""), "target": raw.get("target", "").strip(),
            "reason": raw.get("reason", "").strip(), "confirm": raw.get("confirm", "")}
    errors = _form_errors(form)
    if errors:
        return await run_in_threadpool(_page, request, status=422, form=form, errors=errors,
                                       flash="Nothing was stopped: complete the form below.")
    try:
        stop_id, cancelled = await run_in_threadpool(_place, request, principal, form)
    except StopInvalid as invalid:
        return await run_in_threadpool(_page, request, status=invalid.status, form=form,
                                       flash=invalid.detail)
    log.info("ui.stop_placed", stop=stop_id, scope=form["scope"], cancelled=cancelled,
             by=principal.id)
    return RedirectResponse(f"/stops?placed={stop_id}", status_code=303)


def _lift(request: Request, principal: Principal, stop_id: str, reason: str) -> None:
    with request.app.state.sessions() as session, session.begin():
        stops.lift(session, stop_id=stop_id, reason=reason, principal=principal,
                   now=request.app.state.gateway.clock())


@router.post("/stops/{stop_id}/lift", response_model=None)
async def lift(stop_id: str, request: Request, principal: Person) -> Response:
    """Lift an active stop (recorded with the reason given)."""
    _stopper(request, principal)
    form = await _checked_form(request)
    await run_in_threadpool(_lift, request, principal, stop_id,
                            form.get("reason", "").strip()[:MAX_REASON])
    log.info("ui.stop_lifted", stop=stop_id, by=principal.id)
    return RedirectResponse(f"/stops?lifted={stop_id}", status_code=303)
