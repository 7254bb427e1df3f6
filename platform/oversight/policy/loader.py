"""Loading a policy set from files: read, parse, validate, order, check, compile.

Order of a set: the files sorted by their ``order`` key (default 0, lower first), then by
file name; the rules of a file in the order written. A directory stands for the ``.yaml``
and ``.yml`` files directly inside it (not in subdirectories, so ``policies/tests/`` and
``policies/demo/`` are not part of ``policies/``). A rule with ``replaces: <id>`` takes the
place of that rule of another file.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from pathlib import Path

from oversight.policy.consistency import PlacedRule, rule_problems
from oversight.policy.evaluate import PolicySet, PolicySource
from oversight.policy.exceptions import PolicyInvalid, PolicySourceMissing, Problem
from oversight.policy.schemas import PolicyFile
from oversight.policy.shadowing import order_problems
from oversight.policy.validate import validate_document
from oversight.policy.yamltext import YamlDocument, parse_yaml

POLICY_SUFFIXES = (".yaml", ".yml")


def policy_files(paths: Iterable[str | Path]) -> list[Path]:
    """The policy files named by ``paths`` (files, or directories of ``.yaml`` files)."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            inside = sorted(item for item in path.iterdir()
                            if item.is_file() and item.suffix in POLICY_SUFFIXES)
            if not inside:
                raise PolicySourceMissing(f"{path} holds no .yaml policy file")
            found.extend(inside)
        elif path.is_file():
            found.append(path)
        else:
            raise PolicySourceMissing(f"{path} does not exist")
    unique: dict[Path, Path] = {}
    for path in found:
        unique.setdefault(path.resolve(), path)
    return list(unique.values())


def read_sources(paths: Iterable[str | Path]) -> list[PolicySource]:
    """Read the policy files named by ``paths``."""
    sources: list[PolicySource] = []
    problems: list[Problem] = []
    for path in policy_files(paths):
        try:
            sources.append(PolicySource(str(path), path.read_bytes().decode("utf-8")))
        except UnicodeDecodeError as exc:
            problems.append(Problem(str(path), 1, 1, f"the file is not UTF-8 text ({exc.reason} "
                                                     f"at byte {exc.start})"))
        except OSError as exc:
            raise PolicySourceMissing(f"{path} cannot be read: {exc.strerror}") from exc
    if problems:
        raise PolicyInvalid(problems)
    return sources


def load_policy_set(paths: Iterable[str | Path]) -> PolicySet:
    """Load and validate a policy set; raise :class:`PolicyInvalid` with every problem."""
    return build_policy_set(read_sources(paths))


def build_policy_set(sources: Sequence[PolicySource]) -> PolicySet:
    """Validate policy texts as one set; raise :class:`PolicyInvalid` with every problem."""
    problems: list[Problem] = []
    files: list[tuple[PolicyFile, YamlDocument]] = []
    for source in sources:
        doc, yaml_problems = parse_yaml(source.text, source.path)
        problems.extend(yaml_problems)
        if doc.data is None and yaml_problems:
            continue
        spec, spec_problems = validate_document(PolicyFile, doc)
        problems.extend(spec_problems)
        if spec is not None:
            files.append((spec, doc))
    if not sources:
        raise PolicyInvalid([], "no policy file was given")
    files.sort(key=lambda item: (item[0].order, Path(item[1].file).name, item[1].file))
    placed = [PlacedRule(rule, doc, index) for spec, doc in files
              for index, rule in enumerate(spec.rules)]
    if problems:  # structure first: the checks below need every file validated
        raise PolicyInvalid(_in_order(problems, sources))
    for rule in placed:
        problems.extend(rule_problems(rule))
    ordered, set_problems = _assemble(placed)
    problems.extend(set_problems)
    if not set_problems:
        problems.extend(order_problems(ordered))
    if problems:
        raise PolicyInvalid(_in_order(problems, sources))
    return PolicySet(ordered, sources)


def _assemble(placed: Sequence[PlacedRule]) -> tuple[list[PlacedRule], list[Problem]]:
    problems: list[Problem] = []
    by_id: dict[str, PlacedRule] = {}
    for rule in placed:
        first = by_id.setdefault(rule.spec.id, rule)
        if first is not rule:
            problems.append(rule.problem(("id",), (
                f"the id is already used by the rule at {first.where} (ids must be unique "
                "across the set)")))
    replacements: dict[str, PlacedRule] = {}
    for rule in placed:
        target_id = rule.spec.replaces
        if target_id is None:
            continue
        target = by_id.get(target_id)
        if target is None:
            close = difflib.get_close_matches(
                target_id, [known for known in by_id if known != rule.spec.id], n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            problems.append(rule.problem(("replaces",), (
                f"replaces '{target_id}', but no rule of the set has that id{hint}")))
        elif target.doc is rule.doc:
            problems.append(rule.problem(("replaces",), (
                f"replaces '{target_id}' of the same file; edit that rule instead")))
        elif target.spec.replaces is not None:
            problems.append(rule.problem(("replaces",), (
                f"replaces '{target_id}', which itself replaces '{target.spec.replaces}'; "
                "replace that one instead")))
        elif target_id in replacements:
            problems.append(rule.problem(("replaces",), (
                f"'{target_id}' is already replaced by rule '{replacements[target_id].spec.id}' "
                f"({replacements[target_id].where})")))
        else:
            replacements[target_id] = rule
    ordered = [replacements.get(rule.spec.id, rule) for rule in placed
               if rule.spec.replaces is None]
    return ordered, problems


def _in_order(problems: Iterable[Problem], sources: Sequence[PolicySource]) -> list[Problem]:
    rank = {source.path: number for number, source in enumerate(sources)}
    unique = set(problems)
    return sorted(unique, key=lambda p: (rank.get(p.file, len(rank)), p.line, p.column,
                                         p.message))
