"""The inbox: what I may decide now, what else I can see, and what others decided lately."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from oversight.approvals.models import ApprovalDecision, ApprovalRequest, ApprovalView
from oversight.approvals.visibility import AUDIT_ROLES, Filters, Order, list_requests, may_see
from oversight.auth.identity import Principal
from oversight.ui import present
from oversight.ui.pages import MaybePerson, page_router, render

router = page_router()
PAGE = 50
RISKS = ("high", "medium", "low")
DUE = {"overdue": dt.timedelta(0), "1h": dt.timedelta(hours=1), "24h": dt.timedelta(hours=24)}


@dataclass(frozen=True)
class Item:
    """A request as a line of the inbox."""

    request: ApprovalRequest
    risk: str | None
    needs: str | None


def risk_of(request: ApprovalRequest) -> str | None:
    """The payload's own ``risk`` (or ``severity``) label, lower-cased, when it has one."""
    try:
        payload = json.loads(request.payload)
    except ValueError:
        return None
    if isinstance(payload, dict):
        for key in ("risk", "severity", "risk_level"):
            value = payload.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip().lower()
    return None


def _items(requests: list[ApprovalRequest], risk: str | None) -> list[Item]:
    from oversight.approvals.rules import describe_groups
    from oversight.approvals.service import requirement_of

    items = []
    for request in requests:
        label = risk_of(request)
        if risk and label != risk:
            continue
        requirement = requirement_of(request)
        items.append(Item(request, label, describe_groups(requirement.approvers)
                          if requirement else None))
    return items


def _recent_decisions(session: Session, principal: Principal, limit: int = 8
                      ) -> list[tuple[ApprovalDecision, ApprovalRequest]]:
    rows = session.execute(
        select(ApprovalDecision, ApprovalRequest)
        .join(ApprovalRequest, ApprovalRequest.id == ApprovalDecision.request_id)
        .order_by(ApprovalDecision.created_at.desc()).limit(limit * 5)).all()
    shown = []
    for decision, request in rows:
        mine = principal.same_person(decision.decider_issuer, decision.decider_subject)
        if mine or principal.roles & AUDIT_ROLES or may_see(request, principal):
            shown.append((decision, request))
        if len(shown) == limit:
            break
    return shown


def my_streak(session: Session, principal: Principal, last: int = 20) -> present.Streak | None:
    """The person's latest decisions, newest first, with how long they read before each."""
    rows = session.execute(
        select(ApprovalDecision.outcome, ApprovalDecision.created_at, ApprovalView.viewed_at)
        .outerjoin(ApprovalView, (ApprovalView.request_id == ApprovalDecision.request_id)
                   & (ApprovalView.viewer_issuer == ApprovalDecision.decider_issuer)
                   & (ApprovalView.viewer_subject == ApprovalDecision.decider_subject))
        .where(ApprovalDecision.decider_issuer == principal.issuer,
               ApprovalDecision.decider_subject == principal.subject)
        .order_by(ApprovalDecision.created_at.desc()).limit(last * 3)).all()
    outcomes: list[str] = []
    reviews: list[float] = []
    seen_at: set[dt.datetime] = set()
    for outcome, decided_at, viewed_at in rows:
        if decided_at in seen_at:
            continue  # one decision, several views (edited payloads): count it once
        seen_at.add(decided_at)
        outcomes.append(outcome)
        if viewed_at is not None:
            reviews.append(max(0.0, (present.utc(decided_at) - present.utc(viewed_at)).total_seconds()))
        if len(outcomes) == last:
            break
    return present.streak(outcomes, reviews)


def _filters_query(**values: Any) -> str:
    return urlencode({k: v for k, v in values.items() if v})


@router.get("/", response_class=HTMLResponse)
def inbox(
    request: Request,
    principal: MaybePerson,
    graph: Annotated[str | None, Query(max_length=200)] = None,
    action: Annotated[str | None, Query(max_length=200)] = None,
    risk: Annotated[str | None, Query(max_length=20)] = None,
    due: Annotated[str | None, Query(max_length=10)] = None,
    order: Annotated[Order, Query()] = "newest",
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> HTMLResponse:
    """The inbox (a welcome page for visitors who are not signed in)."""
    if principal is None:
        return render(request, "welcome.html")
    now = request.app.state.gateway.clock()
    due_before = now + DUE[due] if due in DUE else None
    risk = risk.lower() if risk and risk.lower() in RISKS else None
    filters = Filters(graph=graph or None, action=action or None, decidable=True,
                      due_before=due_before, order=order)
    fragment = request.headers.get("X-Oversight-Fragment") == "1"
    query = _filters_query(graph=graph, action=action, risk=risk, due=due,
                           order=order if order != "newest" else None)
    with request.app.state.read_sessions() as session:
        mine, next_cursor = list_requests(session, principal, filters, cursor=cursor, limit=PAGE)
        items = _items(mine, risk)
        context: dict[str, Any] = {
            "items": items, "ids": " ".join(f"{i.request.id}:{i.request.payload_digest[:12]}"
                                            for i in items),
            "poll_url": None if cursor else "/" + (f"?{query}" if query else "")}
        if fragment:  # the live refresh asks for the list only
            return render(request, "_inbox_list.html", **context)
        others, _ = list_requests(session, principal, Filters(graph=graph or None,
                                                              action=action or None, order=order),
                                  limit=PAGE)
        decidable_ids = {r.id for r in mine}
        context["other_items"] = _items([r for r in others if r.id not in decidable_ids], risk)
        pending_total = session.scalar(select(func.count()).select_from(ApprovalRequest).where(
            ApprovalRequest.status == "pending"))
        actions = sorted(session.scalars(select(ApprovalRequest.action).distinct()
                                         .where(ApprovalRequest.status == "pending")))
        recent = _recent_decisions(session, principal)
        streak = my_streak(session, principal)
    more = _filters_query(graph=graph, action=action, risk=risk, due=due, order=order,
                          cursor=next_cursor)
    return render(request, "inbox.html", **context, recent=recent, streak=streak,
                  next_url=f"/?{more}" if next_cursor else None,
                  graphs=request.app.state.gateway.registry.names(), actions=actions,
                  risks=RISKS, filters={"graph": graph or "", "action": action or "",
                                        "risk": risk or "", "due": due or "", "order": order},
                  pending_total=pending_total if principal.roles & AUDIT_ROLES else None,
                  filtered=bool(query))
