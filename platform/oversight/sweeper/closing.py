"""How the sweeper closes requests and threads, each step one ledger record by ``system:sweeper``.

Every function runs in the caller's transaction on rows the caller has locked; the records it
appends commit or roll back with the change they describe.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy.orm import Session

from oversight.approvals import service as approvals
from oversight.approvals.models import PENDING, ApprovalRequest
from oversight.gateway.models import Thread
from oversight.ledger import service as ledger
from oversight.ledger.actors import SystemActor

SWEEPER = SystemActor("sweeper")
#: A thread in one of these states is never resumed or reconciled again.
TERMINAL_THREADS = ("completed", "failed", "rejected", "expired", "cancelled")


def record(session: Session, request: ApprovalRequest, action: str, *, now: dt.datetime,
           **data: Any) -> None:
    """A record about ``request``: its rule and policy version, and ``data``."""
    ledger.append_record(session, action=action, actor=SWEEPER,
                         subject=approvals.subject_of(request), policy=request.policy_version,
                         time=now, data={"rule": request.rule_id, **data})


def record_thread(session: Session, thread: Thread, action: str, *, now: dt.datetime,
                  **data: Any) -> None:
    """A record about a whole thread."""
    ledger.append_record(session, action=action, actor=SWEEPER,
                         subject={"graph": thread.graph, "thread": thread.id}, time=now,
                         data=data)


def close(session: Session, requests: Iterable[ApprovalRequest], *, status: str, action: str,
          reason: str, now: dt.datetime, **data: Any) -> int:
    """Close ``requests`` with one record each; returns how many were closed."""
    count = 0
    for request in requests:
        request.status, request.closed_at = status, now
        if request.reason is None:
            request.reason = reason
        record(session, request, action, now=now, reason=reason, **data)
        count += 1
    return count


def end_thread(session: Session, thread: Thread, open_requests: Sequence[ApprovalRequest], *,
               status: str, action: str, request_status: str, request_action: str,
               reason: str, now: dt.datetime) -> None:
    """End a thread that cannot go on: close its open requests, set its status, record it."""
    pending = [r for r in open_requests if r.status == PENDING]
    final = [r for r in open_requests if r.status != PENDING]
    close(session, pending, status=request_status, action=request_action, reason=reason, now=now)
    close(session, final, status="closed", action="request.closed", reason=reason, now=now)
    thread.status, thread.updated_at = status, now
    if status == "failed":
        thread.error = reason
    record_thread(session, thread, action, now=now, reason=reason)


def thread_gone(session: Session, thread: Thread, open_requests: Sequence[ApprovalRequest], *,
                now: dt.datetime) -> None:
    """The checkpointer no longer holds the thread (it was deleted): close it for good."""
    end_thread(session, thread, open_requests, status="cancelled", action="run.cancelled",
               request_status="closed", request_action="request.closed", now=now,
               reason="the thread no longer exists in the checkpointer (it was deleted)")


def graph_missing(session: Session, thread: Thread, open_requests: Sequence[ApprovalRequest], *,
                  now: dt.datetime) -> None:
    """The thread's graph is not registered: it can never be resumed; fail it once."""
    end_thread(session, thread, open_requests, status="failed", action="run.failed",
               request_status="cancelled", request_action="request.cancelled", now=now,
               reason=f"graph {thread.graph!r} is not registered, so the thread cannot be "
                      "resumed; register it and start a new thread")
