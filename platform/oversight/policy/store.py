"""The policy set in force, and replacing it at run time.

A changed set replaces the one in force only once it validates; otherwise the last good
set stays and the refusal is logged. Each replacement returns a :class:`PolicyReloaded`
event for the platform to record in the ledger (``policy.loaded``).
"""

from __future__ import annotations

import difflib
import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from structlog.stdlib import BoundLogger

from oversight.logs import get_logger
from oversight.policy.evaluate import PolicySet
from oversight.policy.exceptions import PolicyError, PolicyInvalid
from oversight.policy.loader import build_policy_set, policy_files, read_sources
from oversight.policy.outcomes import PolicyEvent, PolicyOutcome

Fingerprint = tuple[tuple[str, int, int], ...]


def _log() -> BoundLogger:
    # Fetched per call: a logger cached before logging was configured keeps old settings.
    return get_logger("policy")


@dataclass(frozen=True)
class PolicyReloaded:
    """A new set went into force."""

    old_version: str
    new_version: str
    author: str | None
    reloaded_at: datetime
    files: tuple[str, ...]
    rules_added: tuple[str, ...]
    rules_removed: tuple[str, ...]
    rules_changed: tuple[str, ...]
    diff: str = field(repr=False)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON, for the ledger record."""
        return {"old_version": self.old_version, "new_version": self.new_version,
                "author": self.author, "reloaded_at": self.reloaded_at.isoformat(),
                "files": list(self.files), "rules_added": list(self.rules_added),
                "rules_removed": list(self.rules_removed),
                "rules_changed": list(self.rules_changed), "diff": self.diff}


def source_diff(old: PolicySet, new: PolicySet) -> str:
    """A unified diff of the source files of two sets (files added or removed included)."""
    before, after = old.source_texts(), new.source_texts()
    chunks: list[str] = []
    for name in sorted(before.keys() | after.keys()):
        chunks.extend(difflib.unified_diff(
            before.get(name, "").splitlines(keepends=True),
            after.get(name, "").splitlines(keepends=True),
            f"a/{name}" if name in before else "/dev/null",
            f"b/{name}" if name in after else "/dev/null"))
    return "".join(chunk if chunk.endswith("\n") else chunk + "\n" for chunk in chunks)


def _rule_texts(policy_set: PolicySet) -> dict[str, str]:
    return {rule.id: json.dumps(rule.spec.model_dump(mode="json", by_alias=True),
                                sort_keys=True) for rule in policy_set.rules}


def reload_event(old: PolicySet, new: PolicySet, *, author: str | None,
                 at: datetime) -> PolicyReloaded:
    """Describe the replacement of ``old`` by ``new``."""
    before, after = _rule_texts(old), _rule_texts(new)
    return PolicyReloaded(
        old_version=old.version, new_version=new.version, author=author, reloaded_at=at,
        files=tuple(source.path for source in new.sources),
        rules_added=tuple(rule for rule in after if rule not in before),
        rules_removed=tuple(rule for rule in before if rule not in after),
        rules_changed=tuple(rule for rule in after if rule in before
                            and before[rule] != after[rule]),
        diff=source_diff(old, new),
    )


class PolicyStore:
    """Holds the set in force for one process; ``reload`` swaps it atomically."""

    def __init__(self, paths: Sequence[str | Path], *,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._paths = tuple(paths)
        self._clock = clock
        self._lock = threading.Lock()
        self._fingerprint = self._read_fingerprint()
        self._refused: Fingerprint | None = None
        self._current = build_policy_set(read_sources(self._paths))
        _log().info("policy.loaded", policy_version=self._current.version,
                 rules=len(self._current.rules))

    @property
    def current(self) -> PolicySet:
        """The set in force."""
        return self._current

    def evaluate(self, event: PolicyEvent) -> PolicyOutcome:
        """Evaluate with the set in force."""
        return self._current.evaluate(event)

    def _read_fingerprint(self) -> Fingerprint:
        try:
            files = policy_files(self._paths)
        except PolicyError:
            return ()
        marks = []
        for path in files:
            try:
                stat = path.stat()
            except OSError:
                continue
            marks.append((str(path), stat.st_mtime_ns, stat.st_size))
        return tuple(marks)

    def reload(self, author: str | None = None) -> PolicyReloaded | None:
        """Load the files again. ``None`` if the set did not change; raises
        :class:`PolicyInvalid` (or :class:`PolicySourceMissing`) and keeps the set in force
        if the new one does not validate."""
        with self._lock:
            fingerprint = self._read_fingerprint()
            try:
                candidate = build_policy_set(read_sources(self._paths))
            except PolicyError as exc:
                self._refused = fingerprint
                problems = exc.problems if isinstance(exc, PolicyInvalid) else ()
                _log().warning("policy.reload_refused", policy_version=self._current.version,
                            author=author, problems=len(problems),
                            first_problem=str(problems[0]) if problems else exc.detail)
                raise
            self._fingerprint, self._refused = fingerprint, None
            if candidate.version == self._current.version:
                return None
            event = reload_event(self._current, candidate, author=author, at=self._clock())
            self._current = candidate
            _log().info("policy.reloaded", old_version=event.old_version,
                     new_version=event.new_version, author=author,
                     rules_added=len(event.rules_added), rules_removed=len(event.rules_removed),
                     rules_changed=len(event.rules_changed))
            return event

    def reload_if_changed(self, author: str | None = None) -> PolicyReloaded | None:
        """Reload when the files changed on disk (for a polling loop). A set that does not
        validate is logged once and kept out; this never raises."""
        fingerprint = self._read_fingerprint()
        if fingerprint in (self._fingerprint, self._refused):
            return None
        try:
            return self.reload(author)
        except PolicyError:
            return None
