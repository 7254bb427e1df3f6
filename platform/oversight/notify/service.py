"""Queueing notifications in the caller's transaction (services flush, the edge commits)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.orm import Session

from oversight.notify.models import QUEUED, Notification

EVENTS = ("approval.requested", "request.escalated")


def enqueue(session: Session, *, channels: Iterable[str], event: str, facts: Mapping[str, Any],
            approval_id: str | None, thread_id: str | None, now: dt.datetime) -> int:
    """Queue one notification a channel (each channel once); returns how many were queued.

    ``facts`` are what the message states (action, graph, summary, rule, who must approve,
    deadline…): never the payload, which may hold personal data.
    """
    if event not in EVENTS:
        raise ValueError(f"unknown notification event {event!r}")
    message = json.dumps({"event": event, **facts}, sort_keys=True)
    names = list(dict.fromkeys(channels))
    for name in names:
        session.add(Notification(channel=name, event=event, approval_id=approval_id,
                                 thread_id=thread_id, message=message, status=QUEUED,
                                 attempts=0, next_attempt_at=now, created_at=now))
    if names:
        session.flush()
    return len(names)
