"""Starting threads and reading back what the sweeper recorded."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from oversight.approvals.models import ApprovalRequest
from oversight.gateway.service import Gateway, ThreadView
from oversight.ledger.models import LedgerQueueEntry
from tests.gateway.conftest import RILEY


async def ask(gateway: Gateway, action: str, **payload: Any) -> ThreadView:
    """Start the ``ask`` graph: one ``request_approval(action=...)``; it waits on people."""
    view = await gateway.start("ask", {"action": action, "payload": payload or {"n": 1}},
                               requester=RILEY)
    assert view.status == "waiting" and len(view.pending) == 1
    return view


def ledger(sessions: sessionmaker[Session], *, action: str | None = None,
           thread: str | None = None) -> list[dict[str, Any]]:
    """Queued ledger records (the tests never seal), optionally of one action or thread."""
    with sessions() as session:
        rows = [json.loads(f) for f in session.scalars(
            select(LedgerQueueEntry.fields).order_by(LedgerQueueEntry.id))]
    return [r for r in rows if (action is None or r["action"] == action)
            and (thread is None or r["subject"].get("thread") == thread)]


def by_sweeper(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r["actor"] == {"type": "system", "id": "system:sweeper"}]


def request_row(sessions: sessionmaker[Session], request_id: str) -> ApprovalRequest:
    with sessions() as session:
        row = session.get(ApprovalRequest, request_id)
        assert row is not None
        return row


async def sweep(sweeper: Any, **options: Any) -> Any:
    """One pass that must not have failed anywhere."""
    summary = await sweeper.run_pass(**options)
    assert summary.errors == 0, summary
    return summary
