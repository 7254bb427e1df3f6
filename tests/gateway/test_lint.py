"""``oversight lint``: the checker on sample files, the file walk, and the command."""

from __future__ import annotations

import inspect
import json
import re
import shutil
import textwrap
from pathlib import Path
from typing import Any, TypedDict

import pytest
import typer
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.errors import GraphInterrupt
from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt
from typer.testing import CliRunner

from oversight.cli import lint as lint_command
from oversight.gateway.lint import Unusable, lint_paths, lint_source

DATA = Path(__file__).parent / "data" / "lint"
SYNTAX_ERROR = DATA / "broken" / "syntax_error.py.txt"
MARKER = re.compile(r"expect: ((?:OVS\d{3}@\d+\s*)+)$")


def expected_markers(path: Path) -> set[tuple[int, int, str]]:
    """The `expect: CODE@column` markers of a sample file, as (line, column, code)."""
    expected = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").split("\n"), start=1):
        match = MARKER.search(line)
        for token in match.group(1).split() if match else ():
            code, column = token.split("@")
            expected.add((number, int(column), code))
    return expected


def found(path: Path) -> set[tuple[int, int, str]]:
    return {(f.line, f.column, f.code)
            for f in lint_source(path.read_text(encoding="utf-8"), path=str(path))}


@pytest.mark.parametrize(("sample", "markers"), [
    ("swallowed.py", 21),
    ("unsafe_payloads.py", 25),
    ("ignored.py", 4),
    ("clean.py", 0),
])
def test_sample_findings_are_exactly_the_marked_ones(sample, markers):
    path = DATA / sample
    expected = expected_markers(path)
    assert len(expected) == markers  # the markers themselves were read
    assert found(path) == expected


def test_ovs001_names_the_handler_and_the_fix():
    findings = {(f.line, f.code): f.message for f in lint_source(
        (DATA / "swallowed.py").read_text(encoding="utf-8"))}
    assert findings[25, "OVS001"] == (
        "interrupt() runs inside a `try` whose `except:` (line 26) catches GraphInterrupt and "
        "does not re-raise: the run goes on approved by nobody; add `except GraphInterrupt: "
        "raise` before it")
    assert "`except (ValueError, Exception)` (line 48)" in findings[47, "OVS001"]
    assert findings[61, "OVS001"].startswith("request_approval() runs inside a `try`")
    assert findings[113, "OVS001"] == (
        "`except GraphInterrupt` does not re-raise: the approval request is dropped and the "
        "run goes on approved by nobody; end the handler with `raise`")
    assert findings[126, "OVS001"].startswith(
        "interrupt() runs inside `with contextlib.suppress(Exception)` (line 125)")
    assert findings[148, "OVS001"].startswith(
        "ask_twice() (it calls ask_manager() at line 143) runs inside a `try`")


def test_ovs002_quotes_the_source_and_gives_the_hint():
    findings = {(f.line, f.column): f.message for f in lint_source(
        (DATA / "unsafe_payloads.py").read_text(encoding="utf-8"))}
    assert findings[20, 22] == (
        "`datetime.now()` in the value of interrupt() is not JSON-safe (datetime): convert it "
        "with .isoformat()")
    assert findings[32, 24].startswith("`1e999` in the value of interrupt()")  # as written
    assert findings[33, 16].startswith("the key `1` (int) in the value of interrupt()")
    assert findings[36, 58].startswith("`date.today()` in the payload of request_approval()")


def test_columns_count_characters_not_bytes():
    source = 'from langgraph.types import interrupt\ninterrupt({"é": "à", "set": {1}})\n'
    (finding,) = lint_source(source)
    assert (finding.line, finding.column) == (2, 29)  # the set literal; é and à are 2 bytes each


def test_a_syntax_error_is_reported_with_its_place_and_does_not_stop_the_others():
    result = lint_paths([SYNTAX_ERROR, DATA / "ignored.py"])
    assert result.unusable == (
        Unusable(str(SYNTAX_ERROR), 6, 23, "cannot parse: '(' was never closed"),)
    assert {f.line for f in result.findings} == {12, 14, 15, 16}  # ignored.py was still checked
    assert result.files_checked == 2
    assert result.exit_code == 2  # unusable input wins over findings


