"""The LangGraph checkpointer the gateway compiles every graph with, in our own database.

SQLite URLs get ``AsyncSqliteSaver`` on an ``aiosqlite`` connection in WAL mode with a busy
timeout (our own engine shares the file); PostgreSQL URLs get ``AsyncPostgresSaver`` on a
``psycopg_pool.AsyncConnectionPool`` with autocommit, ``prepare_threshold=0`` and dict rows,
as ``langgraph-checkpoint-postgres`` requires. Tables are set up on open.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.engine import make_url

from oversight.db import SQLITE_BUSY_TIMEOUT_MS, is_postgres, libpq_url


async def release_abandoned_writes(checkpointer: BaseCheckpointSaver[str]) -> None:
    """Roll back a checkpointer transaction a cancelled or failed run left open.

    When a run stops mid-step (a node failed, or the gateway stopped a run that swallowed its
    interrupt), LangGraph may cancel a SQLite write between its INSERT and its COMMIT; the
    connection then holds the database's write lock and every other writer waits. Rolling
    back returns the thread to its last committed checkpoint. PostgreSQL connections are in
    autocommit mode and need nothing.
    """
    if isinstance(checkpointer, AsyncSqliteSaver):
        async with checkpointer.lock:
            if checkpointer.conn.in_transaction:
                await checkpointer.conn.rollback()


@asynccontextmanager
async def open_checkpointer(url: str, *, pool_size: int = 10) -> AsyncIterator[BaseCheckpointSaver[str]]:
    """Open the checkpointer for ``url`` and close it (and its connections) on exit."""
    if is_postgres(url):
        pool: AsyncConnectionPool = AsyncConnectionPool(
            libpq_url(url),
            min_size=1,
            max_size=pool_size,
            kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
            open=False,
        )
        await pool.open(wait=True)
        try:
            saver = AsyncPostgresSaver(pool)  # type: ignore[arg-type]
            await saver.setup()
            yield saver
        finally:
            await pool.close()
        return
    database = make_url(url).database or ":memory:"
    if database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    conn = await aiosqlite.connect(database, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
    try:
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        saver_sqlite = AsyncSqliteSaver(conn)
        await saver_sqlite.setup()
        yield saver_sqlite
    finally:
        await conn.close()
