"""Properties: the evaluator never raises on arbitrary JSON payloads, the action index
never changes an answer, and the loader turns any text into a set or a PolicyInvalid."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oversight.policy import (
    PolicyEvent,
    PolicyInvalid,
    PolicySet,
    PolicySource,
    Problem,
    Requester,
    build_policy_set,
    load_policy_set,
)
from oversight.policy.explain import explain_event, render_explanation

# Every operator on paths that may or may not exist, over values of every JSON type.
EVERY_OPERATOR = """
rules:
  - id: numbers
    match:
      payload:
        total: {gt: 10, lte: 1000000}
        a.b.0: {lt: 5}
    deny: {reason: numbers}
  - id: texts
    match:
      payload:
        query: {regex: '(?i)^\\s*(drop|delete)\\b', not: {contains: safe}}
        a: {exists: true}
    deny: {reason: texts}
  - id: containers
    match:
      payload:
        tags: {contains: urgent}
        doc: {equals: {k: [1, 2.5, null, true]}}
    deny: {reason: containers}
  - id: choices
    match:
      action: [x, y]
      payload:
        mode: {one_of: [1, "1", true, null, [1]]}
        "0": {exists: false}
    deny: {reason: choices}
  - id: references
    match:
      payload:
        owner: {same_as: requester.subject}
        x.y: {same_as: payload.z}
    deny: {reason: references}
  - id: combinators
    match:
      any_of:
        - payload: {n: {any_of: [{lt: 0}, {gt: 100}]}}
        - payload: {n: {all_of: [{gte: 1}, {lte: 2}, {not: 1.5}]}}
      not:
        payload: {s: {regex: 'x+y'}}
      requester:
        roles: {any_of: [{contains: dba}, dba]}
    deny: {reason: combinators}
  - id: time
    match:
      payload: {t: {exists: true}}
      time: {timezone: Pacific/Chatham, weekdays: [sat-tue], hours: ['22:15-03:45']}
    deny: {reason: time}
  - id: person
    match: {action: travel.book}
    require:
      approvers: [{subject_from: payload.traveller}, {role: ops}]
      deadline: 1h
  - id: default
    require:
      approvers: [{role: operator}]
      deadline: 4h
"""

json_scalars = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True)
                | st.text(max_size=40))
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["a", "b", "0", "k", "total", "query", "tags", "doc", "mode", "owner",
                         "x", "y", "z", "n", "s", "t", "traveller", ""]) | st.text(max_size=5),
        inner, max_size=6),
    max_leaves=25,
)
payloads = json_values | st.dictionaries(
    st.sampled_from(["total", "a", "query", "tags", "doc", "mode", "owner", "x", "z", "n", "s",
                     "t", "traveller", ""]), json_values, max_size=10)
requesters = st.none() | st.builds(
    Requester, issuer=st.text(max_size=10), subject=st.text(max_size=10),
    roles=st.frozensets(st.sampled_from(["dba", "ops", "requester"]) | st.text(max_size=4)),
    name=st.none() | st.text(max_size=10))
times = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                     timezones=st.just(UTC))
events = st.builds(PolicyEvent, graph=st.text(max_size=8),
                   node=st.text(max_size=8),
                   action=st.sampled_from(["x", "y", "travel.book", "other"]) | st.text(
                       max_size=8),
                   payload=payloads, requester=requesters, time=times)

POLICY = build_policy_set([PolicySource("every_operator.yaml", EVERY_OPERATOR)])
SHIPPED = load_policy_set([Path(__file__).resolve().parents[2] / "policies"])


def _sets() -> list[PolicySet]:
    return [POLICY, SHIPPED]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event=events)
def test_evaluator_never_raises_on_arbitrary_json(event: PolicyEvent) -> None:
    for policy in _sets():
        # first_match is the unguarded path: it must not raise either
        rule = policy.first_match(event)
        assert rule is not None
        outcome = policy.evaluate(event)
        assert outcome.rule_id == rule.id  # never the "engine failed" fallback
        assert outcome.policy_version == policy.version
        assert outcome.kind in ("auto_approve", "deny", "require")


@settings(max_examples=200, deadline=None)
@given(event=events)
def test_index_and_explain_agree_with_trying_every_rule(event: PolicyEvent) -> None:
    for policy in _sets():
        linear = next(rule for rule, matched in policy.walk(event) if matched)
        assert policy.first_match(event) is linear
        explanation = explain_event(policy, event)
        assert explanation.checks[-1].rule_id == linear.id
        assert all(check.reasons for check in explanation.checks[:-1])
        assert render_explanation(explanation)


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=300) | st.sampled_from([EVERY_OPERATOR[:cut] for cut in range(
    0, len(EVERY_OPERATOR), 37)]))
def test_loader_returns_a_set_or_policy_invalid(text: str) -> None:
    problems: tuple[Problem, ...] = ()
    try:
        result: Any = build_policy_set([PolicySource("fuzz.yaml", text)])
    except PolicyInvalid as exc:
        result, problems = None, exc.problems
    if result is None:
        assert problems
    else:
        assert isinstance(result, PolicySet)
    for problem in problems:
        assert problem.file == "fuzz.yaml"
        assert problem.line >= 1
        assert problem.column >= 1
        assert problem.message
