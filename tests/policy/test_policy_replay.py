"""`replay`: a candidate set over past events, reporting what would change."""

from __future__ import annotations

from pathlib import Path

import pytest

from oversight.policy import PolicyInvalid, PolicySet, load_policy_set
from oversight.policy.eventfiles import read_event, read_recorded_events
from oversight.policy.replay import render_replay, replay


def candidate(tmp_path: Path, policies_dir: Path) -> PolicySet:
    """The shipped rules, but UPDATE on production now needs two DBAs (a new rule first)."""
    text = (policies_dir / "default.yaml").read_text()
    new_rule = """  - id: sql-update-production
    match:
      graph: sql_agent
      action: sql.execute
      payload: {database: production, operation: UPDATE}
    require:
      approvers: [{role: dba, count: 2}]
      deadline: 2h

  - id: sql-read-only
"""
    path = tmp_path / "default.yaml"
    path.write_text(text.replace("  - id: sql-read-only\n", new_rule, 1))
    return load_policy_set([path])


def test_replay_against_recorded_outcomes(tmp_path: Path, policies_dir: Path,
                                          data_dir: Path) -> None:
    records = read_recorded_events(data_dir / "past_events.jsonl")
    assert [record.line for record in records] == [1, 2, 4, 5]  # blank line 3 skipped
    report = replay(candidate(tmp_path, policies_dir), records)
    assert report.total == 4
    assert report.baseline_version is None
    assert [(change.label, change.before_rule, change.after_rule) for change in report.changes
            ] == [(f"{data_dir / 'past_events.jsonl'}:5 (id evt-4)", "sql-change-data",
                   "sql-update-production")]
    assert report.changes[0].details == ("rule: sql-change-data → sql-update-production",)


def test_replay_against_the_set_in_force_sees_requirement_changes(
        tmp_path: Path, policies_dir: Path, data_dir: Path, shipped: PolicySet) -> None:
    text = (policies_dir / "default.yaml").read_text()
    changed = text.replace("""      approvers:
        - {role: dba}
      deadline: 4h
      on_timeout: reject
      notify: [dba]""", """      approvers:
        - {role: dba}
      deadline: 1h
      on_timeout: reject
      notify: [dba]""", 1)
    assert changed != text
    path = tmp_path / "default.yaml"
    path.write_text(changed)
    report = replay(load_policy_set([path]), read_recorded_events(
        data_dir / "past_events.jsonl"), baseline=shipped)
    assert report.baseline_version == shipped.version
    # evt-1 and evt-4 keep their rule, but its deadline changed
    assert [change.label.rsplit(" ", 1)[-1] for change in report.changes] == ["evt-1)", "evt-4)"]
    assert report.changes[0].details == ("deadline: 4 hours → 1 hour",)
    assert report.changes[0].before == ("sql-change-data: require 1 person with the role dba, "
                                        "deadline 4 hours")
    assert report.changes[0].after.endswith("deadline 1 hour")


def test_replay_report_text(tmp_path: Path, policies_dir: Path, data_dir: Path) -> None:
    report = replay(candidate(tmp_path, policies_dir),
                    read_recorded_events(data_dir / "past_events.jsonl"))
    text = render_replay(report)
    lines = text.splitlines()
    assert lines[0].startswith("Replayed 4 event(s) through sha256:")
    assert lines[0].endswith("against the recorded outcomes.")
    assert lines[1] == "1 outcome(s) would change."
    assert "  sql-change-data → sql-update-production" in lines
    assert "    after:  sql-update-production: require 2 different people with the role dba, " \
           "deadline 2 hours" in lines
    assert report.as_dict()["changed"] == 1


def test_unchanged_set_changes_nothing(shipped: PolicySet, data_dir: Path) -> None:
    records = read_recorded_events(data_dir / "past_events.jsonl")
    assert replay(shipped, records).changes == ()
    assert replay(shipped, records, baseline=shipped).changes == ()


def test_events_without_outcome_need_a_baseline(shipped: PolicySet, data_dir: Path) -> None:
    records = read_recorded_events(data_dir / "past_events.yaml")
    assert len(records) == 2
    with pytest.raises(PolicyInvalid) as caught:
        replay(shipped, records)
    assert str(caught.value.problems[0]) == (
        f"{data_dir / 'past_events.yaml'}:2:5: this event has no recorded outcome; give the set "
        "in force with --against, or add outcome: {kind: ..., rule_id: ...}")
    assert replay(shipped, records, baseline=shipped).total == 2


def test_broken_event_lines_are_located(data_dir: Path) -> None:
    with pytest.raises(PolicyInvalid) as caught:
        read_recorded_events(data_dir / "broken_events.jsonl")
    found = [str(problem).replace(str(data_dir) + "/", "") for problem in caught.value.problems]
    assert found == [
        "broken_events.jsonl:2:1: missing key 'action' (an action name)",
        "broken_events.jsonl:3:1: this line is not JSON: Expecting value",
        "broken_events.jsonl:4:1: time: '2025-01-06T10:00:00' has no time zone (add Z or an "
        "offset such as +01:00)",
    ]


def test_read_one_event(data_dir: Path) -> None:
    parsed = read_event(data_dir / "event_delete.yaml")
    assert (parsed.graph, parsed.node, parsed.action) == ("sql_agent", "review", "sql.execute")
    assert parsed.payload["operation"] == "DELETE"
    assert parsed.requester is not None
    assert (parsed.requester.issuer, parsed.requester.subject, parsed.requester.name) == (
        "local", "alice", "Alice Example")
    assert parsed.requester.roles == frozenset({"requester"})
    assert parsed.time.isoformat() == "2025-01-06T10:00:00+01:00"
    with pytest.raises(PolicyInvalid) as caught:
        read_event(data_dir / "event_broken.yaml")
    found = [str(problem).replace(str(data_dir) + "/", "") for problem in caught.value.problems]
    assert found == [
        # the missing `action` is not reported again: the did-you-mean says it
        "event_broken.yaml:3:1: unknown key 'acton'; did you mean 'action'? (expected one of: "
        "graph, node, action, payload, requester, time)",
        "event_broken.yaml:5:7: time: 'yesterday' is not a time (expected ISO 8601 such as "
        "2025-01-06T10:00:00+01:00)",
    ]
