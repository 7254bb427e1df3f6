"""What each channel a policy names is: a webhook, a Slack incoming webhook, or e-mail.

Configured as JSON in ``OVERSIGHT_NOTIFY_CHANNELS``, for example::

    {"dba-oncall": {"kind": "slack", "url": "https://hooks.slack.com/services/…"},
     "audit-hook": {"kind": "webhook", "url": "https://hooks.acme.example/oversight",
                    "secret": "…"},
     "security": {"kind": "email", "to": ["security@acme.example"],
                  "from": "oversight@acme.example", "smtp_host": "smtp.acme.example"}}

A channel URL (a Slack webhook's especially) is a secret: it is never logged or recorded;
errors name the host only. Messages never hold the payload, and the agent's summary only
where the channel says ``"include_summary": true``.
"""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator


class _Channel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    #: Say what the agent's summary of the request says. Off by default: the summary is the
    #: agent's own text and may name people or data; a chat room or a mailbox is read by
    #: more people than the inbox shows the request to.
    include_summary: bool = False


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("expected an http:// or https:// URL")
    return value


class WebhookChannel(_Channel):
    """POST the notification as JSON; signed with HMAC-SHA-256 when ``secret`` is set."""

    kind: Literal["webhook"]
    url: str
    secret: SecretStr | None = None
    headers: dict[str, str] = {}

    _check_url = field_validator("url")(_http_url)


class SlackChannel(_Channel):
    """POST ``{"text": …}`` to a Slack (or Mattermost, or Teams workflow) incoming webhook."""

    kind: Literal["slack"]
    url: str

    _check_url = field_validator("url")(_http_url)


class EmailChannel(_Channel):
    """Send a plain-text e-mail through an SMTP relay."""

    kind: Literal["email"]
    to: list[str] = Field(min_length=1)
    from_address: str = Field(alias="from")
    smtp_host: str
    smtp_port: int = Field(default=587, gt=0, lt=65536)
    starttls: bool = True
    username: str | None = None
    password: SecretStr | None = None


class LogChannel(_Channel):
    """Write the message to the server's log (event ``notify.message``): for development, or
    for a log pipeline that alerts by itself."""

    kind: Literal["log"]


ChannelConfig = Annotated[WebhookChannel | SlackChannel | EmailChannel | LogChannel,
                          Field(discriminator="kind")]


def host_of(url: str) -> str:
    """The host of a channel URL, which is what errors may name."""
    return urlsplit(url).netloc.rsplit("@", 1)[-1]
