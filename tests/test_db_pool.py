"""Pooled PostgreSQL connections: pinged when they sat idle, used at once otherwise."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from oversight import db


@pytest.fixture
def pg_url(pg_server) -> str:
    return pg_server.create_database()


def _backend_pid(engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(text("SELECT pg_backend_pid()")))


def _terminate(url: str, pid: int) -> None:
    killer = db.create_db_engine(url)
    with killer.connect() as conn:
        assert conn.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    killer.dispose()


def test_a_connection_idle_past_the_threshold_is_pinged_and_replaced(pg_url, monkeypatch):
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)
    engine = db.create_db_engine(pg_url, pool_size=1, max_overflow=0)
    first = _backend_pid(engine)
    _terminate(pg_url, first)  # the server ends the session while it sits in the pool
    second = _backend_pid(engine)  # the ping finds it dead: a new connection, no error
    assert second != first
    engine.dispose()


def test_a_connection_returned_a_moment_ago_is_not_pinged(pg_url, monkeypatch):
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 3600.0)
    engine = db.create_db_engine(pg_url, pool_size=1, max_overflow=0)
    _terminate(pg_url, _backend_pid(engine))
    # no ping within the threshold: the dead connection is handed out and the statement
    # fails (the pool then discards it, and the next checkout connects afresh)
    with pytest.raises(OperationalError):
        _backend_pid(engine)
    assert _backend_pid(engine) > 0
    engine.dispose()


def test_pool_pre_ping_still_works_when_asked_for(pg_url):
    engine = db.create_db_engine(pg_url, pool_size=1, max_overflow=0, pool_pre_ping=True)
    first = _backend_pid(engine)
    _terminate(pg_url, first)
    assert _backend_pid(engine) != first
    engine.dispose()
