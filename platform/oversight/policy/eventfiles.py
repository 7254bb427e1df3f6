"""Events written by people (``explain --event``, test files) or exported by the gateway
(``replay --events``), turned into :class:`PolicyEvent` values with located problems.

An event file is YAML or JSON::

    graph: sql_agent
    node: review
    action: sql.execute
    payload: {query: "DELETE FROM orders", database: staging, operation: DELETE}
    requester: {subject: alice, roles: [requester]}     # issuer defaults to "local"
    time: 2025-01-06T10:00:00+01:00                      # defaults to now (explain)

Past events for ``replay`` are JSON Lines (one event a line) or YAML/JSON with a list
under ``events:``; each may carry the ``outcome`` recorded at the time (``kind``,
``rule_id``, ``policy_version``) and an ``id``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, ConfigDict, Field, JsonValue, WithJsonSchema

from oversight.policy.exceptions import PolicyInvalid, PolicySourceMissing, Problem
from oversight.policy.outcomes import OutcomeKind, PolicyEvent, Requester
from oversight.policy.schemas import Name, Spec
from oversight.policy.validate import validate_document
from oversight.policy.yamltext import YamlDocument, parse_yaml

DEFAULT_ISSUER = "local"


def _aware_time(value: Any) -> Any:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a time (expected ISO 8601 such as "
                             "2025-01-06T10:00:00+01:00)") from None
        if parsed.tzinfo is None:
            raise ValueError(f"{value!r} has no time zone (add Z or an offset such as +01:00)")
        return parsed
    return value


AwareTime = Annotated[datetime, BeforeValidator(_aware_time),
                      WithJsonSchema({"type": "string", "format": "date-time"})]


class RequesterSpec(Spec):
    issuer: Name = DEFAULT_ISSUER
    subject: Name
    roles: list[Name] = Field(default_factory=list)
    name: str | None = None


class EventSpec(Spec):
    """One event as a person writes it."""

    graph: str
    node: str
    action: str
    payload: JsonValue = Field(default_factory=dict)
    requester: RequesterSpec | None = None
    time: AwareTime | None = None

    def to_event(self, default_time: datetime) -> PolicyEvent:
        """The :class:`PolicyEvent` this spec describes."""
        requester = None
        if self.requester is not None:
            requester = Requester(issuer=self.requester.issuer, subject=self.requester.subject,
                                  roles=frozenset(self.requester.roles),
                                  name=self.requester.name)
        return PolicyEvent(graph=self.graph, node=self.node, action=self.action,
                           payload=self.payload, requester=requester,
                           time=self.time or default_time)


class RecordedOutcomeSpec(Spec):
    model_config = ConfigDict(extra="ignore")

    kind: OutcomeKind
    rule_id: str
    policy_version: str | None = None


class RecordSpec(EventSpec):
    """A past event; fields the gateway adds (thread id, interrupt id, …) are ignored."""

    model_config = ConfigDict(extra="ignore")

    id: str | int | None = None
    outcome: RecordedOutcomeSpec | None = None


class RecordFile(Spec):
    events: list[RecordSpec]


@dataclass(frozen=True)
class RecordedEvent:
    """A past event, where it was read from, and the outcome recorded at the time."""

    file: str
    line: int
    event: PolicyEvent
    outcome: RecordedOutcomeSpec | None = None
    id: str | None = None
    column: int = 1

    @property
    def label(self) -> str:
        where = f"{self.file}:{self.line}"
        return f"{where} (id {self.id})" if self.id else where


def _read(path: str | Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicySourceMissing(f"{path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyInvalid([Problem(str(path), 1, 1, f"cannot read the file: {exc}")]) from None


def read_event(path: str | Path, *, now: datetime | None = None) -> PolicyEvent:
    """Read one event from a YAML or JSON file."""
    doc, problems = parse_yaml(_read(path), str(path))
    if problems:
        raise PolicyInvalid(problems)
    spec, problems = validate_document(EventSpec, doc)
    if spec is None:
        raise PolicyInvalid(problems)
    return spec.to_event(now or datetime.now(UTC))


def read_recorded_events(path: str | Path, *, now: datetime | None = None) -> list[RecordedEvent]:
    """Read past events: JSON Lines (``.jsonl``) or YAML/JSON with ``events:``."""
    text = _read(path)
    default_time = now or datetime.now(UTC)
    if str(path).endswith(".jsonl"):
        return _read_lines(text, str(path), default_time)
    doc, problems = parse_yaml(text, str(path))
    if problems:
        raise PolicyInvalid(problems)
    spec, problems = validate_document(RecordFile, doc)
    if spec is None:
        raise PolicyInvalid(problems)
    found = []
    for number, record in enumerate(spec.events):
        line, column = doc.position(("events", number))
        found.append(RecordedEvent(str(path), line, record.to_event(default_time),
                                   record.outcome, None if record.id is None else str(record.id),
                                   column))
    return found


def _read_lines(text: str, file: str, default_time: datetime) -> list[RecordedEvent]:
    found: list[RecordedEvent] = []
    problems: list[Problem] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except ValueError as exc:
            problems.append(Problem(file, number, getattr(exc, "colno", 1),
                                    f"this line is not JSON: {getattr(exc, 'msg', exc)}"))
            continue
        doc = YamlDocument(file, data, values={(): (number, 1)})
        record, line_problems = validate_document(RecordSpec, doc)
        problems.extend(line_problems)
        if record is not None:
            found.append(RecordedEvent(file, number, record.to_event(default_time),
                                       record.outcome,
                                       None if record.id is None else str(record.id)))
    if problems:
        raise PolicyInvalid(problems)
    return found
