"""Tests of one value of an event (``equals``, ``one_of``, ``gt``, ``regex``, …).

Every check is total: a missing field, a value of the wrong type or a number compared to
text makes the check false, never an exception. Each check also says, in words, what it
expects, for ``oversight policy explain``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from operator import attrgetter
from typing import Any, Final

from oversight.policy.outcomes import PolicyEvent
from oversight.policy.regex import compile_regex


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()
Getter = Callable[[PolicyEvent], Any]
_SHOWN = 80


def show(value: Any) -> str:
    """A value as an author would write it, cut to a readable length."""
    if value is MISSING:
        return "missing"
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError, RecursionError):
        text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


def json_equal(left: Any, right: Any) -> bool:
    """JSON equality: ``1 == 1.0`` but ``true != 1``; containers compared item by item."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, (int, float)) and isinstance(right, (int, float)):
        return left == right
    if isinstance(left, (list, tuple)) and isinstance(right, (list, tuple)):
        return len(left) == len(right) and all(map(json_equal, left, right))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(json_equal(v, right[k]) for k, v in
                                                  left.items())
    if isinstance(left, str) and isinstance(right, str):
        return left == right
    return left is None and right is None


def split_path(path: str) -> tuple[tuple[str, int | None], ...]:
    """``"items.0.price"`` → ``(("items", None), ("0", 0), ("price", None))``."""
    return tuple((part, int(part) if part.isascii() and part.isdigit() else None)
                 for part in path.split("."))


def resolve_path(value: Any, path: Sequence[tuple[str, int | None]]) -> Any:
    """Follow a dotted path through dicts and lists; :data:`MISSING` where it stops."""
    for key, index in path:
        if isinstance(value, dict):
            value = value.get(key, MISSING)
            if value is MISSING:
                return MISSING
        elif index is not None and isinstance(value, list) and index < len(value):
            value = value[index]
        else:
            return MISSING
    return value


def _requester_field(name: str) -> Getter:
    def get(event: PolicyEvent) -> Any:
        requester = event.requester
        if requester is None:
            return MISSING
        value = getattr(requester, name)
        return MISSING if value is None else value
    return get


def _payload_getter(path: str) -> Getter:
    steps = split_path(path)
    if len(steps) == 1:
        key = steps[0][0]

        def get_top(event: PolicyEvent) -> Any:
            payload = event.payload
            return payload.get(key, MISSING) if isinstance(payload, dict) else MISSING
        return get_top

    def get(event: PolicyEvent) -> Any:
        return resolve_path(event.payload, steps)
    return get


def reference_getter(reference: str) -> Getter:
    """A getter for ``payload.<path>``, ``requester.<field>``, ``graph``, ``node``, ``action``."""
    if reference.startswith("payload."):
        return _payload_getter(reference.removeprefix("payload."))
    if reference == "requester.roles":
        return attrgetter("roles_list")
    if reference.startswith("requester."):
        return _requester_field(reference.removeprefix("requester."))
    return attrgetter(reference)


class Check:
    """A test of one value."""

    __slots__ = ()

    def holds(self, value: Any, event: PolicyEvent) -> bool:
        raise NotImplementedError

    def phrase(self, event: PolicyEvent | None = None) -> str:
        """What the check expects, read after "expected" or "is"."""
        raise NotImplementedError


class Equals(Check):
    __slots__ = ("expected",)

    def __init__(self, expected: Any) -> None:
        self.expected = expected

    def holds(self, value: Any, event: PolicyEvent) -> bool:
        if type(value) is str:  # the common case, without the generic comparison
            return type(self.expected) is str and value == self.expected
        return value is not MISSING and json_equal(value, self.expected)

    def phrase(self, event: PolicyEvent | None = None) -> str:
        return show(self.expected)


class OneOf(Check):
    __slots__ = ("options", "texts")

    def __init__(self, options: Sequence[Any]) -> None:
        self.options = tuple(options)
        self.texts = frozenset(option for option in options if type(option) is str)

    def holds(self, value: Any, event: PolicyEvent) -> bool:
        if type(value) is str:
            return value in self.texts
        return value is not MISSING and any(json_equal(value, option) for option in self.options)

    def phrase(self, event: PolicyEvent | None = None) -> str:
        return "one of " + ", ".join(show(option) for option in self.options)


