"""What a notification says, for people (title and text) and for machines (JSON)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Message:
    """A rendered notification: ``body`` is what a webhook receives."""

    title: str
    text: str
    link: str | None
    body: dict[str, Any]


def render(facts: dict[str, Any], *, notification_id: int, channel: str,
           public_url: str | None, include_summary: bool = False) -> Message:
    """Turn the facts queued with a notification into its message (the agent's summary
    only with ``include_summary``)."""
    if not include_summary:
        facts = {key: value for key, value in facts.items() if key != "summary"}
    approval = facts.get("approval")
    link = f"{public_url.rstrip('/')}/requests/{approval}" if public_url and approval else None
    what = facts.get("summary") or f"{facts.get('action')} in {facts.get('graph')}"
    if facts["event"] == "request.escalated":
        title = (f"Escalated (step {facts.get('step')} of {facts.get('steps')}): "
                 f"approval needed: {what}")
    else:
        title = f"Approval needed: {what}"
    lines = [f"{facts.get('action')} in graph {facts.get('graph')} "
             f"(rule {facts.get('rule')})",
             f"Who must approve: {facts.get('approvers')}"]
    if facts.get("deadline"):
        lines.append(f"Deadline: {facts['deadline']}")
    if link:
        lines.append(f"Open: {link}")
    body = {"id": notification_id, "channel": channel, "title": title, "url": link,
            **facts}
    return Message(title=title, text="\n".join(lines), link=link, body=body)
