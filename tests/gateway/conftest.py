"""Gateway fixtures: a real database and checkpointer per backend, real policies, a fake clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from oversight import db
from oversight.auth.identity import Principal
from oversight.gateway.checkpointer import open_checkpointer
from oversight.gateway.service import Gateway
from oversight.policy import load_policy_set

POLICIES = Path(__file__).parent / "data" / "policies"
ISSUER = "https://idp.test"


def person(subject: str, *roles: str, amr: tuple[str, ...] = ("pwd",), acr: str | None = None,
           issuer: str = ISSUER) -> Principal:
    return Principal(issuer=issuer, subject=subject, name=subject.title(),
                     roles=frozenset(roles), amr=frozenset(amr), acr=acr,
                     auth_time=int(dt.datetime(2026, 11, 25, 9, tzinfo=dt.UTC).timestamp()))


RILEY = person("riley", "requester")
DANA = person("dana", "dba", amr=("pwd", "mfa"))
DMITRI = person("dmitri", "dba", amr=("pwd", "mfa"))
DORA_NO_MFA = person("dora", "dba")
OLGA = person("olga", "operator")
TARA = person("tara")


class Clock:
    """A clock the tests move by hand."""

    def __init__(self) -> None:
        self.now = dt.datetime(2026, 11, 25, 9, 30, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture(scope="module")
def engine(database_url: str) -> Engine:
    return db.create_db_engine(database_url)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def gateway(database_url: str, engine: Engine, clock: Clock) -> AsyncIterator[Gateway]:
    from oversight.demo.graphs import TRAVEL_RESUME_VALUES, sql_agent, travel

    policy = load_policy_set([POLICIES])
    async with open_checkpointer(database_url) as checkpointer:
        gw = Gateway(sessions=db.session_factory(engine), checkpointer=checkpointer,
                     evaluate=policy.evaluate, clock=clock)
        gw.register("sql_agent", sql_agent)
        gw.register("travel", travel, resume_values=TRAVEL_RESUME_VALUES,
                    actions={"approval": "travel.book"})
        yield gw
