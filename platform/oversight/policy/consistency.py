"""Checks of one rule that pydantic's per-field validation cannot make: exactly one
outcome, approver groups that separation of duties can satisfy, decisions that agree with
editable fields, payload paths that make sense."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from oversight.policy.durations import describe_duration
from oversight.policy.exceptions import Problem
from oversight.policy.schemas import ApproverGroup, Match, Require, Rule
from oversight.policy.yamltext import Path, YamlDocument

OUTCOME_KEYS = ("auto_approve", "deny", "require")
_JSON_TYPES = {"object", "array", "string", "number", "integer", "boolean", "null"}


@dataclass(frozen=True)
class PlacedRule:
    """A validated rule and where it was written."""

    spec: Rule
    doc: YamlDocument
    index: int

    @property
    def path(self) -> Path:
        return ("rules", self.index)

    @property
    def position(self) -> tuple[int, int]:
        return self.doc.position(self.path)

    @property
    def where(self) -> str:
        line, _ = self.position
        return f"{self.doc.file}:{line}"

    def problem(self, sub: Path, message: str, *, key: bool = False) -> Problem:
        return self.doc.problem((*self.path, *sub), f"rule '{self.spec.id}': {message}", key=key)


def rule_problems(rule: PlacedRule) -> list[Problem]:
    """Every problem of one rule on its own."""
    spec = rule.spec
    problems: list[Problem] = []
    given = [key for key in OUTCOME_KEYS if getattr(spec, key) is not None]
    if not given:
        problems.append(rule.problem((), "says nothing about the outcome (expected exactly one "
                                         "of auto_approve, deny or require)"))
    for extra in given[1:]:
        problems.append(rule.problem((extra,), f"has both {given[0]} and {extra} (expected "
                                               "exactly one outcome per rule)", key=True))
    if spec.match is not None:
        problems.extend(_match_problems(rule, spec.match, ("match",)))
    if spec.require is not None:
        problems.extend(_require_problems(rule, spec.require))
    return problems


def _match_problems(rule: PlacedRule, match: Match, at: Path) -> Iterator[Problem]:
    for path in match.payload or {}:
        if any(not part.strip() for part in path.split(".")):
            yield rule.problem((*at, "payload", path), f"{path!r} is not a payload path "
                                                       "(expected names joined by dots, such as "
                                                       "hotel.city)", key=True)
    for key in ("all_of", "any_of"):
        for number, item in enumerate(getattr(match, key) or ()):
            yield from _match_problems(rule, item, (*at, key, number))
    if match.not_ is not None:
        yield from _match_problems(rule, match.not_, (*at, "not"))


def _require_problems(rule: PlacedRule, require: Require) -> Iterator[Problem]:
    yield from _group_problems(rule, require.approvers, ("require", "approvers"))
    if require.step_up is not None and not (require.step_up.acr or require.step_up.amr):
        yield rule.problem(("require", "step_up"), "step_up says nothing (expected acr: [...] "
                                                   "and/or amr: [...], e.g. amr: [mfa])")
    decisions = require.decisions or []
    if "edit" in decisions and not require.editable:
        yield rule.problem(("require", "decisions"), "decisions include edit but no editable "
                                                     "fields are listed (expected editable: "
                                                     "{field: {JSON Schema}})")
    if require.editable and require.decisions is not None and "edit" not in decisions:
        yield rule.problem(("require", "editable"), "editable fields are listed but edit is "
                                                    "not among the decisions", key=True)
    for field, schema in (require.editable or {}).items():
        problem = _schema_problem(schema)
        if not field.strip() or problem:
            yield rule.problem(("require", "editable", field),
                               problem or "an editable field needs a name", key=not problem)
    if require.min_review is not None and require.min_review >= require.deadline:
        yield rule.problem(("require", "min_review"), (
            f"min_review ({describe_duration(require.min_review)}) is not shorter than the "
            f"deadline ({describe_duration(require.deadline)}); nobody could decide in time"))
    on_timeout = require.on_timeout
    if not isinstance(on_timeout, str):
        for number, step in enumerate(on_timeout.escalate):
            yield from _group_problems(rule, step.approvers, (
                "require", "on_timeout", "escalate", number, "approvers"))


def _group_problems(rule: PlacedRule, groups: list[ApproverGroup], at: Path) -> Iterator[Problem]:
    seen: dict[tuple[str | None, str | None], int] = {}
    for number, group in enumerate(groups):
        where = (*at, number)
        if group.role is None and group.subject_from is None:
            yield rule.problem(where, "an approver group needs a role (role: dba) or a person "
                                      "(subject_from: payload.traveller)")
            continue
        source = group.subject_from or ""
        if source.startswith("requester."):
            yield rule.problem((*where, "subject_from"), (
                "separation of duties: the requester never approves their own request, so "
                "subject_from cannot name the requester (expected a payload field)"))
        elif group.subject_from is not None and not source.startswith("payload."):
            yield rule.problem((*where, "subject_from"), (
                f"subject_from: {source} does not name a person (expected a payload field "
                "such as payload.traveller)"))
        if group.subject_from is not None and group.count > 1:
            yield rule.problem((*where, "count"), (
                f"asks for {group.count} approvers, but subject_from names one person and "
                "separation of duties needs distinct people (expected count: 1)"))
        key = (group.role, group.subject_from)
        if key in seen:
            yield rule.problem(where, (
                f"repeats approver group #{seen[key] + 1}; merge them into one group with a "
                "larger count (approvers are always distinct people)"))
        seen.setdefault(key, number)


def _schema_problem(schema: dict[str, Any]) -> str | None:
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind] if kind is not None else []
    if any(not isinstance(item, str) or item not in _JSON_TYPES for item in kinds):
        return (f"type: {kind!r} is not a JSON Schema type (expected one of "
                f"{', '.join(sorted(_JSON_TYPES))})")
    properties = schema.get("properties")
    if properties is not None and not (isinstance(properties, dict) and all(
            isinstance(item, dict) for item in properties.values())):
        return "properties must map each name to a JSON Schema"
    required = schema.get("required")
    if required is not None and not (isinstance(required, list) and all(
            isinstance(item, str) for item in required)):
        return "required must be a list of property names"
    return None
