"""The edit form, built from the rule's JSON Schema for editable fields, and the diff it makes.

Each editable field becomes inputs: an object with ``properties`` one input per property
(others it holds are kept as they are), a string a text box (a date picker for
``format: date``, a text area for long text), a number a number box, a boolean a check box,
an ``enum`` a choice; anything else (an object without properties, an array) a JSON text area.
Only fields whose value changes are sent as edits; the rule's schema is checked again by the
decision itself.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from oversight.approvals.exceptions import DecisionInvalid
from oversight.policy.outcomes import Requirement

PREFIX = "edit:"
_MISSING = object()


@dataclass(frozen=True)
class EditInput:
    """One input of the edit form."""

    name: str  # the form field: "edit:hotel.name"
    path: tuple[str, ...]
    label: str
    kind: str  # text | textarea | number | integer | checkbox | date | select | json
    value: str
    checked: bool = False
    options: tuple[str, ...] = ()
    hint: str = ""

    @property
    def pointer(self) -> str:
        return "/edits/" + "/".join(self.path)


@dataclass(frozen=True)
class Change:
    path: str
    old: str
    new: str


def _get(value: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _schema_of(requirement: Requirement, field: str) -> dict[str, Any]:
    schema = requirement.edit_schema or {}
    properties = schema.get("properties") if isinstance(schema, dict) else None
    found = properties.get(field) if isinstance(properties, dict) else None
    return found if isinstance(found, dict) else {}


def _input(path: tuple[str, ...], schema: Mapping[str, Any], current: Any) -> EditInput:
    name = PREFIX + ".".join(path)
    label = ".".join(path)
    kind_of = schema.get("type")
    hint = str(schema.get("description") or "")
    present = current is not _MISSING and current is not None
    if "enum" in schema and isinstance(schema["enum"], list):
        return EditInput(name, path, label, "select", str(current) if present else "",
                         options=tuple(str(o) for o in schema["enum"]), hint=hint)
    if kind_of == "boolean":
        return EditInput(name, path, label, "checkbox", "true", checked=current is True, hint=hint)
    if kind_of in ("integer", "number"):
        return EditInput(name, path, label, kind_of, json.dumps(current) if present else "", hint=hint)
    if kind_of == "string" or (kind_of is None and isinstance(current, str)):
        text = current if isinstance(current, str) else ""
        if schema.get("format") == "date":
            return EditInput(name, path, label, "date", text, hint=hint)
        if schema.get("format") == "date-time":
            hint = hint or "ISO 8601, e.g. 2026-12-01T09:30:00Z"
        long = int(schema.get("maxLength") or 0) > 200 or len(text) > 80 or "\n" in text
        return EditInput(name, path, label, "textarea" if long else "text", text, hint=hint)
    value = json.dumps(current, indent=2, ensure_ascii=False) if present else ""
    return EditInput(name, path, label, "json", value, hint=hint or "JSON")


def inputs_for(requirement: Requirement, payload: Any) -> list[EditInput]:
    """The form's inputs for ``payload`` as it is now."""
    inputs = []
    for field in requirement.editable_fields:
        path = tuple(field.split("."))
        schema = _schema_of(requirement, field)
        current = _get(payload, path)
        properties = schema.get("properties")
        if schema.get("type") == "object" and isinstance(properties, dict) and properties:
            for key, sub in properties.items():
                inputs.append(_input((*path, key), sub if isinstance(sub, dict) else {},
                                     _get(current, (key,))))
        else:
            inputs.append(_input(path, schema, current))
    return inputs


def _parse(field: EditInput, raw: str | None) -> Any:
    if field.kind == "checkbox":
        return raw is not None
    text = (raw or "").strip() if field.kind not in ("textarea", "text") else (raw or "")
    if field.kind in ("integer", "number"):
        if text == "":
            return _MISSING
        try:
            if field.kind == "integer" or text.lstrip("-").isdigit():
                return int(text)
            return float(text)
        except ValueError as exc:
            raise DecisionInvalid(f"{field.label} must be a {field.kind}, not {text!r}",
                                  code="edits_invalid", pointer=field.pointer) from exc
    if field.kind == "json":
        if text == "":
            return _MISSING
        try:
            return json.loads(text)
        except ValueError as exc:
            raise DecisionInvalid(f"{field.label} must be JSON: {exc}", code="edits_invalid",
                                  pointer=field.pointer) from exc
    return text


def edits_from_form(requirement: Requirement, payload: Any, form: Mapping[str, str]) -> dict[str, Any]:
    """The changed editable fields (field path → new value) the form asks for."""
    edited = copy.deepcopy(payload) if isinstance(payload, dict) else {}
    for field in inputs_for(requirement, payload):
        if field.kind != "checkbox" and field.name not in form:
            continue  # an input the page did not show: leave the value alone
        value = _parse(field, form.get(field.name))
        before = _get(payload, field.path)
        if value is _MISSING or (value == "" and before is _MISSING):
            continue
        target = edited
        for part in field.path[:-1]:
            child = target.get(part)
            if not isinstance(child, dict):
                child = {}
                target[part] = child
            target = child
        target[field.path[-1]] = value
    edits: dict[str, Any] = {}
    for name in requirement.editable_fields:
        path = tuple(name.split("."))
        new, old = _get(edited, path), _get(payload, path)
        if new is not _MISSING and new != old:
            edits[name] = new
    return edits


def _leaves(value: Any, prefix: str) -> dict[str, Any]:
    if isinstance(value, dict) and value:
        found: dict[str, Any] = {}
        for key, child in value.items():
            found.update(_leaves(child, f"{prefix}.{key}" if prefix else key))
        return found
    return {prefix: value}


def diff(payload: Any, edits: Mapping[str, Any]) -> list[Change]:
    """What the edits change, leaf by leaf: ``hotel.name: "Hotel Central" → "Casa do Rio"``."""
    changes = []
    for field, new in edits.items():
        old = _get(payload, tuple(field.split(".")))
        before = _leaves(old, field) if old is not _MISSING else {}
        after = _leaves(new, field)
        for path in sorted(set(before) | set(after)):
            a, b = before.get(path, _MISSING), after.get(path, _MISSING)
            if a != b:
                changes.append(Change(path, "(none)" if a is _MISSING else json.dumps(a, ensure_ascii=False),
                                      "(removed)" if b is _MISSING else json.dumps(b, ensure_ascii=False)))
    return changes
