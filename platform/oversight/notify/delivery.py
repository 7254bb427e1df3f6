"""Delivering queued notifications.

A notifier claims due notifications with ``FOR UPDATE SKIP LOCKED`` and a lease (several
servers deliver side by side, each notification once), sends them outside any transaction,
then records each outcome in one transaction: ``notification.sent`` in the ledger, or a
retry after an exponential backoff, or, after the last attempt (or at once for a channel
nobody configured), ``notification.failed``. A notifier that dies mid-send leaves its claims
to expire; the next one sends them again, so a receiver may see a notification twice and can
tell by its ``X-Oversight-Delivery`` id.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from oversight.db import utcnow
from oversight.ledger import service as ledger
from oversight.ledger.actors import SystemActor
from oversight.logs import get_logger
from oversight.notify.channels import ChannelConfig
from oversight.notify.messages import render
from oversight.notify.models import FAILED, QUEUED, SENDING, SENT, Notification
from oversight.notify.senders import DeliveryFailed, send

NOTIFIER = SystemActor("notifier")
log = get_logger("notify")


@dataclass(frozen=True)
class _Claimed:
    id: int
    channel: str
    event: str
    facts: dict[str, Any]
    attempts: int
    approval_id: str | None
    thread_id: str | None


@dataclass(frozen=True)
class _Outcome:
    claimed: _Claimed
    kind: str | None  # the channel's kind, None when it is not configured
    error: str | None = None


@dataclass
class DeliverySummary:
    """What one pass did."""

    sent: int = 0
    retried: int = 0
    failed: int = 0


@dataclass
class Notifier:
    """Delivers the outbox through the configured channels."""

    sessions: sessionmaker[Session]
    channels: Mapping[str, ChannelConfig]
    public_url: str | None = None
    clock: Callable[[], dt.datetime] = utcnow
    batch: int = 50
    lease: dt.timedelta = dt.timedelta(minutes=1)
    max_attempts: int = 6
    backoff: dt.timedelta = dt.timedelta(seconds=10)
    timeout: float = 10.0
    parallel: int = 8  # sends under way at once

    async def deliver_due(self) -> DeliverySummary:
        """One pass: claim what is due, send it, record what happened."""
        claimed = await asyncio.to_thread(self._claim)
        if not claimed:
            return DeliverySummary()
        slots = asyncio.Semaphore(self.parallel)

        async def one(item: _Claimed) -> _Outcome:
            async with slots:
                return await self._send(item)

        outcomes = await asyncio.gather(*(one(item) for item in claimed))
        return await asyncio.to_thread(self._record, list(outcomes))

    def _claim(self) -> list[_Claimed]:
        now = self.clock()
        with self.sessions() as session, session.begin():
            rows = session.scalars(
                select(Notification)
                .where(or_(Notification.status == QUEUED, Notification.status == SENDING),
                       Notification.next_attempt_at <= now)
                .order_by(Notification.id).limit(self.batch)
                .with_for_update(skip_locked=True)).all()
            for row in rows:
                row.status, row.attempts = SENDING, row.attempts + 1
                row.next_attempt_at = now + self.lease
            return [_Claimed(id=row.id, channel=row.channel, event=row.event,
                             facts=json.loads(row.message), attempts=row.attempts,
                             approval_id=row.approval_id, thread_id=row.thread_id)
                    for row in rows]

    async def _send(self, item: _Claimed) -> _Outcome:
        channel = self.channels.get(item.channel)
        if channel is None:
            return _Outcome(item, None, f"channel {item.channel!r} is not configured "
                                        "(OVERSIGHT_NOTIFY_CHANNELS)")
        message = render(item.facts, notification_id=item.id, channel=item.channel,
                         public_url=self.public_url, include_summary=channel.include_summary)
        try:
            await send(channel, message, timeout=self.timeout)
        except DeliveryFailed as exc:
            return _Outcome(item, channel.kind, str(exc))
        return _Outcome(item, channel.kind)

    def _record(self, outcomes: list[_Outcome]) -> DeliverySummary:
        summary = DeliverySummary()
        now = self.clock()
        with self.sessions() as session, session.begin():
            rows = {row.id: row for row in session.scalars(
                select(Notification).where(Notification.id.in_(
                    [outcome.claimed.id for outcome in outcomes])).with_for_update())}
            for outcome in outcomes:
                item = outcome.claimed
                row = rows.get(item.id)
                if row is None or row.status != SENDING or row.attempts != item.attempts:
                    continue  # our lease ran out and another notifier took it over
                subject = {"approval": item.approval_id, "thread": item.thread_id,
                           "notification": str(item.id)}
                data = {"channel": item.channel, "kind": outcome.kind, "event": item.event,
                        "attempts": item.attempts}
                if outcome.error is None:
                    row.status, row.sent_at, row.last_error = SENT, now, None
                    ledger.append_record(session, action="notification.sent", actor=NOTIFIER,
                                         subject=subject, time=now, data=data)
                    summary.sent += 1
                    log.info("notify.sent", notification=item.id, channel=item.channel,
                             about=item.event, attempts=item.attempts)
                elif outcome.kind is None or item.attempts >= self.max_attempts:
                    row.status, row.last_error = FAILED, outcome.error
                    ledger.append_record(session, action="notification.failed",
                                         actor=NOTIFIER, subject=subject, time=now,
                                         data={**data, "error": outcome.error})
                    summary.failed += 1
                    log.warning("notify.failed", notification=item.id, channel=item.channel,
                                attempts=item.attempts, error=outcome.error)
                else:
                    delay = min(self.backoff * 2 ** (item.attempts - 1), dt.timedelta(hours=1))
                    row.status, row.last_error = QUEUED, outcome.error
                    row.next_attempt_at = now + delay
                    summary.retried += 1
                    log.warning("notify.retrying", notification=item.id, channel=item.channel,
                                attempts=item.attempts, error=outcome.error,
                                retry_in_s=delay.total_seconds())
        return summary
