"""Shared fixtures: a throwaway PostgreSQL cluster, and databases parametrised over backends."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.postgres import PostgresServer, PostgresUnavailable, postgres_server

# The commands and workers the tests start as processes reuse compiled modules: with bytecode
# writing turned off in the environment, each of them would compile the project from source.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
sys.dont_write_bytecode = False

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def unavailable(reason: str) -> None:
    """Skip loudly outside CI; fail under CI, where everything must run."""
    if IN_CI:
        pytest.fail(f"required under CI: {reason}", pytrace=False)
    print(f"\n*** SKIPPING: {reason} ***", file=sys.stderr)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    try:
        with postgres_server() as server:
            yield server
    except PostgresUnavailable as exc:
        unavailable(f"PostgreSQL is not available: {exc}")


@pytest.fixture(scope="session")
def shared_vectors() -> Path:
    path = SHARED / "vectors"
    if not path.is_dir():
        unavailable(f"shared test vectors not found at {path}")
    return path


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """A fresh, migrated database for each test module, once per backend."""
    from oversight import db

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'oversight.db'}"
    else:
        server: PostgresServer = request.getfixturevalue("pg_server")
        url = server.create_database()
    db.upgrade(url)
    return url
