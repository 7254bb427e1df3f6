"""The notifier against real receivers on loopback, on SQLite and PostgreSQL: webhooks
(signed), Slack-style webhooks and e-mail; retries with backoff; giving up, recorded; a
channel nobody configured; leases taken over; two notifiers sending each notification once."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
from email import message_from_bytes

import pytest
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import delete, select

from oversight import db
from oversight.config import load_settings
from oversight.ledger import service as ledger
from oversight.ledger.models import LedgerQueueEntry
from oversight.notify import service as notify
from oversight.notify.channels import ChannelConfig
from oversight.notify.delivery import Notifier
from oversight.notify.models import Notification
from tests.notify.receivers import http_receiver, smtp_server

START = dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.UTC)
CHANNELS = TypeAdapter(dict[str, ChannelConfig])
FACTS = {"approval": "6f1d2c3b-0a9e-4f8d-b7c6-5a4b3c2d1e0f", "thread": "t-1",
         "graph": "sql_agent", "action": "sql.execute", "summary": "Delete 1,204 inactive users",
         "rule": "sql-change-data", "approvers": "1 of dba",
         "deadline": "2026-12-03T13:00:00+00:00"}


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture(scope="module")
def engine(database_url):
    engine = db.create_db_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine):
    factory = db.session_factory(engine)
    with factory() as session, session.begin():
        session.execute(delete(Notification))
        session.execute(delete(LedgerQueueEntry))
    return factory


@pytest.fixture
def clock():
    return Clock()


def queue(sessions, *channels, event="approval.requested", **extra):
    with sessions() as session, session.begin():
        return notify.enqueue(session, channels=channels, event=event, facts={**FACTS, **extra},
                              approval_id=FACTS["approval"], thread_id="t-1", now=START)


def rows(sessions):
    with sessions() as session:
        return list(session.scalars(select(Notification).order_by(Notification.id)))


def recorded(sessions, action):
    with sessions() as session:
        return ledger.recorded(session, action=action)


def notifier(sessions, clock, channels, **options):
    return Notifier(sessions, CHANNELS.validate_python(channels),
                    public_url="https://oversight.acme.example", clock=clock, **options)


async def test_a_signed_webhook_and_a_slack_message(sessions, clock):
    with http_receiver() as hook, http_receiver() as slack:
        sender = notifier(sessions, clock, {
            "audit-hook": {"kind": "webhook", "url": hook.url + "/in", "secret": "s3cret",
                           "headers": {"X-Team": "dba"}},
            "dba-oncall": {"kind": "slack", "url": slack.url + "/services/T0/B0/XYZ",
                           "include_summary": True}})
        assert queue(sessions, "audit-hook", "dba-oncall", "audit-hook") == 2  # each once
        summary = await sender.deliver_due()
    assert (summary.sent, summary.retried, summary.failed) == (2, 0, 0)
    [got] = hook.received
    body = got.json()
    assert got.path == "/in" and got.headers["X-Team"] == "dba"
    assert body["event"] == "approval.requested" and body["action"] == "sql.execute"
    assert body["url"] == f"https://oversight.acme.example/requests/{FACTS['approval']}"
    assert got.headers["X-Oversight-Delivery"] == str(body["id"])
    # the agent's summary is its own text: said only where the channel opts in
    assert "summary" not in body and body["title"] == "Approval needed: sql.execute in sql_agent"
    expected = hmac.new(b"s3cret", got.body, hashlib.sha256).hexdigest()
    assert got.headers["X-Oversight-Signature"] == f"sha256={expected}"
    [chat] = slack.received
    text = chat.json()["text"]
    assert text.startswith("*Approval needed: Delete 1,204 inactive users*")
    assert "Who must approve: 1 of dba" in text and "/requests/" in text
    assert [r.status for r in rows(sessions)] == ["sent", "sent"]
    sent = recorded(sessions, "notification.sent")
    assert sorted((r["data"]["channel"], r["data"]["kind"]) for r in sent) == [
        ("audit-hook", "webhook"), ("dba-oncall", "slack")]
    assert all(r["actor"] == {"type": "system", "id": "system:notifier"} for r in sent)
    assert {r["subject"]["approval"] for r in sent} == {FACTS["approval"]}
    assert await sender.deliver_due() == type(summary)()  # nothing twice


async def test_an_e_mail_through_an_smtp_relay(sessions, clock):
    with smtp_server() as mailbox:
        sender = notifier(sessions, clock, {"security": {
            "kind": "email", "to": ["security@acme.example", "soc@acme.example"],
            "from": "oversight@acme.example", "smtp_host": "127.0.0.1",
            "smtp_port": mailbox.port, "starttls": False}})
        queue(sessions, "security", event="request.escalated", step=1, steps=2)
        assert (await sender.deliver_due()).sent == 1
    [envelope] = mailbox.messages
    assert envelope.rcpt_tos == ["security@acme.example", "soc@acme.example"]
    mail = message_from_bytes(envelope.content)
    assert mail["Subject"] == "Escalated (step 1 of 2): approval needed: sql.execute in sql_agent"
    assert "Deadline: 2026-12-03T13:00:00+00:00" in mail.get_payload()


async def test_a_failing_receiver_is_retried_with_backoff_then_given_up(sessions, clock):
    with http_receiver() as hook:
        hook.statuses = [503, 500, 502]
        sender = notifier(sessions, clock, {"hook": {"kind": "webhook",
                                                     "url": hook.url + "/secret-path"}},
                          max_attempts=3)
        queue(sessions, "hook")
        assert (await sender.deliver_due()).retried == 1
        [row] = rows(sessions)
        assert (row.status, row.attempts, row.last_error) == ("queued", 1, "HTTP 503 from "
                                                             f"{hook.url[7:]}")
        assert row.next_attempt_at == START + dt.timedelta(seconds=10)
        assert (await sender.deliver_due()).retried == 0  # not due yet
        clock.now = START + dt.timedelta(seconds=10)
        assert (await sender.deliver_due()).retried == 1
        assert rows(sessions)[0].next_attempt_at == clock.now + dt.timedelta(seconds=20)
        clock.now += dt.timedelta(seconds=20)
        assert (await sender.deliver_due()).failed == 1
    assert len(hook.received) == 3
    [row] = rows(sessions)
    assert (row.status, row.attempts) == ("failed", 3)
    [failed] = recorded(sessions, "notification.failed")
    assert failed["data"]["error"] == f"HTTP 502 from {hook.url[7:]}"
    assert "secret-path" not in str(failed)  # the URL is a secret; the host is not
    assert recorded(sessions, "notification.sent") == []


async def test_a_channel_nobody_configured_fails_at_once_and_is_recorded(sessions, clock):
    queue(sessions, "dba")
    summary = await notifier(sessions, clock, {}).deliver_due()
    assert (summary.sent, summary.failed) == (0, 1)
    [failed] = recorded(sessions, "notification.failed")
    assert failed["data"]["kind"] is None
    assert "'dba' is not configured" in failed["data"]["error"]


async def test_an_unreachable_host_is_named_in_the_error(sessions, clock):
    with http_receiver() as gone:
        url = gone.url
    sender = notifier(sessions, clock, {"hook": {"kind": "slack", "url": url + "/T/B/C"}},
                      max_attempts=1)
    queue(sessions, "hook")
    assert (await sender.deliver_due()).failed == 1
    error = rows(sessions)[0].last_error
    assert error == f"ConnectError reaching {url[7:]}"


async def test_a_lease_that_ran_out_is_taken_over_and_recorded_once(sessions, clock):
    with http_receiver() as hook:
        channels = {"hook": {"kind": "webhook", "url": hook.url}}
        first, second = notifier(sessions, clock, channels), notifier(sessions, clock, channels)
        queue(sessions, "hook")
        claimed = first._claim()  # the first notifier claims, then stalls past its lease
        clock.now = START + dt.timedelta(minutes=2)
        assert (await second.deliver_due()).sent == 1
        late = await first._send(claimed[0])
        assert first._record([late]).sent == 0  # the row is no longer its claim
    assert len(hook.received) == 2  # sent twice, recorded once: receivers dedupe by id
    assert len({r.headers["X-Oversight-Delivery"] for r in hook.received}) == 1
    assert len(recorded(sessions, "notification.sent")) == 1


async def test_two_notifiers_at_once_send_each_notification_once(sessions, clock):
    with http_receiver() as hook:
        channels = {f"hook-{n}": {"kind": "webhook", "url": hook.url} for n in range(30)}
        queue(sessions, *channels)
        first = notifier(sessions, clock, channels, batch=10)
        second = notifier(sessions, clock, channels, batch=10)
        while True:
            a, b = await asyncio.gather(first.deliver_due(), second.deliver_due())
            if a.sent + b.sent == 0:
                break
    ids = sorted(int(r.headers["X-Oversight-Delivery"]) for r in hook.received)
    assert len(ids) == 30 and len(set(ids)) == 30
    assert len(recorded(sessions, "notification.sent")) == 30


def test_channel_settings_are_checked_with_the_member_that_is_wrong(monkeypatch):
    with pytest.raises(ValidationError) as bad:
        CHANNELS.validate_python({"x": {"kind": "webhook", "url": "ftp://nope"}})
    assert "x.webhook.url" in str(bad.value) and "expected an http:// or https:// URL" in str(
        bad.value)
    with pytest.raises(ValidationError) as unknown:
        CHANNELS.validate_python({"x": {"kind": "pager", "url": "https://p.example"}})
    assert "webhook" in str(unknown.value) and "slack" in str(unknown.value)
    with pytest.raises(ValidationError):
        CHANNELS.validate_python({"x": {"kind": "email", "to": [], "from": "a@b",
                                        "smtp_host": "h"}})
    monkeypatch.setenv("OVERSIGHT_NOTIFY_CHANNELS", '{"dba": {"kind": "slack"}}')
    with pytest.raises(ValidationError) as missing:
        load_settings()
    assert "notify_channels.dba.slack.url" in str(missing.value)
    assert "Field required" in str(missing.value)


async def test_a_log_channel_writes_the_message_to_the_log(sessions, clock, capsys):
    queue(sessions, "dev")
    summary = await notifier(sessions, clock, {"dev": {"kind": "log"}}).deliver_due()
    assert summary.sent == 1
    [sent] = recorded(sessions, "notification.sent")
    assert sent["data"]["kind"] == "log"
    logged = capsys.readouterr()
    assert "notify.message" in logged.out + logged.err
    assert "Approval needed: sql.execute in sql_agent" in logged.out + logged.err


async def test_metrics_count_what_waits_and_what_was_given_up(sessions, clock):
    from types import SimpleNamespace

    from oversight.api.metrics import DatabaseGauges

    def counts():
        [family] = [f for f in DatabaseGauges(SimpleNamespace(sessions=sessions)).collect()
                    if f.name == "oversight_notifications"]
        return {sample.labels["status"]: sample.value for sample in family.samples}

    queue(sessions, "dba", "dba-oncall")
    assert counts() == {"queued": 2, "sending": 0, "failed": 0}
    await notifier(sessions, clock, {"dba-oncall": {"kind": "log"}}).deliver_due()
    assert counts() == {"queued": 0, "sending": 0, "failed": 1}  # sent ones are not counted
