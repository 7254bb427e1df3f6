"""Queueing notifications in the caller's transaction (services flush, the edge commits)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from oversight.notify.models import QUEUED, Notification

EVENTS = ("approval.requested", "request.escalated")
_INSERT = insert(Notification)


def enqueue(session: Session, *, channels: Iterable[str], event: str, facts: Mapping[str, Any],
            approval_id: str | None, thread_id: str | None, now: dt.datetime) -> int:
    """Queue one notification a channel (each channel once); returns how many were queued.

    ``facts`` are what the message states (action, graph, summary, rule, who must approve,
    deadline…): never the payload, which may hold personal data.
    """
    if event not in EVENTS:
        raise ValueError(f"unknown notification event {event!r}")
    message = json.dumps({"event": event, **facts}, sort_keys=True)
    rows = [{"channel": name, "event": event, "approval_id": approval_id,
             "thread_id": thread_id, "message": message, "status": QUEUED, "attempts": 0,
             "next_attempt_at": now, "created_at": now} for name in dict.fromkeys(channels)]
    if rows:
        if session.new:
            session.flush()  # the request a notification refers to may be pending still
        # one Core statement: the unit of work's flush costs more than the insert itself
        session.connection().execute(_INSERT, rows if len(rows) > 1 else rows[0])
    return len(rows)