def test_exit_codes():
    assert lint_paths([DATA / "clean.py"]).exit_code == 0
    assert lint_paths([DATA / "swallowed.py"]).exit_code == 1
    missing = lint_paths([DATA / "no_such_file.py"])
    assert missing.unusable == (
        Unusable(str(DATA / "no_such_file.py"), None, None, "no such file or directory"),)
    assert missing.exit_code == 2


BAD = "from langgraph.types import interrupt\ntry:\n    interrupt(1)\nexcept Exception:\n    pass\n"


def test_folders_are_walked_for_python_files_skipping_hidden_and_tool_folders(tmp_path):
    for skipped in (".venv", ".git", ".hidden", "__pycache__", "venv", "node_modules"):
        (tmp_path / skipped).mkdir()
        (tmp_path / skipped / "bad.py").write_text(BAD)
    (tmp_path / "agents" / "deep").mkdir(parents=True)
    (tmp_path / "agents" / "deep" / "bad.py").write_text(BAD)
    (tmp_path / "agents" / "notes.txt").write_text(BAD)
    (tmp_path / "agents" / "ok.py").write_text("x = 1\n")
    result = lint_paths([tmp_path])
    assert result.files_checked == 2
    assert [(f.path, f.line, f.column) for f in result.findings] == [
        (str(tmp_path / "agents" / "deep" / "bad.py"), 3, 5)]
    # A hidden folder or a file of another extension named explicitly is checked.
    named = lint_paths([tmp_path / ".hidden", tmp_path / "agents" / "notes.txt"])
    assert [f.path for f in named.findings] == [str(tmp_path / ".hidden" / "bad.py"),
                                                str(tmp_path / "agents" / "notes.txt")]


def test_a_folder_with_a_broken_file_reports_both(tmp_path):
    shutil.copy(SYNTAX_ERROR, tmp_path / "broken.py")
    (tmp_path / "bad.py").write_text(BAD)
    (tmp_path / "latin1.py").write_bytes(b"\xff\xfe not utf-8\n")
    result = lint_paths([tmp_path])
    assert [(u.path, u.line, u.column) for u in result.unusable] == [
        (str(tmp_path / "broken.py"), 6, 23), (str(tmp_path / "latin1.py"), None, None)]
    assert result.unusable[1].message.startswith("cannot decode:")
    assert [(f.line, f.code) for f in result.findings] == [(3, "OVS001")]


def test_a_coding_cookie_is_honoured(tmp_path):
    path = tmp_path / "legacy.py"
    path.write_bytes(b"# -*- coding: latin-1 -*-\nfrom langgraph.types import interrupt\n"
                     b'interrupt({"\xe9": {1}})\n')
    (finding,) = lint_paths([path]).findings
    assert (finding.line, finding.column, finding.code) == (3, 17, "OVS002")


DOCS = Path(__file__).parents[2] / "docs" / "lint.md"


def test_the_examples_in_the_docs_lint_as_their_comments_say():
    blocks = re.findall(r"```python\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.DOTALL)
    assert len(blocks) == 5
    for block in blocks:
        expected = []
        for number, line in enumerate(block.split("\n"), start=1):
            match = re.search(r"# (OVS\d{3})( twice)?$", line)
            if match:
                expected += [(number, match.group(1))] * (2 if match.group(2) else 1)
        assert sorted((f.line, f.code) for f in lint_source(block)) == expected, block


# -- the command, registered as the team lead does -----------------------------------------


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()
    app.command(name="lint")(lint_command.lint)

    @app.command(name="version")  # a second command, so `lint` is a subcommand as in `oversight`
    def version() -> None:
        typer.echo("0")

    return app


def test_cli_text_output_is_sorted_path_line_col(cli):
    result = CliRunner().invoke(cli, ["lint", str(DATA / "ignored.py")])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert [line.split(" ", 2)[:2] for line in lines] == [
        [f"{DATA / 'ignored.py'}:12:9:", "OVS001"],
        [f"{DATA / 'ignored.py'}:14:9:", "OVS001"],
        [f"{DATA / 'ignored.py'}:15:47:", "OVS001"],
        [f"{DATA / 'ignored.py'}:16:9:", "OVS001"],
    ]
    assert result.stderr.startswith("4 finding(s) in 1 file: fix each as its message says")


def test_cli_clean_run_exits_zero(cli):
    result = CliRunner().invoke(cli, ["lint", str(DATA / "clean.py")])
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "no findings in 1 file\n")


