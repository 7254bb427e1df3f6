"""Tables the gateway owns: threads (their ids are ours) and resume jobs."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from oversight.db import Base, UTCDateTime


class Thread(Base):
    """A LangGraph thread started through the gateway.

    ``status``: ``running`` | ``waiting`` (on a decision) | ``completed`` | ``failed`` |
    ``rejected`` (a breakpoint was refused) | ``expired`` | ``cancelled``.
    """

    __tablename__ = "thread"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    graph: Mapped[str] = mapped_column(String(200), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    requester_issuer: Mapped[str | None] = mapped_column(String(300))
    requester_subject: Mapped[str | None] = mapped_column(String(300))
    requester: Mapped[str | None] = mapped_column(Text, comment="JSON of the requester identity")
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class ResumeJob(Base):
    """Resume one interrupt of one thread, once: ``queued`` → ``running`` → ``done``|``failed``.

    A runner claims a job with ``FOR UPDATE SKIP LOCKED`` and a lease; a job whose lease ran
    out (its runner died) is claimed again, and the pending check against the checkpointer
    makes the retry harmless.
    """

    __tablename__ = "resume_job"
    __table_args__ = (
        UniqueConstraint("thread_id", "interrupt_id"),
        Index("ix_resume_job_claimable", "status", "lease_until"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    thread_id: Mapped[str] = mapped_column(ForeignKey("thread.id"), index=True)
    interrupt_id: Mapped[str] = mapped_column(String(200))
    value: Mapped[str | None] = mapped_column(Text, comment="JSON resume value; null: run on")
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
