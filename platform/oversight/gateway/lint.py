"""A static check of LangGraph code for approval requests that can be lost.

``OVS001``  an interrupting call (``interrupt()``, ``request_approval()``, or a function of
            the same file that makes one) sits in a ``try`` whose handler catches
            ``GraphInterrupt`` (``except Exception``, ``except BaseException``, bare
            ``except:``, ``except GraphInterrupt``/``GraphBubbleUp``, or a tuple holding
            one) and does not re-raise; also ``with contextlib.suppress(Exception)``.
            ``GraphInterrupt`` is an ``Exception``, so the run goes on approved by nobody.
``OVS002``  the payload written in the call holds a value JSON cannot carry
            (``datetime.now()``, ``uuid4()``, ``Decimal(...)``, a set, bytes, NaN, a
            non-string key): the checkpointer or the ledger fails, or the value changes.

The checked code is parsed with ``ast``, never imported. Any ``raise`` in a handler counts
as re-raising. ``# oversight: ignore[OVS001]`` on the reported line silences a finding.
"""

from __future__ import annotations

import ast
import importlib.util
import io
import os
import re
import tokenize
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from oversight.gateway.payloads import HINTS

CODES = {
    "OVS001": "an exception handler swallows the interrupt",
    "OVS002": "the interrupt payload is not JSON-safe",
}
SKIPPED_DIRS = frozenset({"__pycache__", "node_modules", "venv"})  # and every ".hidden" one

_IGNORE = re.compile(r"#\s*oversight:\s*ignore\[([A-Za-z0-9_,\s]*)\]")
_BROAD = frozenset({"Exception", "BaseException", "builtins.Exception", "builtins.BaseException"})
_GRAPH = frozenset({"GraphInterrupt", "GraphBubbleUp"})
_INTERRUPT = "langgraph.types.interrupt"
_UNSAFE_CALLS: dict[str, str] = {
    **dict.fromkeys(
        [f"datetime.datetime{m}" for m in ("", ".now", ".utcnow", ".today", ".fromtimestamp",
                                           ".utcfromtimestamp", ".fromisoformat", ".strptime",
                                           ".combine")]
        + [f"datetime.date{m}" for m in ("", ".today", ".fromtimestamp", ".fromisoformat")]
        + ["datetime.time", "datetime", "datetime.now", "datetime.utcnow", "date.today"],
        "datetime"),
    "datetime.timedelta": "timedelta",
    **dict.fromkeys([f"uuid.{f}" for f in ("uuid1", "uuid3", "uuid4", "uuid5", "UUID")]
                    + ["uuid4", "UUID"], "uuid"),
    "decimal.Decimal": "decimal", "Decimal": "decimal",
    "set": "set", "frozenset": "set", "object": "object", "bytes": "bytes", "bytearray": "bytes",
}
_NOT_FINITE = {"math.nan": "nan", "math.inf": "infinity", "numpy.nan": "nan",
               "numpy.inf": "infinity", "cmath.nan": "nan", "cmath.inf": "infinity"}

_Guard = ast.Try | ast.TryStar | ast.withitem
_Scope = ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda


@dataclass(frozen=True, order=True)
class Finding:
    """One problem at ``path:line:column`` (both 1-based; the column counts characters)."""

    path: str
    line: int
    column: int
    code: str
    message: str


@dataclass(frozen=True, order=True)
class Unusable:
    """A path that could not be checked: missing, unreadable or not valid Python."""

    path: str
    line: int | None
    column: int | None
    message: str


@dataclass(frozen=True)
class LintResult:
    findings: tuple[Finding, ...]
    unusable: tuple[Unusable, ...]
    files_checked: int

    @property
    def exit_code(self) -> int:
        """2 if anything could not be checked (even with findings), 1 on findings, else 0."""
        return 2 if self.unusable else 1 if self.findings else 0


