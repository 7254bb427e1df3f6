"""``oversight notify channels|test`` against a real receiver on loopback."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from oversight.cli import app
from tests.notify.receivers import http_receiver


def test_channels_are_listed_without_secrets_and_a_test_message_is_sent(monkeypatch):
    runner = CliRunner()
    with http_receiver() as hook:
        monkeypatch.setenv("OVERSIGHT_NOTIFY_CHANNELS", json.dumps({
            "dba-oncall": {"kind": "slack", "url": hook.url + "/services/T0/B0/SECRET"},
            "dev": {"kind": "log"}}))
        listed = runner.invoke(app, ["notify", "channels"])
        sent = runner.invoke(app, ["notify", "test", "dba-oncall"])
    assert listed.exit_code == 0, listed.output
    assert f"dba-oncall\tslack\t{hook.url[7:]}" in listed.output
    assert "dev\tlog\tthe server's log" in listed.output and "SECRET" not in listed.output
    assert sent.exit_code == 0 and "sent a test message to dba-oncall (slack)" in sent.output
    [got] = hook.received
    assert got.path == "/services/T0/B0/SECRET"
    assert got.json()["text"].startswith("*Test notification from Oversight*")


def test_an_unknown_channel_and_a_refusing_receiver_say_what_is_wrong(monkeypatch):
    runner = CliRunner()
    with http_receiver() as hook:
        hook.statuses = [404]
        monkeypatch.setenv("OVERSIGHT_NOTIFY_CHANNELS", json.dumps({
            "hook": {"kind": "webhook", "url": hook.url + "/wrong"}}))
        unknown = runner.invoke(app, ["notify", "test", "dba"])
        refused = runner.invoke(app, ["notify", "test", "hook"])
    assert unknown.exit_code == 2
    assert "no channel 'dba' in OVERSIGHT_NOTIFY_CHANNELS (configured: hook)" in unknown.output
    assert refused.exit_code == 1
    assert f"hook (webhook) did not take the message: HTTP 404 from {hook.url[7:]}" in \
        refused.output
