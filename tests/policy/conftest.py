"""Fixtures for the policy engine's tests: small sets built from YAML text, events.

pytest 9 imports test modules without adding their folder to sys.path, so shared helpers
are fixtures here rather than an importable module.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from oversight.policy import (
    PolicyEvent,
    PolicySet,
    PolicySource,
    Requester,
    build_policy_set,
    load_policy_set,
)

REPO = Path(__file__).resolve().parents[2]
POLICIES = REPO / "policies"
DATA = Path(__file__).resolve().parent / "data"
MONDAY_10_UTC = datetime(2025, 1, 6, 10, 0, tzinfo=UTC)
CATCH_ALL = """
  - id: default
    require:
      approvers: [{role: operator}]
      deadline: 4h
"""


def policy_from(rules: str, *, catch_all: bool = True, name: str = "test.yaml") -> PolicySet:
    """A set from the text of a `rules:` list (indented by two), with a catch-all added."""
    text = "rules:\n" + textwrap.indent(textwrap.dedent(rules).strip("\n"), "  ") + "\n"
    if catch_all:
        text += CATCH_ALL
    return build_policy_set([PolicySource(name, text)])


def event(
    *,
    graph: str = "g",
    node: str = "n",
    action: str = "a",
    payload: Any = None,
    subject: str | None = "alice",
    roles: tuple[str, ...] = ("requester",),
    issuer: str = "https://idp.example",
    name: str | None = None,
    time: datetime = MONDAY_10_UTC,
) -> PolicyEvent:
    """An event with sensible defaults."""
    requester = None if subject is None else Requester(
        issuer=issuer, subject=subject, roles=frozenset(roles), name=name)
    return PolicyEvent(graph=graph, node=node, action=action,
                       payload={} if payload is None else payload, requester=requester,
                       time=time)


@pytest.fixture
def make_policy() -> Callable[..., PolicySet]:
    """``make_policy(rules_text, catch_all=True)`` → a set."""
    return policy_from


@pytest.fixture
def make_event() -> Callable[..., PolicyEvent]:
    """``make_event(graph=..., payload=..., subject=..., roles=..., time=...)``."""
    return event


@pytest.fixture
def matched(make_policy: Callable[..., PolicySet],
            make_event: Callable[..., PolicyEvent]) -> Callable[..., str]:
    """``matched(rules_text, **event_fields)`` → the id of the deciding rule."""
    def run(rules: str, **kwargs: Any) -> str:
        return make_policy(rules).evaluate(make_event(**kwargs)).rule_id
    return run


@pytest.fixture
def data_dir() -> Path:
    """tests/policy/data: broken files made for the tests."""
    return DATA


@pytest.fixture
def policies_dir() -> Path:
    return POLICIES


@pytest.fixture(scope="session")
def shipped() -> PolicySet:
    """The shipped rules of policies/."""
    return load_policy_set([POLICIES])
