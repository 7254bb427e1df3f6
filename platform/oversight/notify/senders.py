"""Sending one message through one channel; a failure raises ``DeliveryFailed`` naming the
host, never the URL (a webhook URL is a secret)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import smtplib
from email.message import EmailMessage

import httpx

from oversight.logs import get_logger
from oversight.notify.channels import (
    ChannelConfig,
    EmailChannel,
    LogChannel,
    SlackChannel,
    host_of,
)
from oversight.notify.messages import Message

log = get_logger("notify")


class DeliveryFailed(Exception):
    """The channel did not take the message."""


async def send(channel: ChannelConfig, message: Message, *, timeout: float) -> None:
    """Deliver ``message`` through ``channel`` or raise ``DeliveryFailed``."""
    if isinstance(channel, EmailChannel):
        await asyncio.to_thread(_send_email, channel, message, timeout)
        return
    if isinstance(channel, LogChannel):
        log.info("notify.message", title=message.title, text=message.text,
                 channel=message.body["channel"], notification=message.body["id"])
        return
    if isinstance(channel, SlackChannel):
        text = f"*{message.title}*\n{message.text}"
        body = json.dumps({"text": text}).encode()
        headers = {"Content-Type": "application/json"}
    else:
        body = json.dumps(message.body, sort_keys=True).encode()
        headers = {**channel.headers, "Content-Type": "application/json",
                   "X-Oversight-Event": str(message.body["event"]),
                   "X-Oversight-Delivery": str(message.body["id"])}
        if channel.secret is not None:
            digest = hmac.new(channel.secret.get_secret_value().encode(), body,
                              hashlib.sha256).hexdigest()
            headers["X-Oversight-Signature"] = f"sha256={digest}"
    host = host_of(channel.url)
    try:
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
            response = await client.post(channel.url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        raise DeliveryFailed(f"{type(exc).__name__} reaching {host}") from None
    if not 200 <= response.status_code < 300:
        raise DeliveryFailed(f"HTTP {response.status_code} from {host}")


def _send_email(channel: EmailChannel, message: Message, timeout: float) -> None:
    mail = EmailMessage()
    mail["Subject"] = message.title
    mail["From"] = channel.from_address
    mail["To"] = ", ".join(channel.to)
    mail.set_content(message.text + "\n")
    try:
        with smtplib.SMTP(channel.smtp_host, channel.smtp_port, timeout=timeout) as smtp:
            if channel.starttls:
                smtp.starttls()
            if channel.username and channel.password is not None:
                smtp.login(channel.username, channel.password.get_secret_value())
            smtp.send_message(mail)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryFailed(f"{type(exc).__name__} from SMTP relay {channel.smtp_host}: "
                             f"{exc}") from None
