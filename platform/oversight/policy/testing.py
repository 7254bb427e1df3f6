"""Policy tests: an event in, the expected rule and outcome out (``policies/tests/*.yaml``).

::

    tests:
      - name: DELETE on staging needs one DBA
        event: {graph: sql_agent, node: review, action: sql.execute,
                payload: {operation: DELETE, database: staging, query: "DELETE FROM t"}}
        expect:
          rule: sql-change-data
          outcome: require
          approvers: [{role: dba, count: 1}]
          deadline: 4h

Only the keys given under ``expect`` are compared. An event without ``time`` happens at
:data:`DEFAULT_TEST_TIME` (a Monday, 10:00 UTC), so tests never depend on the clock.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import Field

from oversight.policy.durations import describe_duration
from oversight.policy.evaluate import PolicySet
from oversight.policy.eventfiles import EventSpec
from oversight.policy.exceptions import PolicyInvalid, PolicySourceMissing, Problem
from oversight.policy.outcomes import Decision, FinalTimeout, OutcomeKind, PolicyOutcome
from oversight.policy.schemas import Duration, Name, RuleId, Spec, Text
from oversight.policy.validate import validate_document
from oversight.policy.yamltext import parse_yaml

DEFAULT_TEST_TIME = datetime(2025, 1, 6, 10, 0, tzinfo=UTC)
TEST_SUFFIXES = (".yaml", ".yml")


class ExpectedGroup(Spec):
    role: Name | None = None
    subject: Name | None = None
    count: Annotated[int, Field(ge=1)] = 1


class ExpectedStepUp(Spec):
    acr: list[Name] = Field(default_factory=list)
    amr: list[Name] = Field(default_factory=list)
    max_age: Duration | None = None


class Expect(Spec):
    """What the test expects; only the keys given are compared."""

    rule: RuleId
    outcome: OutcomeKind
    reason: str | None = None
    approvers: list[ExpectedGroup] | None = None
    exclude_earlier_approvers: bool | None = None
    step_up: ExpectedStepUp | None = None
    decisions: list[Decision] | None = None
    editable: list[str] | None = None
    deadline: Duration | None = None
    on_timeout: FinalTimeout | None = None
    escalate_to: list[list[ExpectedGroup]] | None = Field(
        None, description="Approver groups of each escalation step, in order.")
    notify: list[Name] | None = None
    min_review: Duration | None = None


class PolicyTestCase(Spec):
    name: Text
    event: EventSpec
    expect: Expect


class PolicyTestFile(Spec):
    description: Text | None = None
    tests: Annotated[list[PolicyTestCase], Field(min_length=1)]


@dataclass(frozen=True)
class PolicyTestResult:
    """One test: passed, or why not (a diff of expected against actual)."""

    file: str
    line: int
    name: str
    passed: bool
    diff: str = ""
    rule_id: str = ""


@dataclass(frozen=True)
class PolicyTestReport:
    """Every test run, and the rules no test reached."""

    policy_version: str
    results: tuple[PolicyTestResult, ...]
    untested_rules: tuple[str, ...]

    @property
    def failures(self) -> tuple[PolicyTestResult, ...]:
        return tuple(result for result in self.results if not result.passed)

    @property
    def passed(self) -> bool:
        return bool(self.results) and not self.failures


def find_test_files(paths: Iterable[str | Path]) -> list[Path]:
    """Test files under ``paths``: files as given, ``*.yaml`` of directories."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(item for item in path.iterdir()
                                if item.is_file() and item.suffix in TEST_SUFFIXES))
        elif path.is_file():
            found.append(path)
        else:
            raise PolicySourceMissing(f"{path} does not exist")
    return found


def _groups(groups: Iterable[Any]) -> list[dict[str, Any]]:
    return [{key: value for key, value in (("role", group.role), ("subject", group.subject),
                                           ("count", group.count)) if value is not None}
            for group in groups]


