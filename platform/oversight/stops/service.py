"""Placing and lifting stops, and asking whether a thread or graph is stopped.

A stop cancels the pending requests in its scope (recorded), and while it is active the
gateway refuses to start runs and runners refuse to resume in that scope. Lifting it lets
new runs start; what was cancelled stays cancelled.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, exists, or_, select
from sqlalchemy.orm import Session

from oversight.approvals import service as approvals
from oversight.approvals.models import PENDING, ApprovalRequest
from oversight.auth.identity import Principal
from oversight.ledger import service as ledger
from oversight.stops.exceptions import StopInvalid, StopNotFound, Stopped
from oversight.stops.models import Stop

SCOPES = ("thread", "graph", "all")


def _subject(stop: Stop) -> dict[str, str | None]:
    return {"stop": stop.id, "thread": stop.target if stop.scope == "thread" else None,
            "graph": stop.target if stop.scope == "graph" else None}


def place(session: Session, *, scope: str, target: str | None, reason: str,
          principal: Principal, now: dt.datetime) -> tuple[Stop, int]:
    """Place a stop; cancels pending requests in scope. Returns it and how many it cancelled."""
    if scope not in SCOPES:
        raise StopInvalid(f"scope {scope!r} is not one of {list(SCOPES)}", pointer="/scope")
    if (scope == "all") != (target is None):
        raise StopInvalid("a thread or graph stop names its target; a stop of everything does "
                          "not", pointer="/target")
    if not reason.strip():
        raise StopInvalid("a stop needs a reason", pointer="/reason")
    stop = Stop(id=str(uuid.uuid4()), scope=scope, target=target, reason=reason,
                created_by=principal.id, created_at=now)
    session.add(stop)
    ledger.append_record(session, action="stop.placed", actor=principal.to_actor(),
                         subject=_subject(stop), time=now,
                         data={"scope": scope, "target": target, "reason": reason})
    query = select(ApprovalRequest).where(ApprovalRequest.status == PENDING).with_for_update()
    if scope == "thread":
        query = query.where(ApprovalRequest.thread_id == target)
    elif scope == "graph":
        query = query.where(ApprovalRequest.graph == target)
    pending = list(session.scalars(query))
    approvals.close_requests(session, pending, status="cancelled", action="request.cancelled",
                             actor=principal.to_actor(), reason=f"stopped: {reason}", now=now)
    session.flush()
    return stop, len(pending)


def lift(session: Session, *, stop_id: str, reason: str, principal: Principal,
         now: dt.datetime) -> Stop:
    """Lift an active stop (recorded)."""
    stop = session.get(Stop, stop_id, with_for_update=True)
    if stop is None or stop.lifted_at is not None:
        raise StopNotFound(f"no active stop {stop_id}", stop=stop_id)
    stop.lifted_at, stop.lifted_by, stop.lift_reason = now, principal.id, reason or None
    ledger.append_record(session, action="stop.lifted", actor=principal.to_actor(),
                         subject=_subject(stop), time=now, data={"reason": reason or None})
    session.flush()
    return stop


def active(session: Session) -> list[Stop]:
    """Active stops, newest first."""
    return list(session.scalars(select(Stop).where(Stop.lifted_at.is_(None))
                                .order_by(Stop.created_at.desc())))


def covers(thread_id: Any, graph: Any) -> ColumnElement[bool]:
    """SQL: an active stop covers this thread (column or value) of this graph."""
    return exists(select(Stop.id).where(and_(Stop.lifted_at.is_(None), or_(
        Stop.scope == "all",
        and_(Stop.scope == "graph", Stop.target == graph),
        and_(Stop.scope == "thread", Stop.target == thread_id)))))


def covering(session: Session, *, graph: str, thread_id: str | None = None) -> Stop | None:
    """An active stop that covers the graph or the thread, if any."""
    return session.scalars(_COVERING, {"graph": graph, "thread_id": thread_id}).first()


_COVERING = select(Stop).where(Stop.lifted_at.is_(None), or_(
    Stop.scope == "all", and_(Stop.scope == "graph", Stop.target == bindparam("graph")),
    and_(Stop.scope == "thread", Stop.target == bindparam("thread_id"))))


def is_stopped(session: Session, *, graph: str, thread_id: str | None = None) -> bool:
    """True while an active stop covers the graph or the thread."""
    return covering(session, graph=graph, thread_id=thread_id) is not None


def check_not_stopped(session: Session, *, graph: str, thread_id: str | None = None) -> None:
    """Raise ``Stopped`` when an active stop covers the graph or the thread."""
    stop = covering(session, graph=graph, thread_id=thread_id)
    if stop is not None:
        raise Stopped(f"a stop placed at {stop.created_at.isoformat()} covers this "
                      f"({stop.scope}{' ' + stop.target if stop.target else ''}): {stop.reason}",
                      stop=stop.id)