_COMPARISONS: dict[str, tuple[Callable[[float, float], bool], str]] = {
    "gt": (lambda value, bound: value > bound, "more than"),
    "gte": (lambda value, bound: value >= bound, "at least"),
    "lt": (lambda value, bound: value < bound, "less than"),
    "lte": (lambda value, bound: value <= bound, "at most"),
}


class Compare(Check):
    __slots__ = ("bound", "compare", "operator")

    def __init__(self, operator: str, bound: float) -> None:
        self.operator = operator
        self.bound = bound
        self.compare = _COMPARISONS[operator][0]

    def holds(self, value: Any, event: PolicyEvent) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        try:
            return self.compare(value, self.bound)
        except OverflowError:  # a huge int against a float bound
            return False

    def phrase(self, event: PolicyEvent | None = None) -> str:
        bound = int(self.bound) if math.isfinite(self.bound) and self.bound.is_integer() else (
            self.bound)
        return f"a number {_COMPARISONS[self.operator][1]} {bound}"


class Matches(Check):
    __slots__ = ("regex",)

    def __init__(self, pattern: str) -> None:
        self.regex = compile_regex(pattern)

    def holds(self, value: Any, event: PolicyEvent) -> bool:
        return type(value) is str and self.regex.search(value)

    def phrase(self, event: PolicyEvent | None = None) -> str:
        return f"text matching the pattern {self.regex.pattern}"


class Exists(Check):
    __slots__ = ("present",)

    def __init__(self, present: bool) -> None:
        self.present = present

    def holds(self, value: Any, event: PolicyEvent) -> bool:
        return (value is not MISSING) is self.present

    def phrase(self, event: PolicyEvent | None = None) -> str:
        return "present" if self.present else "absent"


class Contains(Check):
    __slots__ = ("items",)

    def __init__(self, items: Sequence[Any]) -> None:
        self.items = tuple(items)

    def holds(self, value: Any, event: PolicyEvent) -> bool:
        if isinstance(value, (list, tuple)):
            return any(json_equal(element, item) for item in self.items for element in value)
        if isinstance(value, str):
            return any(isinstance(item, str) and item in value for item in self.items)
        return False

    def phrase(self, event: PolicyEvent | None = None) -> str:
        listed = ", ".join(show(item) for item in self.items)
        return f"including {listed}" if len(self.items) == 1 else f"including one of {listed}"


class SameAs(Check):
    __slots__ = ("getter", "reference")

    def __init__(self, reference: str) -> None:
        self.reference = reference
        self.getter = reference_getter(reference)

    def holds(self, value: Any, event: PolicyEvent) -> bool:
        other = self.getter(event)
        return value is not MISSING and other is not MISSING and json_equal(value, other)

    def phrase(self, event: PolicyEvent | None = None) -> str:
        if event is None:
            return f"the same as {self.reference}"
        return f"the same as {self.reference} (which is {show(self.getter(event))})"


class Not(Check):
    __slots__ = ("inner",)

    def __init__(self, inner: Check) -> None:
        self.inner = inner

    def holds(self, value: Any, event: PolicyEvent) -> bool:
        return not self.inner.holds(value, event)

    def phrase(self, event: PolicyEvent | None = None) -> str:
        return f"anything but {self.inner.phrase(event)}"


class AllOf(Check):
    __slots__ = ("checks",)

    def __init__(self, checks: Sequence[Check]) -> None:
        self.checks = tuple(checks)

    def holds(self, value: Any, event: PolicyEvent) -> bool:
        return all(check.holds(value, event) for check in self.checks)

    def phrase(self, event: PolicyEvent | None = None) -> str:
        return " and ".join(check.phrase(event) for check in self.checks)


class AnyOf(Check):
    __slots__ = ("checks",)

    def __init__(self, checks: Sequence[Check]) -> None:
        self.checks = tuple(checks)

    def holds(self, value: Any, event: PolicyEvent) -> bool:
        return any(check.holds(value, event) for check in self.checks)

    def phrase(self, event: PolicyEvent | None = None) -> str:
        return " or ".join(check.phrase(event) for check in self.checks)
