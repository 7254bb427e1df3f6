"""Sets of several files, their order, `replaces`, and the version of a set."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from oversight.policy import (
    PolicyEvent,
    PolicyInvalid,
    PolicySet,
    PolicySource,
    build_policy_set,
    load_policy_set,
)

MakeEvent = Callable[..., PolicyEvent]

TEAM = """
rules:
  - id: team-rule
    match: {action: team.action}
    deny: {reason: the team says no}
"""
DEFAULT = """
order: 100
rules:
  - id: default
    require:
      approvers: [{role: operator}]
      deadline: 4h
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def test_files_are_ordered_by_order_then_name(tmp_path: Path, make_event: MakeEvent) -> None:
    write(tmp_path, "default.yaml", DEFAULT)  # order 100: last, although it sorts first
    write(tmp_path, "zz-team.yaml", TEAM)
    write(tmp_path, "aa-team.yaml", TEAM.replace("team-rule", "early-rule").replace(
        "team.action", "early.action"))
    policy = load_policy_set([tmp_path])
    assert [rule.id for rule in policy.rules] == ["early-rule", "team-rule", "default"]
    assert [Path(source.path).name for source in policy.sources] == [
        "aa-team.yaml", "default.yaml", "zz-team.yaml"]
    assert policy.evaluate(make_event(action="team.action")).rule_id == "team-rule"


def test_without_order_a_team_file_after_the_catch_all_is_reported(tmp_path: Path) -> None:
    write(tmp_path, "a-default.yaml", DEFAULT.replace("order: 100\n", ""))
    write(tmp_path, "b-team.yaml", TEAM)
    with pytest.raises(PolicyInvalid) as caught:
        load_policy_set([tmp_path])
    messages = [problem.message for problem in caught.value.problems]
    assert messages[0].startswith("rule 'default': matches every event, so the 1 rule(s) "
                                  "after it (team-rule) can never match")


def test_a_directory_does_not_include_subdirectories(policies_dir: Path) -> None:
    policy = load_policy_set([policies_dir])
    assert [source.path for source in policy.sources] == [str(policies_dir / "default.yaml")]


def test_the_same_file_given_twice_is_read_once(policies_dir: Path) -> None:
    policy = load_policy_set([policies_dir, policies_dir / "default.yaml"])
    assert len(policy.sources) == 1


def test_demo_file_replaces_the_travel_rule_in_place(policies_dir: Path,
                                                    make_event: MakeEvent) -> None:
    demo = load_policy_set([policies_dir, policies_dir / "demo" / "short-deadlines.yaml"])
    shipped = load_policy_set([policies_dir])
    shipped_ids = [rule.id for rule in shipped.rules]
    demo_ids = [rule.id for rule in demo.rules]
    assert demo_ids == [("travel-booking-demo" if rule_id == "travel-booking" else rule_id)
                        for rule_id in shipped_ids]
    booking = make_event(graph="travel", action="travel.book", payload={"traveller": "tom"})
    outcome = demo.evaluate(booking)
    assert outcome.rule_id == "travel-booking-demo"
    assert outcome.requirement is not None
    assert outcome.requirement.deadline.total_seconds() == 120
    assert outcome.requirement.on_timeout.then == "expire"
    assert demo.version != shipped.version


def test_replaces_must_name_a_rule_of_another_file() -> None:
    text = """
rules:
  - id: a
    match: {action: x}
    deny: {reason: a}
  - id: b
    replaces: a
    match: {action: x}
    deny: {reason: b}
  - id: default
    require: {approvers: [{role: operator}], deadline: 4h}
"""
    with pytest.raises(PolicyInvalid) as caught:
        build_policy_set([PolicySource("one.yaml", text)])
    assert str(caught.value.problems[0]) == (
        "one.yaml:7:15: rule 'b': replaces 'a' of the same file; edit that rule instead")


def test_a_rule_is_replaced_once() -> None:
    first = "rules:\n  - id: one\n    replaces: default\n    deny: {reason: one}\n"
    second = "rules:\n  - id: two\n    replaces: default\n    deny: {reason: two}\n"
    with pytest.raises(PolicyInvalid) as caught:
        build_policy_set([PolicySource("base.yaml", DEFAULT), PolicySource("a.yaml", first),
                          PolicySource("b.yaml", second)])
    assert str(caught.value.problems[0]) == (
        "b.yaml:3:15: rule 'two': 'default' is already replaced by rule 'one' (a.yaml:2)")


