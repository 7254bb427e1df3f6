"""``oversight policy …``: check, test, explain and replay policy rules; print their schema.

Exit codes: 0 success, 1 the policy (or a test) fails, 2 wrong usage.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from oversight.policy import PolicySet, load_policy_set
from oversight.policy.eventfiles import read_event, read_recorded_events
from oversight.policy.exceptions import PolicyError, PolicyInvalid
from oversight.policy.explain import explain_event, render_explanation
from oversight.policy.replay import ReplayReport, render_replay, replay
from oversight.policy.schemas import policy_json_schema
from oversight.policy.testing import render_report, run_policy_tests

app = typer.Typer(
    help="Check, test, explain and replay policy rules (YAML files under policies/).",
    no_args_is_help=True,
)

Paths = Annotated[list[Path], typer.Argument(
    help="Policy files or directories (a directory stands for its *.yaml files).",
    show_default=False)]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def _fail(message: str, *, hint: str, code: int = 1) -> NoReturn:
    typer.echo(message, err=True)
    typer.echo(hint, err=True)
    raise typer.Exit(code)


def _report_error(exc: PolicyError, *, hint: str, as_json: bool) -> NoReturn:
    problems = exc.problems if isinstance(exc, PolicyInvalid) else ()
    if as_json:
        typer.echo(json.dumps({"ok": False, **exc.problem()}, indent=2))
        raise typer.Exit(1)
    for problem in problems:
        typer.echo(str(problem), err=True)
    if problems:
        typer.echo(f"{len(problems)} problem{'s' if len(problems) != 1 else ''}.", err=True)
    else:
        typer.echo(f"error: {exc.detail}", err=True)
    typer.echo(hint, err=True)
    raise typer.Exit(1)


def _load(paths: list[Path], *, as_json: bool) -> PolicySet:
    try:
        return load_policy_set(paths)
    except PolicyError as exc:
        where = " ".join(str(path) for path in paths)
        _report_error(exc, as_json=as_json, hint=(
            f"Fix the problems above, then run `oversight policy check {where}` again "
            "(see docs/policies.md)."))


def _emit(data: dict[str, Any]) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


@app.command()
def check(paths: Paths, as_json: AsJson = False) -> None:
    """Validate a policy set: every problem with its file, line and column."""
    policy_set = _load(paths, as_json=as_json)
    files = [source.path for source in policy_set.sources]
    if as_json:
        _emit({"ok": True, "version": policy_set.version, "files": files,
               "rules": [{"id": rule.id, "where": rule.where, "kind": rule.kind}
                         for rule in policy_set.rules]})
        return
    typer.echo(f"OK: {len(policy_set.rules)} rules in {len(files)} file(s): {', '.join(files)}")
    typer.echo(f"version {policy_set.version}")


@app.command("test")
def run_tests(
    paths: Paths,
    tests: Annotated[list[Path] | None, typer.Option(
        "--tests", help="Test files or directories (default: the tests/ folder of each "
                        "policy directory).")] = None,
    as_json: AsJson = False,
) -> None:
    """Run policy tests (an event in, the expected rule and outcome out)."""
    policy_set = _load(paths, as_json=as_json)
    test_paths = tests or [path / "tests" for path in paths if (path / "tests").is_dir()]
    if not test_paths:
        _fail("No test files found.", hint=(
            "Put test files in a tests/ folder next to the policies, or pass --tests PATH "
            "(see docs/policies.md, section Tests)."))
    try:
        report = run_policy_tests(policy_set, test_paths)
    except PolicyError as exc:
        _report_error(exc, as_json=as_json, hint="Fix the test files above and run the "
                                                 "tests again.")
    if as_json:
        _emit({"ok": report.passed, "version": report.policy_version,
               "results": [{"file": result.file, "line": result.line, "name": result.name,
                            "passed": result.passed, "diff": result.diff}
                           for result in report.results],
               "untested_rules": list(report.untested_rules)})
    else:
        typer.echo(render_report(report))
    if not report.results:
        _fail("The test files hold no test.", hint="Add tests under tests: in each file.")
    if not report.passed:
        typer.echo("Some tests failed: compare expected and actual above, then fix the rule "
                   "or the test.", err=True)
        raise typer.Exit(1)


@app.command()
def explain(
    paths: Paths,
    event: Annotated[Path, typer.Option("--event", help="A YAML or JSON file holding one "
                                                        "event.", show_default=False)],
    as_json: AsJson = False,
) -> None:
    """Show which rule matches an event, why earlier rules do not, and what it requires."""
    policy_set = _load(paths, as_json=as_json)
    try:
        parsed = read_event(event)
    except PolicyError as exc:
        _report_error(exc, as_json=as_json, hint="Fix the event file above (see "
                                                 "docs/policies.md, section Explain).")
    explanation = explain_event(policy_set, parsed)
    if as_json:
        _emit(explanation.as_dict())
    else:
        typer.echo(render_explanation(explanation))


@app.command("replay")
def replay_command(
    paths: Paths,
    events: Annotated[Path | None, typer.Option(
        "--events", help="Past events: JSON Lines, or YAML/JSON with events:.")] = None,
    against: Annotated[list[Path] | None, typer.Option(
        "--against", help="The set in force to compare with (default: the outcomes "
                          "recorded in the events).")] = None,
    from_db: Annotated[bool, typer.Option("--from-db", help="Read past events from the "
                                                            "gateway's database.")] = False,
    since: Annotated[str | None, typer.Option("--since", help="With --from-db: events "
                                                              "since this time.")] = None,
    fail_on_change: Annotated[bool, typer.Option(
        "--fail-on-change", help="Exit 1 if any outcome would change (for CI).")] = False,
    as_json: AsJson = False,
) -> None:
    """Run a candidate set over past events; report every outcome that would change."""
    if since and not from_db:
        _fail("--since goes with --from-db.", hint="Add --from-db to read the gateway's "
                                                   "database.", code=2)
    if from_db == (events is not None):
        _fail("Give exactly one of --events FILE and --from-db.",
              hint="Pass the past events to replay, e.g. --events events.jsonl, or read the "
                   "gateway's database with --from-db [--since 2026-11-01T00:00:00Z].", code=2)
    candidate = _load(paths, as_json=as_json)
    baseline = _load(against, as_json=as_json) if against else None
    try:
        if events is not None:
            report = replay(candidate, read_recorded_events(events), baseline)
        else:
            report = _replay_from_db(candidate, baseline, since)
    except PolicyError as exc:
        _report_error(exc, as_json=as_json, hint="Fix the events file above, or compare "
                                                 "with the set in force using --against.")
    if as_json:
        _emit(report.as_dict())
    else:
        typer.echo(render_replay(report))
    if fail_on_change and report.changes:
        raise typer.Exit(1)


def _replay_from_db(candidate: PolicySet, baseline: PolicySet | None,
                    since: str | None) -> ReplayReport:
    import datetime as dt

    from oversight.approvals.history import recorded_events
    from oversight.cli.context import command_context

    moment = None
    if since is not None:
        try:
            moment = dt.datetime.fromisoformat(since)
        except ValueError:
            _fail(f"--since: {since!r} is not an ISO 8601 time.",
                  hint="Write it like 2026-11-01T00:00:00Z.", code=2)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
    ctx = command_context()
    with ctx.sessions() as session:
        return replay(candidate, recorded_events(session, since=moment), baseline)


@app.command()
def schema() -> None:
    """Print the JSON Schema of policy files (for editors; see docs/policies.md)."""
    _emit(policy_json_schema())
