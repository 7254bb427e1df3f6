"""Prometheus metrics: gauges read from the database at scrape time, counters kept here."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import func, select

from oversight.approvals.models import ApprovalRequest
from oversight.db import utcnow
from oversight.ledger.models import LedgerQueueEntry, LedgerRecord
from oversight.notify.models import FAILED, QUEUED, SENDING, Notification
from oversight.stops.models import Stop

CONTENT_TYPE = CONTENT_TYPE_LATEST


class DatabaseGauges:
    """Pending requests, ledger size and seal lag, active stops, notifications: counted when
    scraped."""

    def __init__(self, state: Any) -> None:
        self.state = state

    def collect(self) -> Any:
        with self.state.sessions() as session:
            pending = session.execute(
                select(ApprovalRequest.graph, func.count()).where(
                    ApprovalRequest.status == "pending").group_by(ApprovalRequest.graph)).all()
            size = session.scalar(select(func.max(LedgerRecord.seq)))
            oldest = session.scalar(select(func.min(LedgerQueueEntry.enqueued_at)))
            stops = session.scalar(select(func.count()).select_from(Stop).where(
                Stop.lifted_at.is_(None)))
            notices = session.execute(  # sent ones are history: not counted at every scrape
                select(Notification.status, func.count())
                .where(Notification.status.in_((QUEUED, SENDING, FAILED)))
                .group_by(Notification.status)).all()
        gauge = GaugeMetricFamily("oversight_pending_requests",
                                  "Approval requests waiting on people", labels=["graph"])
        for graph, count in pending:
            gauge.add_metric([graph], count)
        yield gauge
        yield GaugeMetricFamily("oversight_ledger_records", "Sealed ledger records",
                                value=0 if size is None else size + 1)
        lag = 0.0
        if oldest is not None:
            moment = oldest if oldest.tzinfo else oldest.replace(tzinfo=utcnow().tzinfo)
            lag = max((utcnow() - moment).total_seconds(), 0.0)
        yield GaugeMetricFamily("oversight_ledger_seal_lag_seconds",
                                "Age of the oldest record waiting to be sealed", value=lag)
        yield GaugeMetricFamily("oversight_active_stops", "Active stops", value=stops or 0)
        counted = dict(notices)
        notifications = GaugeMetricFamily(
            "oversight_notifications", "Notifications waiting to be sent, being sent, or given "
            "up on (alert on failed)", labels=["status"])
        for status in (QUEUED, SENDING, FAILED):
            notifications.add_metric([status], counted.get(status, 0))
        yield notifications


class Metrics:
    """The registry of one app."""

    def __init__(self, state: Any) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(DatabaseGauges(state))
        self.decisions = Counter("oversight_decisions", "Decisions taken, by kind and result",
                                 ["decision", "result"], registry=self.registry)
        self.decision_latency = Histogram(
            "oversight_decision_latency_seconds", "From request to final decision",
            buckets=(1, 10, 60, 300, 900, 3600, 4 * 3600, 24 * 3600, 7 * 24 * 3600),
            registry=self.registry)
        self.sweeper_actions = Counter("oversight_sweeper_actions", "Sweeper actions",
                                       ["action"], registry=self.registry)


def render(state: Any) -> bytes:
    """The exposition text of the app's registry."""
    registry: CollectorRegistry = state.metrics.registry
    return generate_latest(registry)
