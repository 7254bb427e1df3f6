"""Who may see and decide which approval requests, and the listing both the API and the inbox use.

Auditors and admins see everything; others see what they requested, may decide, or decided.
Listings are newest first (or most urgent first) with an opaque cursor; requests the caller may
not see are skipped in chunks so that a page is full whenever more exist.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from oversight.approvals import rules
from oversight.approvals.models import ApprovalDecision, ApprovalRequest
from oversight.approvals.service import requirement_of
from oversight.auth.identity import Principal
from oversight.errors import OversightError
from oversight.gateway.models import Thread  # a table only: no dependency on the gateway's code

AUDIT_ROLES = frozenset({"auditor", "admin"})
_SCAN_CHUNK = 500
_FAR_FUTURE = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)
Order = Literal["newest", "urgent"]


class BadCursor(OversightError):
    type = "bad-cursor"
    title = "The cursor is not valid"
    status = 400


def may_see(request: ApprovalRequest, principal: Principal, decided: bool = False) -> bool:
    """Auditors and admins see everything; others what they requested, may decide, or decided."""
    if principal.roles & AUDIT_ROLES or decided:
        return True
    if principal.same_person(request.requester_issuer, request.requester_subject):
        return True
    requirement = requirement_of(request)
    return requirement is not None and any(
        rules.qualifies(group, principal) for group in requirement.approvers)


def may_decide(request: ApprovalRequest, principal: Principal) -> bool:
    """Could this principal's decision count (role and separation of duties, not step-up)?"""
    requirement = requirement_of(request)
    if requirement is None or request.status != "pending":
        return False
    if principal.same_person(request.requester_issuer, request.requester_subject):
        return False
    return any(rules.qualifies(group, principal) for group in requirement.approvers)


def decided_among(session: Session, requests: Iterable[ApprovalRequest],
                  principal: Principal) -> set[str]:
    """Which of ``requests`` the principal decided in their current version (one query)."""
    digests = {r.id: r.payload_digest for r in requests}
    if not digests:
        return set()
    rows = session.execute(select(ApprovalDecision.request_id, ApprovalDecision.payload_digest)
                           .where(ApprovalDecision.request_id.in_(list(digests)),
                                  ApprovalDecision.decider_issuer == principal.issuer,
                                  ApprovalDecision.decider_subject == principal.subject))
    return {request_id for request_id, digest in rows if digests.get(request_id) == digest}


def may_see_thread(session: Session, thread: Thread, principal: Principal) -> bool:
    """Auditors, the requester, and whoever may see one of the thread's requests."""
    if principal.roles & AUDIT_ROLES or principal.same_person(thread.requester_issuer,
                                                             thread.requester_subject):
        return True
    requests = session.scalars(select(ApprovalRequest).where(
        ApprovalRequest.thread_id == thread.id)).all()
    decided = set(session.scalars(select(ApprovalDecision.request_id).where(
        ApprovalDecision.decider_issuer == principal.issuer,
        ApprovalDecision.decider_subject == principal.subject,
        ApprovalDecision.request_id.in_([r.id for r in requests]))))
    return any(may_see(r, principal, r.id in decided) for r in requests)


@dataclass(frozen=True)
class Filters:
    """What a listing narrows to (``None``: any)."""

    status: str | None = "pending"
    graph: str | None = None
    action: str | None = None
    decidable: bool = False
    due_before: dt.datetime | None = None
    order: Order = "newest"


def _sort_key(request: ApprovalRequest, order: Order) -> tuple[dt.datetime, str]:
    if order == "urgent":
        return (request.deadline_at or _FAR_FUTURE, request.id)
    return (request.created_at, request.id)


def encode_cursor(request: ApprovalRequest, order: Order = "newest") -> str:
    moment, request_id = _sort_key(request, order)
    raw = f"{moment.isoformat()}|{request_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _after_cursor(query: Select[Any], cursor: str, order: Order) -> Select[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, request_id = raw.split("|", 1)
        moment = dt.datetime.fromisoformat(when)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadCursor("pass back the next_cursor of a previous page unchanged",
                        pointer="/cursor") from exc
    if order == "urgent":
        deadline = ApprovalRequest.deadline_at
        if moment == _FAR_FUTURE:  # past every request with a deadline
            return query.where(deadline.is_(None), ApprovalRequest.id > request_id)
        return query.where(or_(deadline > moment, deadline.is_(None), and_(
            deadline == moment, ApprovalRequest.id > request_id)))
    return query.where(or_(ApprovalRequest.created_at < moment, and_(
        ApprovalRequest.created_at == moment, ApprovalRequest.id < request_id)))


def _ordered(order: Order) -> Select[Any]:
    query = select(ApprovalRequest)
    if order == "urgent":  # soonest deadline first; no deadline last
        return query.order_by(ApprovalRequest.deadline_at.is_(None), ApprovalRequest.deadline_at,
                              ApprovalRequest.id)
    return query.order_by(ApprovalRequest.created_at.desc(), ApprovalRequest.id.desc())


def list_requests(session: Session, principal: Principal, filters: Filters, *,
                  cursor: str | None = None, limit: int = 50
                  ) -> tuple[list[ApprovalRequest], str | None]:
    """A page of the requests ``principal`` may see (or decide), and the next page's cursor."""
    query = _ordered(filters.order)
    if filters.status:
        query = query.where(ApprovalRequest.status == filters.status)
    if filters.graph:
        query = query.where(ApprovalRequest.graph == filters.graph)
    if filters.action:
        query = query.where(ApprovalRequest.action == filters.action)
    if filters.due_before is not None:
        query = query.where(ApprovalRequest.deadline_at <= filters.due_before)
    if cursor:
        query = _after_cursor(query, cursor, filters.order)
    privileged = bool(principal.roles & AUDIT_ROLES) and not filters.decidable
    items: list[ApprovalRequest] = []
    size = limit  # most callers see most of what they list; widen only when they do not
    while len(items) < limit:
        chunk = list(session.scalars(query.limit(size)))
        if not chunk:
            break
        decided = decided_among(session, chunk, principal)
        for request in chunk:
            if _listed(request, principal, privileged, filters.decidable, request.id in decided):
                items.append(request)
                if len(items) == limit:
                    break
        if privileged or len(chunk) < size:
            break
        size = _SCAN_CHUNK
        query = _after_cursor(query, encode_cursor(chunk[-1], filters.order), filters.order)
    more = len(items) == limit
    return items, encode_cursor(items[-1], filters.order) if more else None


def _listed(request: ApprovalRequest, principal: Principal, privileged: bool, decidable: bool,
            decided: bool) -> bool:
    if decidable:
        return not decided and may_decide(request, principal)
    return privileged or may_see(request, principal, decided)


def has_decided(session: Session, request: ApprovalRequest, principal: Principal) -> bool:
    """Did ``principal`` decide the request's current version?"""
    return session.scalar(select(ApprovalDecision.id).where(
        ApprovalDecision.request_id == request.id,
        ApprovalDecision.decider_issuer == principal.issuer,
        ApprovalDecision.decider_subject == principal.subject,
        ApprovalDecision.payload_digest == request.payload_digest).limit(1)) is not None
