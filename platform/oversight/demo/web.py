"""The demo in the browser: the server with the development provider, the demo graphs, and the
reference scenarios' requests waiting in the inbox.

DEVELOPMENT ONLY: anyone who reaches the development provider signs in as any demo user.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from sqlalchemy import func, select

from oversight.api.app import create_app
from oversight.approvals.models import ApprovalRequest
from oversight.auth.settings import AuthSettings
from oversight.config import Settings
from oversight.demo.graphs import TRAVEL_RESUME_VALUES, sql_agent, support_reply, travel
from oversight.demo.users import demo_user
from oversight.gateway.service import Gateway
from oversight.logs import get_logger
from oversight.notify.channels import LogChannel

log = get_logger("demo")


@dataclass(frozen=True)
class Waiting:
    """A run the demo starts so that its request waits in the inbox."""

    requester: str
    graph: str
    input: dict[str, Any]
    who_decides: str


WAITING = [
    Waiting("riley", "sql_agent", {"request": "delete the users inactive since 2025",
                                   "database": "production"}, "a DBA: dana, dmitri or dora"),
    Waiting("riley", "sql_agent", {"request": "drop the staging_events table",
                                   "database": "production"},
            "two DBAs, each stepping up to MFA and reading for 30 s"),
    Waiting("riley", "travel", {"traveller": "tara", "destination": "Lisbon"},
            "tara, who may change the hotel or the flight"),
    Waiting("tara", "travel", {"traveller": "tara", "destination": "Porto"},
            "adam (an operator): tara may not approve her own trip"),
    Waiting("riley", "support_reply", {"customer": "Ms. Okafor", "question": "a double charge"},
            "rita (a reviewer), who may approve, correct the text, or answer the agent"),
    Waiting("riley", "sql_agent", {"request": "list the active users", "database": "production"},
            "nobody: a read-only SELECT passes by policy (see the audit trail)"),
]


def register_demo_graphs(gateway: Gateway) -> None:
    gateway.register("sql_agent", sql_agent)
    gateway.register("travel", travel, resume_values=TRAVEL_RESUME_VALUES,
                     actions={"approval": "travel.book"})
    gateway.register("support_reply", support_reply)


def seed(issuer: str) -> Any:
    """An ``on_ready`` hook: start the waiting runs, unless requests already wait."""

    async def ready(gateway: Gateway) -> None:
        def pending() -> int:
            with gateway.sessions() as session:
                return int(session.scalar(select(func.count()).select_from(ApprovalRequest)
                                          .where(ApprovalRequest.status == "pending")) or 0)

        waiting = pending()
        if waiting:
            log.info("demo.seed.skipped", pending=waiting, note="requests of an earlier run wait")
            return
        for run in WAITING:
            who = demo_user(run.requester, signed_in_at=gateway.clock(), issuer=issuer)
            view = await gateway.start(run.graph, run.input, requester=who)
            log.info("demo.seeded", graph=run.graph, thread=view.id, status=view.status,
                     pending=[p.action for p in view.pending])

    return ready


DEMO_CHANNELS = ("dba-oncall", "dba", "traveller-email", "admins")


def demo_app(settings: Settings, *, host: str, port: int) -> tuple[FastAPI, AuthSettings]:
    """The server for ``oversight demo``, with the development provider at its own address."""
    auth = AuthSettings().for_development(f"http://{host}:{port}")
    assert auth.oidc_issuer is not None
    if not settings.notify_channels:  # the shipped rules' channels print on the terminal
        settings = settings.model_copy(update={"notify_channels": {
            name: LogChannel(kind="log") for name in DEMO_CHANNELS}})
    app = create_app(settings, auth=auth, setup_graphs=register_demo_graphs,
                     on_ready=seed(auth.oidc_issuer))
    return app, auth
