"""Sweeper fixtures: a real gateway per backend with short-deadline rules, a clock moved by
hand, and a database emptied before each test (the sweeper acts on every due row it finds)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, text

from oversight import db
from oversight.gateway.checkpointer import open_checkpointer
from oversight.gateway.service import Gateway
from oversight.policy import load_policy_set
from oversight.schema import metadata
from oversight.sweeper import Sweeper
from tests.gateway import graphs
from tests.gateway.conftest import Clock

POLICIES = Path(__file__).parent / "data" / "policies"
CHECKPOINTER_TABLES = ("writes", "checkpoint_writes", "checkpoint_blobs", "checkpoints")


@pytest.fixture(scope="module")
def engine(database_url: str) -> Iterator[Engine]:
    engine = db.create_db_engine(database_url)
    yield engine
    engine.dispose()


def empty_database(engine: Engine) -> None:
    """Delete every row of ours and of the checkpointer's (the schema stays)."""
    present = set(inspect(engine).get_table_names())
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())
        for name in CHECKPOINTER_TABLES:
            if name in present:
                conn.execute(text(f"DELETE FROM {name}"))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def gateway(database_url: str, engine: Engine, clock: Clock) -> AsyncIterator[Gateway]:
    empty_database(engine)
    graphs.EXECUTED.clear()
    policy = load_policy_set([POLICIES])
    async with open_checkpointer(database_url) as checkpointer:
        gw = Gateway(sessions=db.session_factory(engine), checkpointer=checkpointer,
                     evaluate=policy.evaluate, clock=clock)
        gw.register("ask", graphs.ask_graph)
        gw.register("plain", graphs.plain_graph, interrupt_before=["act"])
        yield gw


@pytest.fixture
def sweeper(gateway: Gateway) -> Sweeper:
    return Sweeper(gateway, batch=50, settle=dt.timedelta(seconds=60))
