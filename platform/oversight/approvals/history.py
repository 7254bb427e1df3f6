"""Past interrupts as policy events, for ``oversight policy replay --from-db``."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from oversight.approvals.models import ApprovalRequest
from oversight.gateway.models import Thread
from oversight.policy.eventfiles import RecordedEvent, RecordedOutcomeSpec
from oversight.policy.outcomes import OutcomeKind, PolicyEvent, Requester

_KIND_OF_STATUS: dict[str, OutcomeKind] = {"auto_approved": "auto_approve", "denied": "deny"}


def recorded_events(session: Session, *, since: dt.datetime | None = None,
                    chunk: int = 1000) -> Iterator[RecordedEvent]:
    """Every request the gateway registered (since ``since``), as the event the policy saw,
    with the outcome recorded at the time; oldest first, read in chunks."""
    query = (select(ApprovalRequest, Thread.requester)
             .join(Thread, Thread.id == ApprovalRequest.thread_id)
             .order_by(ApprovalRequest.created_at, ApprovalRequest.id)
             .execution_options(yield_per=chunk))
    if since is not None:
        query = query.where(ApprovalRequest.created_at >= since)
    for number, (request, requester_json) in enumerate(session.execute(query), start=1):
        kind: OutcomeKind = _KIND_OF_STATUS.get(request.status, "require")
        yield RecordedEvent(
            file="database", line=number, id=request.id, event=_event(request, requester_json),
            outcome=RecordedOutcomeSpec(kind=kind, rule_id=request.rule_id,
                                        policy_version=request.policy_version),
        )


def _event(request: ApprovalRequest, requester_json: str | None) -> PolicyEvent:
    requester = None
    if requester_json:
        who = json.loads(requester_json)
        requester = Requester(issuer=who["issuer"], subject=who["subject"],
                              roles=frozenset(who.get("roles", ())), name=who.get("name"))
    return PolicyEvent(graph=request.graph, node=request.node, action=request.action,
                       payload=json.loads(request.original_payload or request.payload),
                       requester=requester, time=request.created_at)


def event_of(session: Session, request: ApprovalRequest) -> PolicyEvent:
    """The event the policy saw when ``request`` was raised (the payload before edits)."""
    requester_json = session.scalar(select(Thread.requester).where(Thread.id == request.thread_id))
    return _event(request, requester_json)
