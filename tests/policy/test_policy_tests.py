"""Policy test files: the shipped ones pass; failures come with a diff."""

from __future__ import annotations

from pathlib import Path

import pytest

from oversight.policy import PolicyInvalid, PolicySet
from oversight.policy.testing import render_report, run_policy_tests


def test_shipped_policy_tests_pass_and_reach_every_rule(shipped: PolicySet,
                                                        policies_dir: Path) -> None:
    report = run_policy_tests(shipped, [policies_dir / "tests"])
    assert [result.name for result in report.failures] == []
    assert report.passed
    assert len(report.results) >= 16
    assert report.untested_rules == ()


def test_failures_are_reported_with_a_diff(shipped: PolicySet, data_dir: Path) -> None:
    path = data_dir / "policy_tests" / "failing.yaml"
    report = run_policy_tests(shipped, [path])
    assert [(result.line, result.passed) for result in report.results] == [
        (2, False), (13, True), (20, False)]
    assert not report.passed
    assert report.failures[0].diff == (
        "--- expected\n"
        "+++ actual\n"
        "@@ -1,6 +1,6 @@\n"
        " rule: sql-change-data\n"
        " outcome: require\n"
        " approvers:\n"
        " - role: dba\n"
        "-  count: 2\n"
        "+  count: 1\n"
        " deadline: 4 hours\n")
    assert report.failures[1].diff.startswith(
        "no rule of the set has the id 'travel-bokking' (did you mean 'travel-booking'?)\n"
        "--- expected\n+++ actual\n")
    assert "-rule: travel-bokking\n+rule: travel-booking\n" in report.failures[1].diff
    text = render_report(report)
    assert f"FAIL {path}:2: DELETE on staging needs two DBAs (wrong on purpose)" in text
    assert f"ok   {path}:13: a SELECT is approved automatically" in text
    assert "       -  count: 2" in text
    assert "1 passed, 2 failed" in text
    assert "Rules no test reaches: sql-destructive-production" in text


def test_malformed_test_files_are_located(shipped: PolicySet, data_dir: Path) -> None:
    with pytest.raises(PolicyInvalid) as caught:
        run_policy_tests(shipped, [data_dir / "malformed_tests.yaml"])
    found = [str(problem).replace(str(data_dir) + "/", "") for problem in caught.value.problems]
    assert found == [
        "malformed_tests.yaml:2:5: test 'no event': missing key 'event'",
        "malformed_tests.yaml:6:38: test 'bad outcome': expect.outcome: \"approve\" is not "
        "allowed (expected 'auto_approve', 'deny' or 'require')",
        "malformed_tests.yaml:9:47: test 'typo': expect: unknown key 'deadlne'; did you mean "
        "'deadline'? (expected one of: rule, outcome, reason, approvers, "
        "exclude_earlier_approvers, step_up, decisions, editable, deadline, on_timeout, "
        "escalate_to, notify, min_review)",
    ]
