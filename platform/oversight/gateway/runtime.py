"""Assemble a running gateway from settings: database, checkpointer, policies, graphs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from oversight.config import Settings
from oversight.gateway.checkpointer import open_checkpointer
from oversight.gateway.registration import PolicyEvaluator
from oversight.gateway.service import Gateway
from oversight.policy import PolicySet, load_policy_set


def shipped_policies() -> Path:
    """The rules shipped with Oversight: inside the wheel, or at the top of a checkout."""
    here = Path(__file__).resolve().parents[1]
    for candidate in (here / "_policies", here.parent.parent / "policies"):
        if (candidate / "default.yaml").is_file():
            return candidate
    raise FileNotFoundError("the shipped policies folder was not found next to the package")


def load_policies(settings: Settings) -> PolicySet:
    """The policy set the settings name (default: the shipped rules)."""
    return load_policy_set(policy_paths(settings))


def policy_paths(settings: Settings) -> list[Path]:
    """The policy files or folders in force (default: the shipped rules)."""
    return list(settings.policy_paths or [shipped_policies()])


@asynccontextmanager
async def open_gateway(
    settings: Settings, sessions: sessionmaker[Session], *,
    evaluate: PolicyEvaluator | None = None, **options: object,
) -> AsyncIterator[Gateway]:
    """A gateway with the configured graphs registered; closes its checkpointer on exit."""
    evaluate = evaluate or load_policies(settings).evaluate
    async with open_checkpointer(settings.resolved_database_url) as checkpointer:
        gateway = Gateway(sessions=sessions, checkpointer=checkpointer, evaluate=evaluate,
                          **options)  # type: ignore[arg-type]
        for name, target in settings.graphs.items():
            gateway.register(name, target)
        yield gateway
