"""Browser sessions in the database, shared by every replica of the server.

The row key is the SHA-256 of the session id (``store_key``), never the id itself, so reading
the table yields no cookie that works. Expired rows are never returned and are purged now
and then by the writes. With several replicas, also set ``OVERSIGHT_SESSION_SECRET`` (the
same on all) so that each accepts the cookies the others signed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
from collections.abc import Callable
from typing import Any

from sqlalchemy import String, Text, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from oversight.db import Base, UTCDateTime

PURGE_ONE_IN = 200  # one save in this many also deletes expired rows


class WebSession(Base):
    """One browser session's data (JSON) until ``expires_at``."""

    __tablename__ = "web_session"

    key: Mapped[str] = mapped_column(String(64), primary_key=True, comment="SHA-256 of the id")
    data: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class DatabaseSessionStore:
    """A ``SessionStore`` on the server's database (the factories are read when first used,
    so the store can be made before the application opens its database)."""

    def __init__(self, sessions: Callable[[], sessionmaker[Session]],
                 read_sessions: Callable[[], sessionmaker[Session]] | None = None, *,
                 clock: Callable[[], dt.datetime] = _now) -> None:
        self._sessions = sessions
        self._read_sessions = read_sessions or sessions
        self._clock = clock

    async def load(self, key: str) -> dict[str, Any] | None:
        def work() -> str | None:
            with self._read_sessions()() as session:
                return session.scalar(select(WebSession.data).where(
                    WebSession.key == key, WebSession.expires_at > self._clock()))
        raw = await asyncio.to_thread(work)
        if raw is None:
            return None
        data: dict[str, Any] = json.loads(raw)
        return data

    async def save(self, key: str, data: dict[str, Any], *, max_age: int) -> None:
        now = self._clock()

        def work() -> None:
            with self._sessions()() as session, session.begin():
                session.merge(WebSession(key=key, data=json.dumps(data),
                                         expires_at=now + dt.timedelta(seconds=max_age)))
                if random.randrange(PURGE_ONE_IN) == 0:  # noqa: S311 - not for security
                    session.execute(delete(WebSession).where(WebSession.expires_at <= now))
        await asyncio.to_thread(work)

    async def delete(self, key: str) -> None:
        def work() -> None:
            with self._sessions()() as session, session.begin():
                session.execute(delete(WebSession).where(WebSession.key == key))
        await asyncio.to_thread(work)
