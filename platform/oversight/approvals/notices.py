"""Telling people that a request waits for them: the facts a notification states, queued in
the caller's transaction through ``notify`` (never the payload, which may hold personal data)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from oversight.approvals import rules
from oversight.approvals.models import ApprovalRequest
from oversight.notify import service as notify
from oversight.policy.outcomes import ApproverGroup


def queue_notice(session: Session, request: ApprovalRequest, *, channels: Sequence[str],
                 approvers: Sequence[ApproverGroup], event: str, now: dt.datetime,
                 **extra: Any) -> int:
    """Queue ``event`` about ``request`` to each of ``channels``; returns how many."""
    if not channels:
        return 0
    facts = {"approval": request.id, "thread": request.thread_id, "graph": request.graph,
             "action": request.action, "summary": request.summary, "rule": request.rule_id,
             "approvers": rules.describe_groups(approvers),
             "deadline": request.deadline_at.isoformat() if request.deadline_at else None,
             **extra}
    return notify.enqueue(session, channels=channels, event=event, facts=facts,
                          approval_id=request.id, thread_id=request.thread_id, now=now)
