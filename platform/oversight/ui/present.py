"""Presentation: times, deadlines, payloads, SQL, ledger records and quorums in words.

Pure functions (no database, no request) so that they are easy to test and to reuse in
templates, where they are registered as filters and globals.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

from oversight.approvals import rules
from oversight.auth.identity import Principal
from oversight.policy.outcomes import Requirement

LONG_TEXT = 400
_SQL_START = re.compile(r"(?is)^\s*(select|insert|update|delete|drop|truncate|alter|create|merge|"
                        r"grant|revoke|with)\b")
_SQL_BREAKS = re.compile(
    r"(?i)\s+\b(from|where|group by|order by|having|limit|offset|set|values|returning|"
    r"(?:left |right |inner |outer |full |cross )?join|union(?: all)?|on conflict)\b")
_SQL_KEYWORDS = re.compile(
    r"(?i)\b(select|insert|into|update|delete|drop|table|truncate|alter|create|from|where|and|or|"
    r"not|null|is|in|as|group by|order by|having|limit|offset|set|values|returning|join|left|right|"
    r"inner|outer|on|union|all|distinct|case|when|then|else|end|with|cascade|if exists)\b")


def utc(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def when(moment: dt.datetime | str | None) -> Markup:
    """A ``<time>``: UTC text, turned into the reader's own time zone by the page's script."""
    if moment is None:
        return Markup("—")
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment.replace("Z", "+00:00"))
    moment = utc(moment)
    stamp = moment.strftime("%Y-%m-%d %H:%M:%S UTC")
    return Markup('<time datetime="{iso}" title="{stamp}" data-local>{text}</time>').format(
        iso=moment.isoformat(), stamp=stamp, text=moment.strftime("%Y-%m-%d %H:%M UTC"))


def duration_words(seconds: float) -> str:
    """``3 h 59 min``, ``45 s``, ``2 days 4 h``."""
    seconds = int(abs(seconds))
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} day{'s' if days != 1 else ''}" + (f" {hours} h" if hours else "")
    if hours:
        return f"{hours} h" + (f" {minutes} min" if minutes else "")
    if minutes:
        return f"{minutes} min" + (f" {secs} s" if secs and minutes < 5 else "")
    return f"{secs} s"


def relative(moment: dt.datetime | None, now: dt.datetime) -> str:
    """``in 3 h 59 min`` or ``12 min ago``."""
    if moment is None:
        return "no deadline"
    delta = (utc(moment) - utc(now)).total_seconds()
    return f"in {duration_words(delta)}" if delta >= 0 else f"{duration_words(delta)} ago"


def countdown(moment: dt.datetime | None, now: dt.datetime) -> Markup:
    """A deadline that counts down in the browser (and reads well without script)."""
    if moment is None:
        return Markup("no deadline")
    moment = utc(moment)
    overdue = moment <= utc(now)
    return Markup('<span class="countdown{cls}" data-countdown="{iso}" title="{stamp}">{text}'
                  "</span>").format(cls=" overdue" if overdue else "", iso=moment.isoformat(),
                                    stamp=moment.strftime("%Y-%m-%d %H:%M:%S UTC"),
                                    text=relative(moment, now))


def format_sql(query: str) -> str:
    """One clause a line, keywords upper-cased: easier to read than the agent's one-liner."""
    text = " ".join(query.split())
    text = _SQL_KEYWORDS.sub(lambda m: m.group(0).upper(), text)
    text = _SQL_BREAKS.sub(lambda m: "\n" + m.group(1).upper(), text).strip()
    return text.replace("DELETE\nFROM", "DELETE FROM")


def looks_like_sql(key: str, value: str) -> bool:
    if key.lower() in {"query", "sql", "statement"}:
        return True
    return len(value.split()) >= 3 and bool(_SQL_START.match(value))


@dataclass(frozen=True)
class Field:
    """One top-level payload field, ready for the page."""

    key: str
    kind: str  # sql | long_text | text | json | scalar
    text: str


def payload_fields(payload: Any) -> list[Field]:
    """A payload as fields: SQL formatted, long text folded, nested values as pretty JSON."""
    if not isinstance(payload, dict):
        return [Field("value", "json", json.dumps(payload, indent=2, ensure_ascii=False))]
    fields = []
    for key, value in payload.items():
        if isinstance(value, str):
            if looks_like_sql(key, value):
                fields.append(Field(key, "sql", format_sql(value)))
            elif len(value) > LONG_TEXT or value.count("\n") > 8:
                fields.append(Field(key, "long_text", value))
            else:
                fields.append(Field(key, "text", value))
        elif isinstance(value, dict | list):
            fields.append(Field(key, "json", json.dumps(value, indent=2, ensure_ascii=False)))
        else:
            fields.append(Field(key, "scalar", json.dumps(value, ensure_ascii=False)))
    return fields


