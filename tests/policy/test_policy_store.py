"""The set in force and reloading it: keep the last good set, report what changed."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from oversight.policy import PolicyEvent, PolicyInvalid, PolicySourceMissing
from oversight.policy.store import PolicyStore

MakeEvent = Callable[..., PolicyEvent]

FIRST = """rules:
  - id: sql
    match: {action: sql.execute}
    require:
      approvers: [{role: dba}]
      deadline: 4h
  - id: default
    require:
      approvers: [{role: operator}]
      deadline: 4h
"""
NOW = datetime(2025, 1, 6, 12, 0, tzinfo=UTC)


def write(path: Path, text: str) -> None:
    """Write and move the modification time on, so a change is seen even within a tick."""
    path.write_text(text)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    path = tmp_path / "policies" / "rules.yaml"
    path.parent.mkdir()
    path.write_text(FIRST)
    return path


def test_reload_without_change_returns_none(policy_file: Path) -> None:
    store = PolicyStore([policy_file.parent], clock=lambda: NOW)
    version = store.current.version
    assert store.reload() is None
    write(policy_file, "# only a comment changed\n" + FIRST)
    assert store.reload() is None  # same canonical form, same version
    assert store.current.version == version


def test_reload_reports_versions_diff_and_rules(policy_file: Path,
                                                make_event: MakeEvent) -> None:
    store = PolicyStore([policy_file.parent], clock=lambda: NOW)
    old = store.current.version
    write(policy_file, FIRST.replace("{role: dba}", "{role: dba, count: 2}").replace(
        "  - id: default", "  - id: travel\n    match: {action: travel.book}\n"
                           "    deny: {reason: closed}\n  - id: default"))
    with capture_logs() as logs:
        reloaded = store.reload(author="carol")
    assert reloaded is not None
    assert reloaded.old_version == old
    assert reloaded.new_version == store.current.version != old
    assert reloaded.author == "carol"
    assert reloaded.reloaded_at == NOW
    assert reloaded.rules_added == ("travel",)
    assert reloaded.rules_removed == ()
    assert reloaded.rules_changed == ("sql",)
    assert f"--- a/{policy_file}" in reloaded.diff
    assert "-      approvers: [{role: dba}]\n+      approvers: [{role: dba, count: 2}]" in (
        reloaded.diff)
    assert reloaded.as_dict()["new_version"] == reloaded.new_version
    assert [entry["event"] for entry in logs] == ["policy.reloaded"]
    assert logs[0]["author"] == "carol"
    outcome = store.evaluate(make_event(action="sql.execute"))
    assert outcome.policy_version == reloaded.new_version
    assert outcome.requirement is not None
    assert outcome.requirement.approvers[0].count == 2


def test_invalid_set_never_replaces_the_one_in_force(policy_file: Path,
                                                     make_event: MakeEvent) -> None:
    store = PolicyStore([policy_file.parent], clock=lambda: NOW)
    good = store.current
    write(policy_file, FIRST.replace("deadline: 4h\n  - id: default", "deadline: soon\n"
                                                                      "  - id: default"))
    with capture_logs() as logs, pytest.raises(PolicyInvalid) as caught:
        store.reload(author="mallory")
    assert "'soon' is not a duration" in caught.value.problems[0].message
    assert store.current is good
    assert store.evaluate(make_event(action="sql.execute")).policy_version == good.version
    assert logs[0]["event"] == "policy.reload_refused"
    assert logs[0]["log_level"] == "warning"
    assert logs[0]["problems"] == 1
    assert "is not a duration" in logs[0]["first_problem"]


def test_reload_if_changed_polls_files_and_never_raises(policy_file: Path) -> None:
    store = PolicyStore([policy_file.parent], clock=lambda: NOW)
    good = store.current
    assert store.reload_if_changed() is None  # nothing changed on disk
    write(policy_file, "rules: [")
    with capture_logs() as logs:
        assert store.reload_if_changed() is None
        assert store.reload_if_changed() is None  # the same bad file is refused once
    assert [entry["event"] for entry in logs] == ["policy.reload_refused"]
    assert store.current is good
    write(policy_file, FIRST.replace("4h", "5h"))
    reloaded = store.reload_if_changed(author="file watcher")
    assert reloaded is not None
    assert reloaded.author == "file watcher"
    assert store.current.version == reloaded.new_version


def test_a_removed_file_keeps_the_last_good_set(policy_file: Path) -> None:
    store = PolicyStore([policy_file], clock=lambda: NOW)
    good = store.current
    policy_file.unlink()
    with pytest.raises(PolicySourceMissing):
        store.reload()
    assert store.reload_if_changed() is None
    assert store.current is good


def test_a_store_needs_a_valid_set_to_start(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("rules: []\n")
    with pytest.raises(PolicyInvalid):
        PolicyStore([path])
