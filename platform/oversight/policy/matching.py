"""A rule's ``match`` compiled into conditions on an event.

Conditions answer ``holds(event)`` fast (first-match evaluation calls it for every rule
tried) and, for ``explain``, ``failures(event)``: why it did not hold, in words.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import time as clock_time
from typing import Any
from zoneinfo import ZoneInfo

from oversight.policy import conditions as c
from oversight.policy.outcomes import PolicyEvent
from oversight.policy.schemas import WEEKDAYS, Match, Operators, RequesterMatch, TimeWindow


class Condition:
    """Something an event satisfies or not."""

    __slots__ = ()

    def holds(self, event: PolicyEvent) -> bool:
        raise NotImplementedError

    def failures(self, event: PolicyEvent) -> list[str]:
        """Why the condition does not hold (empty when it does)."""
        raise NotImplementedError

    def claim(self) -> str:
        """What the condition says, as a sentence fragment."""
        raise NotImplementedError


class FieldCondition(Condition):
    __slots__ = ("check", "getter", "label")

    def __init__(self, label: str, getter: c.Getter, check: c.Check) -> None:
        self.label = label
        self.getter = getter
        self.check = check

    def holds(self, event: PolicyEvent) -> bool:
        return self.check.holds(self.getter(event), event)

    def failures(self, event: PolicyEvent) -> list[str]:
        value = self.getter(event)
        if self.check.holds(value, event):
            return []
        failing = [self.check]
        if isinstance(self.check, c.AllOf):  # name only the parts that failed
            failing = [check for check in self.check.checks if not check.holds(value, event)]
        expected = " and ".join(check.phrase(event) for check in failing)
        return [f"{self.label} is {c.show(value)}, expected {expected}"]

    def claim(self) -> str:
        return f"{self.label} is {self.check.phrase()}"


class TimeCondition(Condition):
    __slots__ = ("days", "ranges", "spec", "zone")

    def __init__(self, spec: TimeWindow) -> None:
        self.spec = spec
        self.zone = ZoneInfo(spec.timezone)
        self.days = frozenset(_weekday_numbers(spec.weekdays)) if spec.weekdays else None
        self.ranges = tuple(_minutes(text) for text in spec.hours) if spec.hours else None

    def holds(self, event: PolicyEvent) -> bool:
        try:
            local = event.time.astimezone(self.zone)
        except (OverflowError, ValueError):  # a time at the edge of the calendar
            return False
        if self.days is not None and local.weekday() not in self.days:
            return False
        if self.ranges is None:
            return True
        minute = local.hour * 60 + local.minute
        return any(start <= minute < end if start < end else minute >= start or minute < end
                   for start, end in self.ranges)

    def failures(self, event: PolicyEvent) -> list[str]:
        if self.holds(event):
            return []
        try:
            local = event.time.astimezone(self.zone)
        except (OverflowError, ValueError):
            return [f"the time {event.time.isoformat()} cannot be placed in {self.spec.timezone}"]
        return [f"the time is {local:%a %Y-%m-%d %H:%M} in {self.spec.timezone}, "
                f"expected {self._window()}"]

    def claim(self) -> str:
        return f"the time is {self._window()}"

    def _window(self) -> str:
        parts = []
        if self.spec.weekdays:
            parts.append("on " + ", ".join(self.spec.weekdays))
        if self.spec.hours:
            parts.append("between " + " or ".join(self.spec.hours))
        return " ".join(parts) + f" ({self.spec.timezone})"


class AllConditions(Condition):
    __slots__ = ("items",)

    def __init__(self, items: Sequence[Condition]) -> None:
        self.items = tuple(items)

    def holds(self, event: PolicyEvent) -> bool:
        # A plain loop: all() over a generator costs a third more on the hot path.
        for item in self.items:  # noqa: SIM110
            if not item.holds(event):
                return False
        return True

    def failures(self, event: PolicyEvent) -> list[str]:
        return [reason for item in self.items for reason in item.failures(event)]

    def claim(self) -> str:
        return " and ".join(item.claim() for item in self.items) or "every event"


class AnyCondition(Condition):
    __slots__ = ("items",)

    def __init__(self, items: Sequence[Condition]) -> None:
        self.items = tuple(items)

    def holds(self, event: PolicyEvent) -> bool:
        return any(item.holds(event) for item in self.items)

    def failures(self, event: PolicyEvent) -> list[str]:
        if self.holds(event):
            return []
        reasons = ["; ".join(item.failures(event)) for item in self.items]
        listed = " | ".join(f"({number}) {reason}" for number, reason in enumerate(reasons, 1))
        return [f"none of the alternatives holds: {listed}"]

    def claim(self) -> str:
        return "(" + ") or (".join(item.claim() for item in self.items) + ")"


class NotCondition(Condition):
    __slots__ = ("inner",)

    def __init__(self, inner: Condition) -> None:
        self.inner = inner

    def holds(self, event: PolicyEvent) -> bool:
        return not self.inner.holds(event)

    def failures(self, event: PolicyEvent) -> list[str]:
        if self.holds(event):
            return []
        return [f"the rule excludes events where {self.inner.claim()}, and this is one"]

    def claim(self) -> str:
        return f"not ({self.inner.claim()})"


def _weekday_numbers(names: Sequence[str]) -> list[int]:
    days: list[int] = []
    for name in names:
        first, _, last = name.partition("-")
        start, end = WEEKDAYS.index(first), WEEKDAYS.index(last or first)
        days.extend(range(start, end + 1) if start <= end else [*range(start, 7),
                                                                *range(end + 1)])
    return days


def _minutes(text: str) -> tuple[int, int]:
    start, end = text.split("-")
    first = clock_time.fromisoformat(start)
    last_hour, last_minute = (int(part) for part in end.split(":"))
    return first.hour * 60 + first.minute, last_hour * 60 + last_minute


def compile_check(test: Any, *, roles: bool = False) -> c.Check:
    """A value test from the file (scalar, list or operators) as a :class:`~c.Check`.

    For the requester's roles a scalar means "has this role" and a list "has one of them".
    """
    if isinstance(test, Operators):
        return _compile_operators(test, roles=roles)
    if isinstance(test, list):
        return c.Contains(test) if roles else c.OneOf(test)
    return c.Contains([test]) if roles else c.Equals(test)


def _compile_operators(test: Operators, *, roles: bool) -> c.Check:
    checks: list[c.Check] = []
    given = test.model_fields_set
    for name in ("gt", "gte", "lt", "lte"):
        bound = getattr(test, name)
        if name in given and bound is not None:
            checks.append(c.Compare(name, bound))
    if "equals" in given:
        checks.append(c.Equals(test.equals))
    if "one_of" in given and test.one_of is not None:
        checks.append(c.OneOf(test.one_of))
    if "regex" in given and test.regex is not None:
        checks.append(c.Matches(test.regex))
    if "exists" in given and test.exists is not None:
        checks.append(c.Exists(test.exists))
    if "contains" in given:
        checks.append(c.Contains([test.contains]))
    if "same_as" in given and test.same_as is not None:
        checks.append(c.SameAs(test.same_as))
    if "not_" in given and test.not_ is not None:
        checks.append(c.Not(compile_check(test.not_, roles=roles)))
    if "any_of" in given and test.any_of:
        checks.append(c.AnyOf([compile_check(item, roles=roles) for item in test.any_of]))
    if "all_of" in given and test.all_of:
        checks.append(c.AllOf([compile_check(item, roles=roles) for item in test.all_of]))
    return checks[0] if len(checks) == 1 else c.AllOf(checks)


def _requester_conditions(spec: RequesterMatch) -> list[Condition]:
    found: list[Condition] = []
    for name in ("subject", "issuer", "name", "roles"):
        if name in spec.model_fields_set:
            found.append(FieldCondition(
                f"the requester's {name}", c.reference_getter(f"requester.{name}"),
                compile_check(getattr(spec, name), roles=name == "roles")))
    return found


def compile_match(spec: Match | None) -> Condition:
    """The condition of a whole ``match`` block (all keys must hold)."""
    if spec is None:
        return AllConditions([])
    given = spec.model_fields_set
    found: list[Condition] = []
    for name in ("graph", "node", "action"):
        if name in given:
            found.append(FieldCondition(name, c.reference_getter(name),
                                        compile_check(getattr(spec, name))))
    for path, test in (spec.payload or {}).items():
        found.append(FieldCondition(f"payload.{path}", c.reference_getter(f"payload.{path}"),
                                    compile_check(test)))
    if spec.requester is not None:
        found.extend(_requester_conditions(spec.requester))
    if spec.time is not None:
        found.append(TimeCondition(spec.time))
    found.extend(compile_match(item) for item in spec.all_of or ())
    if spec.any_of:
        found.append(AnyCondition([compile_match(item) for item in spec.any_of]))
    if spec.not_ is not None:
        found.append(NotCondition(compile_match(spec.not_)))
    return found[0] if len(found) == 1 else AllConditions(found)


def exact_values(test: Any) -> frozenset[str] | None:
    """The strings a value test accepts when it is a plain equals / one_of of strings."""
    if isinstance(test, str):
        return frozenset([test])
    if isinstance(test, list):
        return frozenset(test) if all(isinstance(item, str) for item in test) else None
    if isinstance(test, Operators):
        given = test.model_fields_set
        if given == {"equals"} and isinstance(test.equals, str):
            return frozenset([test.equals])
        if given == {"one_of"} and test.one_of and all(isinstance(i, str) for i in test.one_of):
            return frozenset(str(item) for item in test.one_of)
    return None
