"""Reading what the gateway recorded, for assertions."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from oversight.ledger.models import LedgerQueueEntry, LedgerRecord


def records(sessions: sessionmaker[Session], thread_id: str) -> list[dict[str, Any]]:
    """The thread's ledger records in append order (sealed or still queued)."""
    with sessions() as session:
        sealed = [json.loads(line) for line in session.scalars(
            select(LedgerRecord.line).where(LedgerRecord.thread_id == thread_id)
            .order_by(LedgerRecord.seq))]
        queued = [json.loads(fields) for fields in session.scalars(
            select(LedgerQueueEntry.fields).order_by(LedgerQueueEntry.id))]
    return sealed + [r for r in queued if r["subject"].get("thread") == thread_id]


def actions(sessions: sessionmaker[Session], thread_id: str) -> list[str]:
    """Only the actions, in order."""
    return [r["action"] for r in records(sessions, thread_id)]
