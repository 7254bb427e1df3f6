"""Reading what the gateway recorded, for assertions."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from oversight.ledger import service as ledger


def records(sessions: sessionmaker[Session], thread_id: str) -> list[dict[str, Any]]:
    """The thread's ledger records in append order (sealed or still queued)."""
    with sessions() as session:
        return ledger.recorded(session, thread_id=thread_id)


def actions(sessions: sessionmaker[Session], thread_id: str) -> list[str]:
    """Only the actions, in order."""
    return [r["action"] for r in records(sessions, thread_id)]