def test_version_is_sha256_of_the_canonical_form() -> None:
    policy = build_policy_set([PolicySource("p.yaml", DEFAULT)])
    assert policy.version == "sha256:" + hashlib.sha256(policy.canonical).hexdigest()
    document = json.loads(policy.canonical)
    assert document["format"] == 1
    assert document["rules"][0]["id"] == "default"
    assert document["rules"][0]["require"]["deadline"] == "PT4H"
    assert document["rules"][0]["require"]["approvers"] == [
        {"role": "operator", "subject_from": None, "count": 1}]
    # canonical: sorted keys, no spaces
    assert policy.canonical == json.dumps(document, sort_keys=True, separators=(",", ":"),
                                          ensure_ascii=False).encode()


@pytest.mark.parametrize(("changed", "same"), [
    ("# a comment\n" + DEFAULT, True),
    (DEFAULT.replace("deadline: 4h", "deadline: PT4H"), True),
    (DEFAULT.replace("{role: operator}", "{role: operator, count: 1}"), True),
    (DEFAULT.replace("{role: operator}", "{count: 1, role: operator}"), True),
    (DEFAULT.replace("approvers: [{role: operator}]", "approvers:\n        - role: operator"),
     True),
    (DEFAULT.replace("deadline: 4h", "deadline: 5h"), False),
    (DEFAULT.replace("id: default", "id: fallback"), False),
    (DEFAULT.replace("    require:", "    description: Fallback.\n    require:"), False),
])
def test_version_follows_meaning_not_formatting(changed: str, same: bool) -> None:
    base = build_policy_set([PolicySource("p.yaml", DEFAULT)]).version
    other = build_policy_set([PolicySource("q.yaml", changed)]).version
    assert (base == other) is same


def test_version_changes_with_rule_order() -> None:
    rules = ["  - id: a\n    match: {action: a}\n    deny: {reason: a}\n",
             "  - id: b\n    match: {action: b}\n    deny: {reason: b}\n"]
    tail = "  - id: default\n    deny: {reason: no}\n"
    forward = build_policy_set([PolicySource("p.yaml", "rules:\n" + "".join(rules) + tail)])
    backward = build_policy_set([PolicySource("p.yaml", "rules:\n" + "".join(rules[::-1])
                                              + tail)])
    assert forward.version != backward.version


def test_rules_know_where_they_were_written(shipped: PolicySet, policies_dir: Path) -> None:
    lines = (policies_dir / "default.yaml").read_text().splitlines()
    line = lines.index("  - id: sql-read-only") + 1
    rule = shipped.rule("sql-read-only")
    assert rule is not None
    assert rule.where == f"{policies_dir / 'default.yaml'}:{line}"
    assert (rule.line, rule.column) == (line, 5)  # the `id` key of the rule
    assert shipped.rule("nope") is None


def test_yaml_is_read_with_the_1_2_core_schema() -> None:
    from oversight.policy.yamltext import parse_yaml

    doc, problems = parse_yaml(
        "a: [yes, no, on, off, 09:00, 1:30, 0x1F, 0o17, .inf, ~, null, true, False, '1', 1.5e3]\n"
        "b: !!str 123\n", "t.yaml")
    assert problems == []
    assert doc.data["a"] == ["yes", "no", "on", "off", "09:00", "1:30", 31, 15,
                             float("inf"), None, None, True, False, "1", 1500.0]
    assert doc.data["b"] == "123"


def test_anchors_aliases_and_merge_keys(make_event: MakeEvent) -> None:
    text = """
rules:
  - id: sql
    match: {action: sql.execute}
    require: &slow
      approvers: [{role: dba}]
      deadline: 4h
      on_timeout: expire
  - id: default
    require:
      <<: *slow
      approvers: [{role: operator}]
"""
    policy = build_policy_set([PolicySource("p.yaml", text)])
    outcome = policy.evaluate(make_event(action="other"))
    assert outcome.rule_id == "default"
    assert outcome.requirement is not None
    assert outcome.requirement.on_timeout.then == "expire"  # merged from the anchor
    assert outcome.requirement.approvers[0].role == "operator"  # own key wins
