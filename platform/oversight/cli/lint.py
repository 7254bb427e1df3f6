"""``oversight lint``: find approval requests that LangGraph code can lose (see docs/lint.md)."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

import typer

from oversight.gateway.lint import CODES, LintResult, lint_paths


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


def lint(
    paths: list[Path] = typer.Argument(
        ..., metavar="PATH...", help="Files or folders to check; folders are searched for *.py."
    ),
    output_format: OutputFormat = typer.Option(
        OutputFormat.text, "--format", help="text: path:line:col: CODE message; json: one document."
    ),
) -> None:
    """Check LangGraph code for swallowed interrupts (OVS001) and unsafe payloads (OVS002).

    Prints path:line:col: CODE message (columns 1-based). Exit status:
    0 nothing found, 1 findings, 2 a path could not be checked (2 wins over 1).
    Silence one finding with `# oversight: ignore[OVS001]` on its line.
    """
    result = lint_paths(paths)
    if output_format is OutputFormat.json:
        typer.echo(json.dumps(as_json(result), indent=2, ensure_ascii=False))
    else:
        for line in as_text(result):
            typer.echo(line)
        typer.echo(summary(result), err=True)
    raise typer.Exit(result.exit_code)


def as_text(result: LintResult) -> list[str]:
    """One ``path:line:col: ...`` line per finding and per unusable path, sorted by place."""
    rows: list[tuple[str, int, int, str]] = [
        (f.path, f.line, f.column, f"{f.path}:{f.line}:{f.column}: {f.code} {f.message}")
        for f in result.findings
    ]
    for u in result.unusable:
        place = u.path if u.line is None else f"{u.path}:{u.line}:{u.column or 1}"
        rows.append((u.path, u.line or 0, u.column or 0, f"{place}: error: {u.message}"))
    return [row[3] for row in sorted(rows)]


def as_json(result: LintResult) -> dict[str, object]:
    """The machine-readable report: findings, unusable paths, and what each code means."""
    return {
        "findings": [
            {"path": f.path, "line": f.line, "column": f.column, "code": f.code,
             "message": f.message}
            for f in result.findings
        ],
        "errors": [
            {"path": u.path, "line": u.line, "column": u.column, "message": u.message}
            for u in result.unusable
        ],
        "files_checked": result.files_checked,
        "codes": CODES,
    }


def summary(result: LintResult) -> str:
    """A sentence for the person at the terminal, saying what to do next."""
    files = f"{result.files_checked} file{'s' if result.files_checked != 1 else ''}"
    if result.unusable:
        return (f"{len(result.findings)} finding(s) in {files} checked; "
                f"{len(result.unusable)} path(s) could not be checked: fix them and run again")
    if result.findings:
        return (f"{len(result.findings)} finding(s) in {files}: fix each as its message says, "
                "or silence a deliberate one with `# oversight: ignore[CODE]` on its line")
    if not result.files_checked:
        return "no Python files found"
    return f"no findings in {files}"