def lint_paths(paths: Iterable[Path]) -> LintResult:
    """Check files and folders (searched for ``*.py``); every file is checked, come what may."""
    files, unusable = discover_python_files(paths)
    findings: list[Finding] = []
    for file in files:
        try:
            source = importlib.util.decode_source(file.read_bytes())
        except OSError as exc:
            unusable.append(Unusable(str(file), None, None, f"cannot read: {exc.strerror}"))
            continue
        except (SyntaxError, UnicodeDecodeError) as exc:  # a bad coding cookie, or bytes
            unusable.append(Unusable(str(file), None, None, f"cannot decode: {exc}"))
            continue
        try:
            findings.extend(lint_source(source, path=str(file)))
        except SyntaxError as exc:
            unusable.append(Unusable(str(file), exc.lineno, exc.offset or None,
                                     f"cannot parse: {exc.msg}"))
        except (RecursionError, ValueError) as exc:
            unusable.append(Unusable(str(file), None, None, f"cannot parse: {exc}"))
    return LintResult(tuple(sorted(findings)), tuple(sorted(unusable)), len(files))


def discover_python_files(paths: Iterable[Path]) -> tuple[list[Path], list[Unusable]]:
    """Files named on the command line as they are, and ``*.py`` under each folder, sorted."""
    files: dict[Path, None] = {}
    missing: list[Unusable] = []
    for path in paths:
        if path.is_dir():
            for root, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED_DIRS)
                files.update((Path(root, n), None) for n in sorted(names) if n.endswith(".py"))
        elif path.is_file():
            files[path] = None
        else:
            missing.append(Unusable(str(path), None, None, "no such file or directory"))
    return list(files), missing


def lint_source(source: str, *, path: str = "<string>") -> list[Finding]:
    """Findings for one module's source, sorted; raises ``SyntaxError`` if it does not parse."""
    tree = ast.parse(source, filename=path)
    checker = _Checker(tree, path, source)
    checker.run()
    ignored = _ignored_codes(source)
    return sorted(f for f in checker.findings if f.code not in ignored.get(f.line, ()))


def _ignored_codes(source: str) -> dict[int, set[str]]:
    ignored: dict[int, set[str]] = {}
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            match = _IGNORE.search(token.string) if token.type == tokenize.COMMENT else None
            if match:
                codes = {c.strip().upper() for c in match.group(1).split(",") if c.strip()}
                ignored.setdefault(token.start[0], set()).update(codes)
    except (tokenize.TokenError, SyntaxError):  # parsed by ast already; be lenient here
        pass
    return ignored