def test_cli_reports_unusable_input_and_exits_two(cli):
    result = CliRunner().invoke(cli, ["lint", str(SYNTAX_ERROR), str(DATA / "swallowed.py"),
                                      "missing.py"])
    assert result.exit_code == 2
    assert f"{SYNTAX_ERROR}:6:23: error: cannot parse: '(' was never closed" in result.stdout
    assert "missing.py: error: no such file or directory" in result.stdout
    assert len([line for line in result.stdout.splitlines() if " OVS001 " in line]) == 21
    assert "2 path(s) could not be checked" in result.stderr


def test_cli_json_output(cli):
    result = CliRunner().invoke(cli, ["lint", "--format", "json", str(DATA / "ignored.py"),
                                      str(SYNTAX_ERROR)])
    assert result.exit_code == 2
    report = json.loads(result.stdout)
    assert report["files_checked"] == 2
    assert report["findings"][0] == {
        "path": str(DATA / "ignored.py"), "line": 12, "column": 9, "code": "OVS001",
        "message": report["findings"][0]["message"]}
    assert [(f["line"], f["column"]) for f in report["findings"]] == [(12, 9), (14, 9), (15, 47),
                                                                       (16, 9)]
    assert report["errors"] == [{"path": str(SYNTAX_ERROR), "line": 6, "column": 23,
                                 "message": "cannot parse: '(' was never closed"}]
    assert set(report["codes"]) == {"OVS001", "OVS002"}


def test_cli_needs_a_path(cli):
    result = CliRunner().invoke(cli, ["lint"])
    assert result.exit_code == 2
    assert "Missing argument" in result.stderr


# -- why OVS001 exists: what raw LangGraph does ----------------------------------------------


class State(TypedDict):
    result: str


def swallowing_node(state: State) -> State:
    try:
        answer = interrupt("refund 500 EUR?")
    except Exception:
        answer = "approved by nobody"
    return {"result": answer}


def propagating_node(state: State) -> State:
    try:
        answer = interrupt("refund 500 EUR?")
    except GraphInterrupt:
        raise
    except Exception:
        answer = "tool failed"
    return {"result": answer}


def run_once(node: Any) -> tuple[dict[str, Any], tuple[str, ...]]:
    builder = StateGraph(State)
    builder.add_node("refund", node)
    builder.add_edge(START, "refund")
    builder.add_edge("refund", END)
    graph = builder.compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}
    out = graph.invoke({"result": ""}, config)
    return out, graph.get_state(config).next


def test_a_swallowed_interrupt_finishes_the_run_and_lint_finds_it():
    # Observed with langgraph 1.2: interrupt() raises GraphInterrupt, `except Exception`
    # catches it, and the run completes as if someone had answered. Nothing is pending.
    out, pending = run_once(swallowing_node)
    assert out == {"result": "approved by nobody"}
    assert pending == ()
    findings = lint_source(textwrap.dedent(inspect.getsource(swallowing_node)))
    assert [(f.line, f.column, f.code) for f in findings] == [(3, 18, "OVS001")]


def test_the_recommended_pattern_pauses_and_lint_accepts_it():
    out, pending = run_once(propagating_node)
    assert out["__interrupt__"][0].value == "refund 500 EUR?"
    assert pending == ("refund",)
    assert lint_source(textwrap.dedent(inspect.getsource(propagating_node))) == []
