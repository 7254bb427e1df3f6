"""``oversight notify``: the configured notification channels, and a test message to one."""

from __future__ import annotations

import asyncio

import typer

from oversight.cli.context import command_context, fail
from oversight.notify.channels import EmailChannel, LogChannel, host_of
from oversight.notify.messages import Message
from oversight.notify.senders import DeliveryFailed, send

app = typer.Typer(help="Notification channels (OVERSIGHT_NOTIFY_CHANNELS).",
                  no_args_is_help=True)


@app.command("channels")
def channels() -> None:
    """List the configured channels: name, kind and where they deliver (never a secret)."""
    configured = command_context().settings.notify_channels
    if not configured:
        typer.echo("no channels configured (set OVERSIGHT_NOTIFY_CHANNELS)")
        return
    for name, channel in sorted(configured.items()):
        if isinstance(channel, EmailChannel):
            where = f"{', '.join(channel.to)} via {channel.smtp_host}:{channel.smtp_port}"
        elif isinstance(channel, LogChannel):
            where = "the server's log"
        else:
            where = host_of(channel.url)
        typer.echo(f"{name}\t{channel.kind}\t{where}")


@app.command("test")
def send_test(channel: str = typer.Argument(..., help="A channel name, as policies name it.")) -> None:
    """Send a test message through CHANNEL now (not queued, not recorded)."""
    configured = command_context().settings.notify_channels
    target = configured.get(channel)
    if target is None:
        known = ", ".join(sorted(configured)) or "none"
        raise fail(f"error: no channel {channel!r} in OVERSIGHT_NOTIFY_CHANNELS "
                   f"(configured: {known})", code=2)
    title = "Test notification from Oversight"
    text = f"A test of channel {channel}, sent by `oversight notify test`."
    message = Message(title=title, text=text, link=None, body={
        "id": 0, "event": "notification.test", "channel": channel, "title": title,
        "text": text, "url": None})
    try:
        asyncio.run(send(target, message, timeout=10.0))
    except DeliveryFailed as exc:
        raise fail(f"error: {channel} ({target.kind}) did not take the message: {exc}") from exc
    typer.echo(f"sent a test message to {channel} ({target.kind})")
