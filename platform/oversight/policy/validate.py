"""Turning pydantic's validation errors into problems a policy author can act on.

Each problem names the file, line and column, the rule, what was wrong and what was
expected; an unknown key comes with the keys allowed there and a "did you mean".
"""

from __future__ import annotations

import difflib
import inspect
import types
from collections.abc import Sequence
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, Tag, ValidationError

from oversight.policy.conditions import show
from oversight.policy.durations import DURATION_HINT
from oversight.policy.exceptions import Problem
from oversight.policy.yamltext import Path, YamlDocument

ModelT = TypeVar("ModelT", bound=BaseModel)

_TYPE_WORDS = {
    "string_type": "text", "int_type": "a whole number", "float_type": "a number",
    "bool_type": "true or false", "list_type": "a list", "dict_type": "a mapping (key: value)",
    "model_type": "a mapping (key: value)", "model_attributes_type": "a mapping (key: value)",
    "timedelta_type": f"{DURATION_HINT}",
}
_KEY_HINTS = {
    "id": "a short unique name such as sql-change",
    "rules": "a list of rules",
    "approvers": "a list of approver groups such as [{role: dba, count: 2}]",
    "deadline": DURATION_HINT,
    "reason": "a sentence",
    "escalate": "a list of escalation steps",
    "graph": "a graph name", "node": "a node name", "action": "an action name",
}
_ID_RULE = ("ids are letters, digits, '-', '_' and '.', start with a letter or digit and "
            "are at most 100 characters long")