def _actual(outcome: PolicyOutcome, keys: Iterable[str]) -> dict[str, Any]:
    requirement = outcome.requirement
    view: dict[str, Any] = {"rule": outcome.rule_id, "outcome": outcome.kind,
                            "reason": outcome.reason}
    if requirement is not None:
        step_up = requirement.step_up
        view |= {
            "approvers": _groups(requirement.approvers),
            "exclude_earlier_approvers": requirement.exclude_earlier_approvers,
            "step_up": None if step_up is None else _step_up(step_up.acr, step_up.amr,
                                                              step_up.max_age),
            "decisions": list(requirement.decisions),
            "editable": list(requirement.editable_fields),
            "deadline": describe_duration(requirement.deadline),
            "on_timeout": requirement.on_timeout.then,
            "escalate_to": [_groups(step.approvers) for step in requirement.on_timeout.escalate],
            "notify": list(requirement.notify),
            "min_review": describe_duration(timedelta(seconds=requirement.min_review_seconds))
            if requirement.min_review_seconds else None,
        }
    return {key: view.get(key) for key in keys}


def _step_up(acr: Sequence[str], amr: Sequence[str], max_age: Any) -> dict[str, Any]:
    view: dict[str, Any] = {"acr": list(acr), "amr": list(amr)}
    if max_age is not None:
        view["max_age"] = describe_duration(max_age)
    return view


def _expected(expect: Expect) -> dict[str, Any]:
    view: dict[str, Any] = {}
    for key in ("rule", "outcome", *(name for name in Expect.model_fields
                                     if name in expect.model_fields_set)):
        value = getattr(expect, key)
        if key in ("deadline", "min_review") and value is not None:
            value = describe_duration(value)
        elif key == "approvers" and value is not None:
            value = _groups(value)
        elif key == "escalate_to" and value is not None:
            value = [_groups(step) for step in value]
        elif key == "step_up" and value is not None:
            value = _step_up(value.acr, value.amr, value.max_age)
        view[key] = value
    return view


def _as_text(view: dict[str, Any]) -> list[str]:
    text: str = yaml.safe_dump(view, sort_keys=False, default_flow_style=False,
                               allow_unicode=True, width=100)
    return text.splitlines(keepends=True)


def run_test_file(policy_set: PolicySet, path: str | Path) -> list[PolicyTestResult]:
    """Run the tests of one file; raise :class:`PolicyInvalid` if the file is malformed."""
    doc, problems = parse_yaml(Path(path).read_text(encoding="utf-8"), str(path))
    if problems:
        raise PolicyInvalid(problems)
    spec, problems = validate_document(PolicyTestFile, doc)
    if spec is None:
        raise PolicyInvalid(problems)
    results = []
    for number, case in enumerate(spec.tests):
        line = doc.position(("tests", number))[0]
        outcome = policy_set.evaluate(case.event.to_event(DEFAULT_TEST_TIME))
        expected = _expected(case.expect)
        actual = _actual(outcome, expected)
        diff = ""
        if expected != actual:
            before, after = _as_text(expected), _as_text(actual)
            diff = "".join(difflib.unified_diff(before, after, "expected", "actual",
                                                n=max(len(before), len(after))))
            if policy_set.rule(case.expect.rule) is None:
                close = difflib.get_close_matches(case.expect.rule,
                                                  [rule.id for rule in policy_set.rules], n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                diff = f"no rule of the set has the id '{case.expect.rule}'{hint}\n" + diff
        results.append(PolicyTestResult(str(path), line, case.name, not diff, diff,
                                        outcome.rule_id))
    return results


def run_policy_tests(policy_set: PolicySet, paths: Iterable[str | Path]) -> PolicyTestReport:
    """Run every test file under ``paths`` against ``policy_set``."""
    results: list[PolicyTestResult] = []
    problems: list[Problem] = []
    for path in find_test_files(paths):
        try:
            results.extend(run_test_file(policy_set, path))
        except PolicyInvalid as exc:
            problems.extend(exc.problems)
    if problems:
        raise PolicyInvalid(problems)
    reached = {result.rule_id for result in results}
    untested = tuple(rule.id for rule in policy_set.rules if rule.id not in reached)
    return PolicyTestReport(policy_set.version, tuple(results), untested)


def render_report(report: PolicyTestReport) -> str:
    """The report as text: one line per test, diffs of failures, a summary."""
    lines = []
    for result in report.results:
        mark = "ok  " if result.passed else "FAIL"
        lines.append(f"{mark} {result.file}:{result.line}: {result.name}")
        if not result.passed:
            lines.extend("       " + line for line in result.diff.rstrip("\n").splitlines())
    failed = len(report.failures)
    lines.append("")
    lines.append(f"{len(report.results) - failed} passed, {failed} failed "
                 f"(policy {report.policy_version[:19]}…)")
    if report.untested_rules:
        lines.append("Rules no test reaches: " + ", ".join(report.untested_rules))
    return "\n".join(lines)