class _Checker:
    def __init__(self, tree: ast.Module, path: str, source: str) -> None:
        self.tree = tree
        self.path = path
        self.source = source
        self.lines = source.split("\n")
        self.findings: list[Finding] = []
        self.aliases = _aliases(tree)
        self.helpers: dict[str, str] = {}  # helper name -> the interrupting call it makes
        self._find_helpers()

    def run(self) -> None:
        stack: list[tuple[ast.AST, tuple[_Guard, ...]]] = [(self.tree, ())]
        while stack:
            node, guards = stack.pop()
            if isinstance(node, ast.Call):
                self._check_call(node, guards)
            if isinstance(node, ast.Try | ast.TryStar):
                self._check_handlers(node)
                stack.extend((child, (*guards, node)) for child in node.body)
                stack.extend((child, guards) for child in (*node.handlers, *node.orelse,
                                                           *node.finalbody))
            elif isinstance(node, ast.With | ast.AsyncWith):
                inner = (*guards, *(i for i in node.items if self._suppresses(i.context_expr)))
                stack.extend((child, guards) for child in node.items)
                stack.extend((child, inner) for child in node.body)
            elif isinstance(node, _Scope):
                # Decorators and defaults run here; the body runs later, outside these trys.
                body = node.body if isinstance(node.body, list) else [node.body]
                stack.extend((child, guards) for child in ast.iter_child_nodes(node)
                             if child not in body)
                stack.extend((child, ()) for child in body)
            else:
                stack.extend((child, guards) for child in ast.iter_child_nodes(node))

    # -- names -------------------------------------------------------------------------------

    def _qualname(self, expr: ast.expr) -> str | None:
        parts: list[str] = []
        while isinstance(expr, ast.Attribute):
            parts.append(expr.attr)
            expr = expr.value
        if not isinstance(expr, ast.Name):
            return None
        parts.append(self.aliases.get(expr.id, expr.id))
        return ".".join(reversed(parts))

    def _interrupt_kind(self, call: ast.Call) -> str | None:
        """``"interrupt"``, ``"request_approval"``, a helper's name, or ``None``."""
        name = self._qualname(call.func)
        if name is None:
            return None
        if name == _INTERRUPT or name == "interrupt" or name == "types.interrupt":
            return "interrupt"
        if name.rsplit(".", 1)[-1] == "request_approval":
            return "request_approval"
        if isinstance(call.func, ast.Name) and name in self.helpers:
            return name
        return None

    def _find_helpers(self) -> None:
        """Module-level functions that make an interrupting call, directly or through another."""
        defs = [n for n in self.tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
        changed = True
        while changed:
            changed = False
            for func in defs:
                if func.name in self.helpers:
                    continue
                for node in _same_scope(func.body):
                    if isinstance(node, ast.Call) and (kind := self._interrupt_kind(node)):
                        self.helpers[func.name] = f"{kind}() at line {node.lineno}"
                        changed = True
                        break

    # -- OVS001 ------------------------------------------------------------------------------

    def _catches(self, expr: ast.expr | None) -> str | None:
        """``"broad"`` or ``"graph"`` if an ``except`` of ``expr`` catches GraphInterrupt."""
        if expr is None:
            return "broad"
        if isinstance(expr, ast.Tuple):
            kinds = {self._catches(e) for e in expr.elts}
            return "broad" if "broad" in kinds else "graph" if "graph" in kinds else None
        name = self._qualname(expr) or ""
        if name in _BROAD:
            return "broad"
        return "graph" if name.rsplit(".", 1)[-1] in _GRAPH else None

    def _suppresses(self, expr: ast.expr) -> bool:
        return (isinstance(expr, ast.Call)
                and self._qualname(expr.func) in ("contextlib.suppress", "suppress")
                and any(self._catches(arg) for arg in expr.args))

    def _check_handlers(self, node: ast.Try | ast.TryStar) -> None:
        for handler in node.handlers:
            if self._catches(handler.type) == "graph" and not _reraises(handler):
                self._add(handler, "OVS001",
                          f"`{self._except(handler)}` does not re-raise: the approval request is "
                          "dropped and the run goes on approved by nobody; end the handler "
                          "with `raise`")

    def _check_call(self, call: ast.Call, guards: tuple[_Guard, ...]) -> None:
        kind = self._interrupt_kind(call)
        if kind is None:
            return
        if kind in ("interrupt", "request_approval"):
            self._check_payload(call, kind)
        what = f"{kind}()" if kind in ("interrupt", "request_approval") else (
            f"{kind}() (it calls {self.helpers[kind]})")
        for guard in reversed(guards):
            if isinstance(guard, ast.withitem):
                self._add(call, "OVS001",
                          f"{what} runs inside `with {self._short(guard.context_expr)}` (line "
                          f"{guard.context_expr.lineno}), which swallows GraphInterrupt: the run"
                          " goes on approved by nobody; move the call out of the `with`")
                return
            handler = next((h for h in guard.handlers if self._catches(h.type)), None)
            if handler is None or _reraises(handler):
                continue  # the interrupt propagates to the enclosing try
            if self._catches(handler.type) == "broad":  # `except GraphInterrupt` is reported once
                self._add(call, "OVS001",
                          f"{what} runs inside a `try` whose `{self._except(handler)}` (line "
                          f"{handler.lineno}) catches GraphInterrupt and does not re-raise: "
                          "the run goes on approved by nobody; add `except GraphInterrupt: "
                          "raise` before it")
            return

    # -- OVS002 ------------------------------------------------------------------------------

    def _check_payload(self, call: ast.Call, kind: str) -> None:
        wanted = "value" if kind == "interrupt" else "payload"
        args = [k.value for k in call.keywords if k.arg == wanted]
        if kind == "interrupt" and call.args:
            args.append(call.args[0])
        stack = list(args)
        while stack:
            expr = stack.pop()
            verdict = self._unsafe(expr)
            if verdict is not None:
                self._add(expr, "OVS002",
                          f"`{self._short(expr)}` in the {wanted} of {kind}() is not JSON-safe "
                          f"({verdict}): {HINTS[verdict]}")
            elif isinstance(expr, ast.Dict):
                for key in expr.keys:
                    if isinstance(key, ast.Constant) and not isinstance(key.value, str):
                        key_type = type(key.value).__name__
                        self._add(key, "OVS002",
                                  f"the key `{self._short(key)}` ({key_type}) in the {wanted} "
                                  f"of {kind}() is not JSON-safe: {HINTS['key']}")
                stack.extend(v for v in (*expr.keys, *expr.values) if v is not None)
            elif isinstance(expr, ast.List | ast.Tuple):
                stack.extend(e.value if isinstance(e, ast.Starred) else e for e in expr.elts)
            elif isinstance(expr, ast.UnaryOp) and isinstance(expr.op, ast.USub | ast.UAdd):
                stack.append(expr.operand)

    def _unsafe(self, expr: ast.expr) -> str | None:
        """The payloads.HINTS kind of a visibly unsafe expression, else ``None``."""
        if isinstance(expr, ast.Set | ast.SetComp):
            return "set"
        if isinstance(expr, ast.Constant):
            if isinstance(expr.value, bytes):
                return "bytes"
            if isinstance(expr.value, float) and expr.value in (float("inf"), float("-inf")):
                return "infinity"  # a literal such as 1e999
            return None
        if isinstance(expr, ast.Call):
            name = self._qualname(expr.func)
            if name in ("float", "builtins.float") and expr.args:
                arg = expr.args[0]
                text = arg.value if isinstance(arg, ast.Constant) else None
                if isinstance(text, str) and text.strip().lstrip("+-").lower() in (
                        "nan", "inf", "infinity"):
                    return "nan" if "nan" in text.lower() else "infinity"
            return _UNSAFE_CALLS.get(name or "")
        if isinstance(expr, ast.Attribute | ast.Name):
            return _NOT_FINITE.get(self._qualname(expr) or "")
        return None

    def _short(self, expr: ast.expr) -> str:
        """The expression as written (on one line, shortened), for messages."""
        text = " ".join((ast.get_source_segment(self.source, expr) or ast.unparse(expr)).split())
        return text if len(text) <= 60 else text[:57] + "..."

    def _except(self, handler: ast.ExceptHandler) -> str:
        return "except:" if handler.type is None else f"except {self._short(handler.type)}"

    def _add(self, node: ast.expr | ast.stmt | ast.excepthandler, code: str, message: str) -> None:
        line = self.lines[node.lineno - 1] if node.lineno <= len(self.lines) else ""
        column = len(line.encode()[: node.col_offset].decode(errors="replace")) + 1
        self.findings.append(Finding(self.path, node.lineno, column, code, message))


def _aliases(tree: ast.Module) -> dict[str, str]:
    """Local name → what it names, from every import in the file and module-level aliases."""
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    aliases[alias.asname] = alias.name
                else:
                    head = alias.name.split(".")[0]
                    aliases[head] = head
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            for alias in node.names:
                if alias.name != "*":
                    aliases[alias.asname or alias.name] = f"{module}.{alias.name}".lstrip(".")
    for stmt in tree.body:  # `ask = interrupt` at module level
        if (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], ast.Name)
                and isinstance(stmt.value, ast.Name | ast.Attribute)):
            parts: list[str] = []
            value: ast.expr = stmt.value
            while isinstance(value, ast.Attribute):
                parts.append(value.attr)
                value = value.value
            if isinstance(value, ast.Name):
                parts.append(aliases.get(value.id, value.id))
                aliases[stmt.targets[0].id] = ".".join(reversed(parts))
    return aliases


def _same_scope(nodes: Sequence[ast.AST]) -> Iterator[ast.AST]:
    """Every node under ``nodes`` that runs when they run: nested functions excluded."""
    stack = list(nodes)
    while stack:
        node = stack.pop()
        yield node
        stack.extend(c for c in ast.iter_child_nodes(node) if not isinstance(c, _Scope))


def _reraises(handler: ast.ExceptHandler) -> bool:
    return any(isinstance(node, ast.Raise) for node in _same_scope(handler.body))


