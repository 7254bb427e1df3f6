"""Starting threads and reading back what the sweeper recorded."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from oversight.approvals.models import ApprovalRequest
from oversight.gateway.registration import ThreadView
from oversight.gateway.service import Gateway
from oversight.ledger import service as ledger_service
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
        return ledger_service.recorded(session, thread_id=thread, action=action)


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
