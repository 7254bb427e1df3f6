"""Helpers for bundle tests: cached ledgers, bundles in temporary folders, line surgery."""

from __future__ import annotations

import functools
import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from oversight_audit import AuditError, VerificationError, canonical_json, verify_bundle
from tests.audit.factories import Ledger, build_ledger


@functools.lru_cache(maxsize=64)
def ledger(count: int, every: int) -> Ledger:
    """A cached ledger (do not mutate it)."""
    return build_ledger(count, checkpoint_every=every)


@dataclass(frozen=True)
class Shape:
    """Which ledger, and which part of it a bundle exports."""

    count: int
    every: int
    first: int
    last: int
    size: int  # the newest checkpoint's size

    @property
    def ledger(self) -> Ledger:
        return ledger(self.count, self.every)


@st.composite
def shapes(draw: st.DrawFn, *, min_records: int = 1) -> Shape:
    """A ledger and a bundle range in it, with a newest checkpoint covering the range."""
    count = draw(st.integers(min_value=max(min_records, 2), max_value=24))
    every = draw(st.integers(min_value=1, max_value=7))
    first = draw(st.integers(min_value=0, max_value=count - min_records))
    last = draw(st.integers(min_value=first + min_records - 1, max_value=count - 1))
    sizes = sorted(s for s in ledger(count, every).checkpoints if s >= last + 1)
    size = draw(st.sampled_from(sizes))
    return Shape(count, every, first, last, size)


@contextmanager
def bundle(shape: Shape, **options: Any) -> Iterator[Path]:
    """The bundle of ``shape`` in a fresh temporary folder."""
    with tempfile.TemporaryDirectory(prefix="oversight-audit-") as folder:
        yield shape.ledger.write_bundle(Path(folder) / "bundle", first_seq=shape.first,
                                        last_seq=shape.last, checkpoint_size=shape.size,
                                        **options)


def lines(path: Path) -> list[bytes]:
    """The lines of ``records.jsonl``, without newlines."""
    return (path / "records.jsonl").read_bytes().splitlines()


def write_lines(path: Path, new: list[bytes]) -> None:
    """Replace ``records.jsonl``."""
    (path / "records.jsonl").write_bytes(b"".join(line + b"\n" for line in new))


def edit_manifest(path: Path, **changes: Any) -> None:
    """Change members of ``manifest.json``."""
    manifest = json.loads((path / "manifest.json").read_bytes())
    manifest.update(changes)
    (path / "manifest.json").write_text(json.dumps(manifest))


def reline(record: dict[str, Any]) -> bytes:
    """A record's canonical line (whatever its hash says)."""
    return canonical_json(record)


def failure(path: Path, **options: Any) -> AuditError:
    """The error ``verify_bundle`` raises (it must raise one)."""
    try:
        report = verify_bundle(path, **options)
    except AuditError as exc:
        return exc
    raise AssertionError(f"the bundle verified: {report}")


def failed_at(path: Path, seq: int, **options: Any) -> VerificationError:
    """Assert verification fails at ``seq`` and return the error."""
    error = failure(path, **options)
    assert isinstance(error, VerificationError), f"expected a failed check, got {error!r}"
    assert error.seq == seq, f"expected seq {seq}: {error}"
    return error
