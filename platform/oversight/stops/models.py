"""Stops: while a stop is active, its scope starts no run and resumes nothing."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from oversight.db import Base, UTCDateTime


class Stop(Base):
    """A stop of ``scope`` ``thread`` | ``graph`` | ``all`` (``target`` names the thread or
    graph); active until ``lifted_at`` is set."""

    __tablename__ = "stop"
    __table_args__ = (Index("ix_stop_active", "lifted_at", "scope", "target"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    scope: Mapped[str] = mapped_column(String(10))
    target: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(600))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    lifted_by: Mapped[str | None] = mapped_column(String(600))
    lifted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    lift_reason: Mapped[str | None] = mapped_column(Text)