def describe_value(value: Any) -> str:
    """How a YAML value looks to its author: ``text 'abc'``, ``a number (5)``, ``a list``."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"text {show(value)}"
    return "a list" if isinstance(value, list) else "a mapping"


def validate_document(model: type[ModelT], doc: YamlDocument) -> tuple[ModelT | None,
                                                                        list[Problem]]:
    """Validate a parsed file against ``model``; every error becomes a :class:`Problem`."""
    if not isinstance(doc.data, dict):
        expected = f"expected a mapping with the keys {', '.join(_allowed_keys(model))}"
        got = "an empty file" if doc.data is None else describe_value(doc.data)
        return None, [doc.problem((), f"{expected}, got {got}")]
    try:
        return model.model_validate(doc.data), []
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
    # "unknown key 'aprovers'; did you mean 'approvers'?" says it all: drop "missing approvers".
    suggested = set()
    for error in errors:
        if error["type"] == "extra_forbidden":
            allowed = _allowed_keys(_model_at(model, error["loc"][:-1]))
            for close in difflib.get_close_matches(str(error["loc"][-1]), allowed, n=1,
                                                   cutoff=0.6):
                suggested.add((*error["loc"][:-1], close))
    problems = {_problem(model, doc, error) for error in errors
                if not (error["type"] == "missing" and tuple(error["loc"]) in suggested)}
    return None, sorted(problems, key=lambda p: (p.line, p.column, p.message))


def _problem(model: type[BaseModel], doc: YamlDocument, error: Any) -> Problem:
    loc = tuple(part for part in error["loc"] if not _is_branch(part))
    kind: str = error["type"]
    value = error.get("input")
    ctx = error.get("ctx") or {}
    last = loc[-1] if loc else ""
    if kind == "missing":
        hint = f" ({_KEY_HINTS[str(last)]})" if str(last) in _KEY_HINTS else ""
        return doc.problem(loc[:-1], f"{_context(doc, loc[:-1])}missing key '{last}'{hint}")
    if kind == "extra_forbidden":
        allowed = _allowed_keys(_model_at(model, error["loc"][:-1]))
        text = f"unknown key '{last}'"
        close = difflib.get_close_matches(str(last), allowed, n=1, cutoff=0.6)
        if close:
            text += f"; did you mean '{close[0]}'?"
        if allowed:
            text += f" (expected one of: {', '.join(allowed)})"
        return doc.problem(loc, _context(doc, loc[:-1]) + text, key=True)
    return doc.problem(loc, _context(doc, loc) + _message(kind, value, ctx, str(last),
                                                          error["msg"]))


def _message(kind: str, value: Any, ctx: dict[str, Any], last: str, fallback: str) -> str:
    if kind == "literal_error":
        text = f"{show(value)} is not allowed (expected {ctx.get('expected', '')})"
        if value == "approve" and last in ("on_timeout", "then"):
            text += ("; silence never approves: a request nobody answers is rejected, "
                     "expires or escalates")
        return text
    if kind in _TYPE_WORDS:
        return f"expected {_TYPE_WORDS[kind]}, got {describe_value(value)}"
    if kind in ("value_error", "assertion_error"):
        return fallback.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if kind == "string_pattern_mismatch":
        if last in ("id", "replaces", "rule"):
            return f"{show(value)} is not a valid rule id ({_ID_RULE})"
        return f"{show(value)} does not have the expected form ({ctx.get('pattern')})"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "string_too_long":
        return f"is too long (at most {ctx.get('max_length')} characters)"
    if kind == "too_short":
        return f"expected at least {ctx.get('min_length')} item(s), got {describe_value(value)}"
    if kind == "greater_than_equal":
        return f"expected a number of at least {ctx.get('ge')}, got {describe_value(value)}"
    if kind == "less_than_equal":
        return f"expected a number of at most {ctx.get('le')}, got {describe_value(value)}"
    if kind == "on_timeout":
        return f"{fallback}, got {describe_value(value)}"
    return fallback


def _is_branch(part: Any) -> bool:
    # Union branch tags (``~operators``) and pydantic's own markers are not YAML keys.
    return isinstance(part, str) and (part.startswith("~") or part.startswith(
        "function-") or part == "[key]")


def _context(doc: YamlDocument, path: Path) -> str:
    """``rule 'sql-change': require.approvers[0]: `` for a path inside a rule."""
    prefix = ""
    rest: Sequence[str | int] = path
    data = doc.data
    if len(path) >= 2 and path[0] in ("rules", "tests") and isinstance(path[1], int):
        items = data.get(path[0]) if isinstance(data, dict) else None
        item = items[path[1]] if isinstance(items, list) and path[1] < len(items) else None
        name_key = "id" if path[0] == "rules" else "name"
        name = item.get(name_key) if isinstance(item, dict) else None
        label = "rule" if path[0] == "rules" else "test"
        prefix = (f"{label} '{name}': " if isinstance(name, str) and name else
                  f"{label} #{path[1] + 1}: ")
        rest = path[2:]
    where = format_path(rest)
    return prefix + (f"{where}: " if where else "")


def format_path(path: Sequence[str | int]) -> str:
    """``("require", "approvers", 0, "count")`` → ``require.approvers[0].count``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _options(annotation: Any) -> list[tuple[Any, str | None]]:
    origin = get_origin(annotation)
    if origin is Annotated:
        inner, *meta = get_args(annotation)
        tag = next((item.tag for item in meta if isinstance(item, Tag)), None)
        return [(option, tag or inner_tag) for option, inner_tag in _options(inner)]
    if origin is Union or origin is types.UnionType:
        return [option for arg in get_args(annotation) for option in _options(arg)]
    return [(annotation, None)]


def _step(annotation: Any, part: str | int) -> Any:
    for option, tag in _options(annotation):
        if isinstance(part, str) and part.startswith("~"):
            if tag == part:
                return option
            continue
        origin = get_origin(option)
        if isinstance(part, int) and origin is list:
            return get_args(option)[0]
        if isinstance(part, str) and origin is dict:
            return get_args(option)[1]
        if isinstance(part, str) and inspect.isclass(option) and issubclass(option, BaseModel):
            for name, info in option.model_fields.items():
                if (info.alias or name) == part:
                    return info.annotation
    return None


def _model_at(model: type[BaseModel], loc: Sequence[str | int]) -> Any:
    annotation: Any = model
    for part in loc:
        if isinstance(part, str) and (part.startswith("function-") or part == "[key]"):
            continue
        annotation = _step(annotation, part)
        if annotation is None:
            return None
    return annotation


def _allowed_keys(annotation: Any) -> list[str]:
    for option, _ in _options(annotation):
        if inspect.isclass(option) and issubclass(option, BaseModel):
            return [info.alias or name for name, info in option.model_fields.items()]
    return []
