"""Every construct of `match`, each shown to match and not to match."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from oversight.policy import PolicyEvent, PolicySet
from oversight.policy.regex import MAX_REGEX_INPUT

Matched = Callable[..., str]
MakePolicy = Callable[..., PolicySet]
MakeEvent = Callable[..., PolicyEvent]

RULE = """
- id: hit
  match:
{match}
  auto_approve: {{reason: matched}}
"""


def rule(match: str) -> str:
    return RULE.format(match="\n".join("    " + line for line in match.strip().splitlines()))


@pytest.mark.parametrize(("match", "kwargs", "expected"), [
    ("graph: sql_agent", {"graph": "sql_agent"}, "hit"),
    ("graph: sql_agent", {"graph": "travel"}, "default"),
    ("node: review", {"node": "review"}, "hit"),
    ("node: review", {"node": "approval"}, "default"),
    ("action: sql.execute", {"action": "sql.execute"}, "hit"),
    ("action: [a.one, a.two]", {"action": "a.two"}, "hit"),
    ("action: [a.one, a.two]", {"action": "a.three"}, "default"),
    ("action: {one_of: [a.one]}", {"action": "a.one"}, "hit"),
    ("action: {not: a.one}", {"action": "a.one"}, "default"),
    ("action: {not: a.one}", {"action": "a.two"}, "hit"),
    ("action: {regex: '^sql\\.'}", {"action": "sql.execute"}, "hit"),
])
def test_graph_node_and_action(
    matched: Matched, match: str, kwargs: dict[str, object], expected: str,
) -> None:
    assert matched(rule(match), **kwargs) == expected


@pytest.mark.parametrize(("test", "payload", "expected"), [
    # equals (a scalar), with JSON equality: 1 == 1.0 but true != 1
    ("database: production", {"database": "production"}, "hit"),
    ("database: production", {"database": "Production"}, "default"),
    ("count: 1", {"count": 1.0}, "hit"),
    ("flag: true", {"flag": 1}, "default"),
    ("count: 1", {"count": True}, "default"),
    ("nothing: null", {"nothing": None}, "hit"),
    ("nothing: null", {}, "default"),
    ("doc: {equals: {a: [1, 2]}}", {"doc": {"a": [1, 2]}}, "hit"),
    ("doc: {equals: {a: [1, 2]}}", {"doc": {"a": [1, 3]}}, "default"),
    # one of (a list, or one_of)
    ("operation: [DELETE, UPDATE]", {"operation": "UPDATE"}, "hit"),
    ("operation: [DELETE, UPDATE]", {"operation": "SELECT"}, "default"),
    ("operation: {one_of: [1, two]}", {"operation": 1}, "hit"),
    # not
    ("database: {not: production}", {"database": "staging"}, "hit"),
    ("database: {not: production}", {"database": "production"}, "default"),
    ("database: {not: {one_of: [a, b]}}", {"database": "c"}, "hit"),
    ("database: {not: production}", {}, "hit"),
    # numbers
    ("total: {gt: 100}", {"total": 101}, "hit"),
    ("total: {gt: 100}", {"total": 100}, "default"),
    ("total: {gte: 100}", {"total": 100}, "hit"),
    ("total: {lt: 100}", {"total": 99.5}, "hit"),
    ("total: {lte: 100}", {"total": 100.5}, "default"),
    ("total: {gt: 10, lt: 20}", {"total": 15}, "hit"),
    ("total: {gt: 10, lt: 20}", {"total": 25}, "default"),
    ("total: {gt: 100}", {"total": "1000"}, "default"),
    ("total: {gt: 0}", {"total": True}, "default"),
    ("total: {gt: 0}", {"total": None}, "default"),
    ("total: {gt: 1.5}", {"total": 10**400}, "hit"),
    # regular expressions (search anywhere; anchors are explicit)
    ("query: {regex: '(?i)\\bdelete\\b'}", {"query": "please DELETE it"}, "hit"),
    ("query: {regex: '^select'}", {"query": " select"}, "default"),
    ("query: {regex: 'a'}", {"query": ["a"]}, "default"),
    ("query: {regex: 'x'}", {"query": "\ud800x"}, "hit"),
    # exists
    ("hotel.city: {exists: true}", {"hotel": {"city": None}}, "hit"),
    ("hotel.city: {exists: true}", {"hotel": {}}, "default"),
    ("hotel.city: {exists: false}", {"hotel": "not a mapping"}, "hit"),
    # contains: list items and text
    ("tags: {contains: urgent}", {"tags": ["low", "urgent"]}, "hit"),
    ("tags: {contains: urgent}", {"tags": ["low"]}, "default"),
    ("text: {contains: refund}", {"text": "your refund is on its way"}, "hit"),
    ("text: {contains: 1}", {"text": "1"}, "default"),
    # same_as: another field of the event
    ("traveller: {same_as: payload.approved_for}", {"traveller": "tom", "approved_for": "tom"},
     "hit"),
    ("traveller: {same_as: payload.approved_for}", {"traveller": "tom"}, "default"),
    ("owner: {same_as: requester.subject}", {"owner": "alice"}, "hit"),
    ("owner: {same_as: requester.subject}", {"owner": "bob"}, "default"),
    # any_of / all_of on one value
    ("total: {any_of: [{lt: 0}, {gt: 100}]}", {"total": -5}, "hit"),
    ("total: {any_of: [{lt: 0}, {gt: 100}]}", {"total": 50}, "default"),
    ("query: {all_of: [{regex: '^SELECT'}, {not: {regex: 'INTO'}}]}", {"query": "SELECT 1"},
     "hit"),
    ("query: {all_of: [{regex: '^SELECT'}, {not: {regex: 'INTO'}}]}",
     {"query": "SELECT 1 INTO x"}, "default"),
    # dotted paths, through lists by index
    ("items.1.price: {gt: 10}", {"items": [{"price": 1}, {"price": 11}]}, "hit"),
    ("items.5.price: {gt: 10}", {"items": [{"price": 11}]}, "default"),
    ("items.x.price: {gt: 10}", {"items": [{"price": 11}]}, "default"),
])
def test_payload_value_tests(matched: Matched, test: str, payload: object, expected: str) -> None:
    assert matched(rule("payload:\n  " + test), payload=payload) == expected


def test_payload_that_is_not_a_mapping_matches_no_payload_test(matched: Matched) -> None:
    rules = rule("payload:\n  x: {exists: false}")
    assert matched(rules, payload=["x"]) == "hit"
    assert matched(rule("payload:\n  x: 1"), payload="x") == "default"


def test_regex_sees_only_the_first_64_kib_of_a_string(matched: Matched) -> None:
    rules = rule("payload:\n  text: {regex: 'NEEDLE'}")
    assert matched(rules, payload={"text": "a" * (MAX_REGEX_INPUT - 6) + "NEEDLE"}) == "hit"
    assert matched(rules, payload={"text": "a" * MAX_REGEX_INPUT + "NEEDLE"}) == "default"


@pytest.mark.parametrize(("test", "kwargs", "expected"), [
    ("subject: alice", {"subject": "alice"}, "hit"),
    ("subject: alice", {"subject": "bob"}, "default"),
    ("subject: alice", {"subject": None}, "default"),
    ("issuer: https://idp.example", {}, "hit"),
    ("issuer: {regex: '^https://other'}", {}, "default"),
    ("name: {exists: true}", {"name": "Alice"}, "hit"),
    ("name: {exists: true}", {"name": None}, "default"),
    ("roles: dba", {"roles": ("dba", "requester")}, "hit"),
    ("roles: dba", {"roles": ("requester",)}, "default"),
    ("roles: [dba, admin]", {"roles": ("admin",)}, "hit"),
    ("roles: [dba, admin]", {"roles": ("operator",)}, "default"),
    ("roles: {not: {contains: dba}}", {"roles": ("operator",)}, "hit"),
    ("roles: {all_of: [{contains: dba}, {contains: security}]}", {"roles": ("dba",)},
     "default"),
    ("roles: {all_of: [{contains: dba}, {contains: security}]}",
     {"roles": ("security", "dba")}, "hit"),
    ("subject: {same_as: payload.traveller}", {"subject": "tom", "payload": {"traveller": "tom"}},
     "hit"),
])
def test_requester(matched: Matched, test: str, kwargs: dict[str, object], expected: str) -> None:
    assert matched(rule("requester:\n  " + test), **kwargs) == expected


PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize(("window", "when", "expected"), [
    # Monday 2025-01-06 09:30 in Paris is 08:30 UTC
    ("{timezone: Europe/Paris, weekdays: [mon-fri], hours: '09:00-18:00'}",
     datetime(2025, 1, 6, 9, 30, tzinfo=PARIS), "hit"),
    ("{timezone: Europe/Paris, weekdays: [mon-fri], hours: '09:00-18:00'}",
     datetime(2025, 1, 6, 8, 30, tzinfo=UTC), "hit"),
    ("{timezone: Europe/Paris, weekdays: [mon-fri], hours: '09:00-18:00'}",
     datetime(2025, 1, 6, 7, 59, tzinfo=UTC), "default"),
    ("{timezone: Europe/Paris, weekdays: [mon-fri], hours: '09:00-18:00'}",
     datetime(2025, 1, 6, 18, 0, tzinfo=PARIS), "default"),
    ("{timezone: Europe/Paris, weekdays: [mon-fri]}", datetime(2025, 1, 11, 12, tzinfo=PARIS),
     "default"),
    ("{weekdays: [sat, sun]}", datetime(2025, 1, 12, 23, 59, tzinfo=UTC), "hit"),
    ("{weekdays: [fri-mon]}", datetime(2025, 1, 5, 12, tzinfo=UTC), "hit"),
    ("{weekdays: [fri-mon]}", datetime(2025, 1, 8, 12, tzinfo=UTC), "default"),
    # a range past midnight
    ("{hours: '22:00-06:00'}", datetime(2025, 1, 6, 23, 0, tzinfo=UTC), "hit"),
    ("{hours: '22:00-06:00'}", datetime(2025, 1, 6, 5, 59, tzinfo=UTC), "hit"),
    ("{hours: '22:00-06:00'}", datetime(2025, 1, 6, 6, 0, tzinfo=UTC), "default"),
    ("{hours: ['08:00-12:00', '13:00-17:00']}", datetime(2025, 1, 6, 12, 30, tzinfo=UTC),
     "default"),
    ("{hours: '00:00-24:00'}", datetime(2025, 1, 6, 23, 59, tzinfo=UTC), "hit"),
    # summer time: 09:00 in Paris is 07:00 UTC in July
    ("{timezone: Europe/Paris, hours: '09:00-10:00'}", datetime(2025, 7, 7, 7, 30, tzinfo=UTC),
     "hit"),
])
def test_time_windows(matched: Matched, window: str, when: datetime, expected: str) -> None:
    assert matched(rule("time: " + window), time=when) == expected


def test_outside_business_hours_with_not(matched: Matched) -> None:
    rules = rule("not:\n  time: {timezone: Europe/Paris, weekdays: [mon-fri], "
                 "hours: '09:00-18:00'}")
    assert matched(rules, time=datetime(2025, 1, 11, 12, tzinfo=PARIS)) == "hit"
    assert matched(rules, time=datetime(2025, 1, 6, 12, tzinfo=PARIS)) == "default"


def test_match_level_all_of_any_of_not(matched: Matched) -> None:
    rules = rule("""
