"""The outbox of notifications waiting to be delivered (and the record of those that were)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from oversight.db import Base, UTCDateTime

QUEUED, SENDING, SENT, FAILED = "queued", "sending", "sent", "failed"


class Notification(Base):
    """One message to one channel: ``queued`` → ``sending`` → ``sent`` | ``failed``.

    ``next_attempt_at`` is when it may be tried (again); while ``sending`` it is the end of
    the deliverer's lease, after which another notifier takes it over.
    """

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(200))
    event: Mapped[str] = mapped_column(String(100))
    approval_id: Mapped[str | None] = mapped_column(String(36), index=True)
    thread_id: Mapped[str | None] = mapped_column(String(36))
    message: Mapped[str] = mapped_column(Text, comment="JSON of the facts the message states")
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
