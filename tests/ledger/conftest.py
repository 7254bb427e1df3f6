"""Ledger fixtures: a migrated database per module and backend, emptied before each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session, sessionmaker

from oversight import db
from oversight.ledger.actors import SystemActor, UserActor
from oversight.schema import metadata
from oversight_audit import SignerKey

ORIGIN = "oversight.test/ledger"
ALICE = UserActor(issuer="https://idp.test", subject="alice", name="Alice", roles=("dba",),
                  acr="urn:mfa", amr=("pwd", "otp"), auth_time=1_764_000_000)
SYSTEM = SystemActor("test")


def make_signer(seed: int, name: str = ORIGIN) -> SignerKey:
    """A deterministic Ed25519 signer."""
    return SignerKey(name, Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32))


@pytest.fixture(scope="module")
def engine(database_url: str) -> Iterator[Engine]:
    engine = db.create_db_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    """A session factory on an emptied ledger."""
    factory = db.session_factory(engine)
    with factory() as session, session.begin():
        for table in reversed(metadata.sorted_tables):
            session.execute(delete(table))
    return factory


@pytest.fixture
def signer() -> SignerKey:
    return make_signer(7)