graph: sql_agent
all_of:
  - payload: {database: production}
  - payload: {risk: {gte: 5}}
any_of:
  - payload: {operation: DROP}
  - requester: {roles: intern}
not:
  payload: {ticket: {exists: true}}
""")
    base = {"graph": "sql_agent"}
    hit = {"database": "production", "risk": 7, "operation": "DROP"}
    assert matched(rules, **base, payload=hit) == "hit"
    assert matched(rules, **base, payload={**hit, "operation": "SELECT"}) == "default"
    assert matched(rules, **base, payload={**hit, "operation": "SELECT"},
                   roles=("intern",)) == "hit"
    assert matched(rules, **base, payload={**hit, "risk": 4}) == "default"
    assert matched(rules, **base, payload={**hit, "ticket": "CHG-1"}) == "default"
    assert matched(rules, graph="other", payload=hit) == "default"


def test_first_match_wins_in_file_order(make_policy: MakePolicy, make_event: MakeEvent) -> None:
    rules = """
- id: first
  match: {payload: {n: {gt: 1}}}
  deny: {reason: first}
- id: second
  match: {payload: {n: {gt: 0}}}
  deny: {reason: second}
"""
    policy = make_policy(rules)
    assert policy.evaluate(make_event(payload={"n": 5})).rule_id == "first"
    assert policy.evaluate(make_event(payload={"n": 1})).rule_id == "second"
    assert policy.evaluate(make_event(payload={"n": 0})).rule_id == "default"


def test_rule_without_match_catches_everything(make_policy: MakePolicy,
                                                make_event: MakeEvent) -> None:
    policy = make_policy("", catch_all=True)
    assert [rule.id for rule in policy.rules] == ["default"]
    assert policy.evaluate(make_event(graph="anything", payload=[1, 2])).rule_id == "default"


def test_event_time_must_be_aware(make_event: MakeEvent) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        make_event(time=datetime(2025, 1, 6, 10))