def actor_name(actor: Any) -> str:
    """A ledger record's actor for people: a name, else the subject, else the system id."""
    if isinstance(actor, dict):
        if actor.get("type") == "system":
            ident = str(actor.get("id", "?"))
            return ident if ident.startswith("system:") else f"system:{ident}"
        return str(actor.get("name") or actor.get("sub") or actor.get("subject") or "?")
    return str(actor)


_ACTION_WORDS = {
    "run.started": "run started", "run.input": "input sent", "run.completed": "run completed",
    "run.failed": "run failed", "run.cancelled": "run cancelled",
    "interrupt.raised": "interrupt raised", "interrupt.swallowed": "interrupt swallowed",
    "interrupt.recovered": "interrupt recovered", "policy.evaluated": "policy evaluated",
    "policy.loaded": "policies loaded", "approval.requested": "approval requested",
    "approval.viewed": "viewed", "decision.recorded": "decided", "decision.refused": "refused",
    "request.closed": "request closed", "request.cancelled": "request cancelled",
    "request.expired": "request expired", "resume.applied": "resumed",
    "resume.skipped": "resume skipped", "resume.failed": "resume failed",
    "stop.placed": "stop placed", "stop.lifted": "stop lifted", "payload.erased": "payload erased",
}


def action_words(action: str) -> str:
    return _ACTION_WORDS.get(action, action.replace(".", " ").replace("_", " "))


def record_detail(record: dict[str, Any]) -> str:
    """The most telling part of a record's data, in one line."""
    data = record.get("data") or {}
    if not isinstance(data, dict):
        return ""
    parts = []
    for key in ("decision", "status", "outcome", "rule", "reason", "code", "error"):
        value = data.get(key)
        if value not in (None, "", [], {}):
            parts.append(f"{key}: {value}")
    return "; ".join(parts)[:300]


def remaining(requirement: Requirement, approvers: Sequence[Principal]) -> list[str]:
    """Who must still approve, per group: ``1 of 2 dba still needed``."""
    used: set[int] = set()
    lines = []
    for group in requirement.approvers:
        filled = 0
        for index, person in enumerate(approvers):
            if index not in used and filled < group.count and rules.qualifies(group, person):
                used.add(index)
                filled += 1
        who = rules.describe_groups([group]).split(" of ", 1)[1]
        if filled < group.count:
            lines.append(f"{group.count - filled} of {group.count} {who} still needed")
        else:
            lines.append(f"{who}: complete ({filled} of {group.count})")
    return lines


def timeout_words(requirement: Requirement | None, escalation_step: int = 0) -> str:
    """What happens when the deadline passes."""
    if requirement is None:
        return ""
    policy = requirement.on_timeout
    if escalation_step < len(policy.escalate):
        step = policy.escalate[escalation_step]
        return (f"it goes to {rules.describe_groups(step.approvers)} with "
                f"{duration_words(step.deadline.total_seconds())} more")
    return ("it is rejected (never approved by silence)" if policy.then == "reject"
            else "it expires and the run ends without acting")


@dataclass(frozen=True)
class Streak:
    """How this person decided lately: a guard against approving by habit."""

    length: int
    kind: str
    decided: int
    median_review_seconds: float | None

    @property
    def warn(self) -> bool:
        return self.kind in {"approve", "edit"} and self.length >= 5


def streak(outcomes: Sequence[str], review_seconds: Sequence[float]) -> Streak | None:
    """``outcomes`` newest first: the run of equal outcomes at the head, and review times."""
    if not outcomes:
        return None
    approving = {"approve", "edit"}
    head = "approve" if outcomes[0] in approving else outcomes[0]
    length = 0
    for outcome in outcomes:
        if ("approve" if outcome in approving else outcome) != head:
            break
        length += 1
    times = sorted(review_seconds)
    median = times[len(times) // 2] if times else None
    return Streak(length=length, kind=head, decided=len(outcomes), median_review_seconds=median)


def source_file(path: str | None) -> str:
    """A policy file as its author knows it: relative to the working directory when inside."""
    if not path:
        return "?"
    from pathlib import Path

    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return Path(path).name


def pluralize(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word if count == 1 else (plural or word + 's')}"


FILTERS = {"when": when, "format_sql": format_sql, "actor_name": actor_name,
           "action_words": action_words, "record_detail": record_detail,
           "duration_words": duration_words, "source_file": source_file}
GLOBALS = {"countdown": countdown, "relative": relative, "pluralize": pluralize,
           "escape": escape}
