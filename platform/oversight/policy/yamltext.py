"""YAML text → plain JSON-like data, remembering where every key and value starts.

Why not ruamel.yaml's round-trip loader: it keeps line/column too, but its pure-Python
parser takes ~0.6 s for a 200-rule set on our machines, far over the 200 ms load budget.
PyYAML's libyaml composer (already installed through langchain-core) builds the node tree
with marks in ~40 ms; we construct values from the nodes ourselves, which also lets us:

- resolve plain scalars with the YAML 1.2 core schema (``no``, ``on``, ``yes`` stay text;
  ``09:00`` is text, never a base-60 number);
- refuse duplicate keys (PyYAML silently keeps the last one);
- refuse tags that would build objects, and bound how far aliases may expand.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from oversight.policy.exceptions import Problem

Path = tuple[str | int, ...]

MAX_VALUES = 200_000  # values a file may expand to (aliases included)

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_RESOLVER = yaml.resolver.Resolver()
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT = re.compile(r"^[-+]?[0-9]+$")
_OCT = re.compile(r"^0o[0-7]+$")
_HEX = re.compile(r"^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
_INF = re.compile(r"^[-+]?\.(?:inf|Inf|INF)$")
_NAN = re.compile(r"^\.(?:nan|NaN|NAN)$")
_STD = "tag:yaml.org,2002:"
_IMPLICIT_TAGS = frozenset(_STD + name for name in ("str", "int", "float", "bool", "null",
                                                    "timestamp", "value", "merge"))


@dataclass
class YamlDocument:
    """Plain data plus 1-based positions of values and keys, addressed by path."""

    file: str
    data: Any
    values: dict[Path, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def position(self, path: Path, *, key: bool = False) -> tuple[int, int]:
        """Where ``path`` starts (its key if ``key``); the nearest known parent otherwise."""
        if key and path in self.keys:
            return self.keys[path]
        probe = path
        while probe:
            if probe in self.values:
                return self.values[probe]
            probe = probe[:-1]
        return self.values.get((), (1, 1))

    def problem(self, path: Path, message: str, *, key: bool = False) -> Problem:
        """A problem located at ``path``."""
        line, column = self.position(path, key=key)
        return Problem(self.file, line, column, message)


class _Stop(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


class _Builder:
    def __init__(self, file: str) -> None:
        self.doc = YamlDocument(file, None)
        self.problems: list[Problem] = []
        self.count = 0

    def _at(self, node: Any, message: str) -> Problem:
        mark = node.start_mark
        return Problem(self.doc.file, mark.line + 1, mark.column + 1, message)

    def build(self, node: Any, path: Path) -> Any:
        self.count += 1
        if self.count > MAX_VALUES:
            raise _Stop(self._at(node, f"the file expands to more than {MAX_VALUES} values "
                                       "(aliases repeated too often?)"))
        self.doc.values[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node)
        if node.tag not in (_STD + "seq", _STD + "map", _STD + "omap"):
            self.problems.append(self._at(node, f"YAML tag {node.tag!r} is not supported; "
                                                "write the value without a tag"))
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, index)) for index, item in enumerate(node.value)]
        return self.mapping(node, path)

    def scalar(self, node: Any) -> Any:
        text: str = node.value
        if node.style:  # quoted or block scalars are always text
            return text
        tag = node.tag
        if tag not in _IMPLICIT_TAGS:
            if tag == "!":
                return text
            self.problems.append(self._at(node, f"YAML tag {tag!r} is not supported; "
                                                "write the value without a tag"))
            return text
        value = resolve_plain(text)
        if tag == _STD + "str" and not isinstance(value, str):
            # Only `!!str 123` gives a str tag to a plain scalar that looks like a number.
            implicit = _RESOLVER.resolve(yaml.ScalarNode, text, (True, False))
            return text if implicit != tag else value
        return value

    def mapping(self, node: Any, path: Path) -> dict[str, Any]:
        result: dict[str, Any] = {}
        seen: dict[str, Any] = {}
        merged: list[tuple[Any, Any]] = []
        for key_node, value_node in node.value:
            if key_node.tag == _STD + "merge":
                sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [
                    value_node]
                for source in sources:
                    if not isinstance(source, yaml.MappingNode):
                        self.problems.append(self._at(source, "'<<' needs a mapping or a list "
                                                              "of mappings to merge"))
                        continue
                    merged.extend(source.value)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.problems.append(self._at(key_node, "a key must be a plain name, not a "
                                                        "list or a mapping"))
                continue
            key = str(key_node.value)
            if key in seen:
                first = seen[key].start_mark
                self.problems.append(self._at(
                    key_node, f"duplicate key {key!r} (first at line {first.line + 1}); "
                              "each key may appear once in a mapping"))
                continue
            seen[key] = key_node
            self.doc.keys[(*path, key)] = (key_node.start_mark.line + 1,
                                           key_node.start_mark.column + 1)
            result[key] = self.build(value_node, (*path, key))
        for key_node, value_node in merged:
            key = str(key_node.value)
            if key not in result and isinstance(key_node, yaml.ScalarNode):
                self.doc.keys.setdefault((*path, key), (key_node.start_mark.line + 1,
                                                        key_node.start_mark.column + 1))
                result[key] = self.build(value_node, (*path, key))
        return result


def resolve_plain(text: str) -> Any:
    """Resolve an untagged plain scalar with the YAML 1.2 core schema."""
    if _NULL.match(text):
        return None
    if text in _BOOL:
        return _BOOL[text]
    if _INT.match(text):
        return int(text)
    if _OCT.match(text):
        return int(text[2:], 8)
    if _HEX.match(text):
        return int(text[2:], 16)
    if _FLOAT.match(text):
        return float(text)
    if _INF.match(text):
        return -math.inf if text.startswith("-") else math.inf
    if _NAN.match(text):
        return math.nan
    return text


def parse_yaml(text: str, file: str) -> tuple[YamlDocument, list[Problem]]:
    """Parse one YAML document; problems carry 1-based line and column."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = exc.problem or exc.context or "unreadable"
        if exc.context and exc.context_mark and exc.problem:
            start = exc.context_mark
            what += f" ({exc.context} at line {start.line + 1}, column {start.column + 1})"
        return YamlDocument(file, None), [Problem(file, line, column,
                                                  f"this is not valid YAML: {what}")]
    except yaml.YAMLError as exc:
        return YamlDocument(file, None), [Problem(file, 1, 1, f"this is not valid YAML: {exc}")]
    finally:
        loader.dispose()
    builder = _Builder(file)
    if node is None:
        return builder.doc, []
    try:
        builder.doc.data = builder.build(node, ())
    except _Stop as stop:
        return YamlDocument(file, None), [stop.problem]
    except RecursionError:
        return YamlDocument(file, None), [Problem(file, 1, 1, "the YAML is nested too deeply")]
    return builder.doc, builder.problems

