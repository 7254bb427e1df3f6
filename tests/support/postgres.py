"""A throwaway PostgreSQL cluster for tests and benchmarks.

``initdb`` + ``pg_ctl`` in a temporary directory on a free loopback port. PostgreSQL refuses
to run as root, so as root the server runs as the ``postgres`` user through ``runuser``.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server could be found or started."""


def _find_bindir() -> Path:
    explicit = os.environ.get("OVERSIGHT_TEST_PG_BINDIR")
    candidates = [explicit] if explicit else []
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").is_file():
            return Path(candidate)
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise PostgresUnavailable("no initdb found (looked in /usr/lib/postgresql/*/bin and PATH)")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PostgresServer:
    """A running server: an admin URL and a way to make fresh databases."""

    admin_url: str
    _created: list[str]

    def create_database(self, prefix: str = "oversight_test") -> str:
        """Create an empty database and return its URL."""
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self._created.append(name)
        base, _, _ = self.admin_url.rpartition("/")
        return f"{base}/{name}"

    def drop_databases(self) -> None:
        """Drop every database this object created (on a server we did not start)."""
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            for name in self._created:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._created.clear()


@contextlib.contextmanager
def throwaway_cluster(*, durable: bool = False) -> Iterator[PostgresServer]:
    """Start a cluster in a temporary directory; stop and delete it on exit.

    Commits are not flushed to disk (``fsync=off``, ``synchronous_commit=off``) unless
    ``durable``, which keeps PostgreSQL's defaults, as production runs it."""
    bindir = _find_bindir()
    as_root = os.geteuid() == 0
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    tmp = Path(tempfile.mkdtemp(prefix="oversight-pg-"))
    data, sockets = tmp / "data", tmp / "sock"
    sockets.mkdir()
    if as_root:
        shutil.chown(tmp, "postgres")
        shutil.chown(sockets, "postgres")
    port = _free_port()
    log = tmp / "server.log"

    def run(*args: str) -> None:
        result = subprocess.run([*prefix, *args], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise PostgresUnavailable(
                f"{Path(args[0]).name} failed ({result.returncode}): {result.stderr.strip()}\n{tail}"
            )

    try:
        run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
            "-E", "UTF8", "--no-sync")
        options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c max_connections=200"
        if not durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w",
            "-t", "60", "start")
    except (PostgresUnavailable, FileNotFoundError, KeyError, PermissionError) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise PostgresUnavailable(str(exc)) from exc
    try:
        yield PostgresServer(admin_url=f"postgresql://postgres@127.0.0.1:{port}/postgres", _created=[])
    finally:
        subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w",
                        "stop"], capture_output=True, check=False)
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """``OVERSIGHT_TEST_POSTGRES_URL`` when set, else a throwaway cluster."""
    url = os.environ.get("OVERSIGHT_TEST_POSTGRES_URL")
    if url:
        server = PostgresServer(admin_url=url, _created=[])
        try:
            yield server
        finally:
            server.drop_databases()
        return
    with throwaway_cluster() as server:
        yield server
