"""Bundles: a directory an auditor verifies offline. Writing them, and reading their parts.

Layout (``oversight-bundle/v1``)::

    manifest.json       origin, first_seq, last_seq, record_count, prefix, checkpoint_size,
                        tail_proof, exported_at
    records.jsonl       one exported line per record, in seq order, each followed by "\\n"
    checkpoint          the newest signed checkpoint (size N ≥ last_seq + 1)
    checkpoints.jsonl   earlier signed checkpoints with first_seq < size ≤ last_seq + 1, one
                        JSON string per line, ascending size
    keys                verifier key strings, one a line
    payloads/<seq>.json {"key": "<base64>", "payload": ..., "seq": n}, for payloads not erased

``prefix`` is ``CompactRange.nodes()`` for the records before ``first_seq``; ``tail_proof``
the consistency proof from ``last_seq + 1`` to ``N``, both as standard base64.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from oversight_audit._internal.canonical import canonical_json
from oversight_audit._internal.fastline import LineChecker
from oversight_audit._internal.wire import b64, b64_hashes, hashes_from_b64
from oversight_audit.checkpoints import Checkpoint
from oversight_audit.errors import BundleError, FormatError, MalformedNote
from oversight_audit.notes import VerifierKey

__all__ = ["BUNDLE_FORMAT", "BundleWriter", "Manifest"]

BUNDLE_FORMAT = "oversight-bundle/v1"
MANIFEST = "manifest.json"
RECORDS = "records.jsonl"
CHECKPOINT = "checkpoint"
CHECKPOINTS = "checkpoints.jsonl"
KEYS = "keys"
PAYLOADS = "payloads"
PAYLOAD_NAME = re.compile(r"(0|[1-9][0-9]*)\.json")
_MANIFEST_MEMBERS = ("checkpoint_size", "exported_at", "first_seq", "format", "last_seq",
                     "origin", "prefix", "record_count", "tail_proof")


def _manifest_error(message: str) -> BundleError:
    return BundleError(MANIFEST, message)


def format_time(moment: dt.datetime | str) -> str:
    """RFC 3339 UTC with microseconds and ``Z`` (strings are passed through)."""
    if isinstance(moment, str):
        return moment
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Manifest:
    """``manifest.json``: what range a bundle covers and how to tie it to its checkpoint."""

    origin: str
    first_seq: int
    last_seq: int
    record_count: int
    prefix: tuple[bytes, ...]
    checkpoint_size: int
    tail_proof: tuple[bytes, ...]
    exported_at: str

    def to_json(self) -> bytes:
        """The manifest file's bytes (sorted keys, two-space indent, final newline)."""
        document = {
            "format": BUNDLE_FORMAT,
            "origin": self.origin,
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "record_count": self.record_count,
            "prefix": b64_hashes(self.prefix),
            "checkpoint_size": self.checkpoint_size,
            "tail_proof": b64_hashes(self.tail_proof),
            "exported_at": self.exported_at,
        }
        return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        """Parse ``manifest.json``; ``BundleError`` names the member that is wrong."""
        try:
            value = json.loads(data)
        except (ValueError, RecursionError) as exc:
            raise BundleError(MANIFEST, f"not JSON: {exc}") from None
        if type(value) is not dict:
            raise BundleError(MANIFEST, "expected a JSON object")
        if value.get("format") != BUNDLE_FORMAT:
            raise BundleError(MANIFEST, f"/format: expected {BUNDLE_FORMAT!r}, found "
                                        f"{value.get('format')!r}")
        for name in _MANIFEST_MEMBERS:
            if name not in value:
                raise BundleError(MANIFEST, f"/{name}: missing member")
        for name in ("first_seq", "last_seq", "record_count", "checkpoint_size"):
            if type(value[name]) is not int or value[name] < (-1 if name == "last_seq" else 0):
                raise BundleError(MANIFEST, f"/{name}: expected a non-negative integer")
        for name in ("origin", "exported_at"):
            if type(value[name]) is not str or not value[name]:
                raise BundleError(MANIFEST, f"/{name}: expected a non-empty string")
        manifest = cls(
            origin=value["origin"],
            first_seq=value["first_seq"],
            last_seq=value["last_seq"],
            record_count=value["record_count"],
            prefix=hashes_from_b64(value["prefix"], "/prefix", _manifest_error),
            checkpoint_size=value["checkpoint_size"],
            tail_proof=hashes_from_b64(value["tail_proof"], "/tail_proof", _manifest_error),
            exported_at=value["exported_at"],
        )
        if manifest.record_count != manifest.last_seq - manifest.first_seq + 1:
            raise BundleError(MANIFEST, f"/record_count: {manifest.record_count} records "
                              f"cannot span seq {manifest.first_seq}..{manifest.last_seq}")
        if len(manifest.prefix) != manifest.first_seq.bit_count():
            raise BundleError(MANIFEST, f"/prefix: a tree of {manifest.first_seq} leaves has "
                              f"{manifest.first_seq.bit_count()} compact-range hashes, "
                              f"not {len(manifest.prefix)}")
        return manifest


def read_file(directory: Path, name: str) -> bytes:
    """A bundle file's bytes, or ``BundleError`` saying it is missing or unreadable."""
    try:
        return (directory / name).read_bytes()
    except FileNotFoundError:
        raise BundleError(name, "missing from the bundle") from None
    except OSError as exc:
        raise BundleError(name, f"cannot be read: {exc.strerror}") from None


def read_text(directory: Path, name: str) -> str:
    """A bundle file as UTF-8 text."""
    try:
        return read_file(directory, name).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BundleError(name, f"not UTF-8 (byte {exc.start})") from None


def parse_keys(text: str, name: str = KEYS) -> list[VerifierKey]:
    """Verifier keys, one a line (blank lines and ``#`` comments skipped)."""
    keys = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip() and not line.lstrip().startswith("#"):
            try:
                keys.append(VerifierKey.from_string(line))
            except FormatError as exc:
                raise BundleError(name, str(exc), line=number) from None
    return keys


def note_size(note: str, where: str, line: int | None = None) -> int:
    """The tree size a signed checkpoint claims, read without verifying it."""
    split = note.rfind("\n\n")
    try:
        if split < 0:
            raise MalformedNote("no blank line before the signatures")
        return Checkpoint.from_text(note[: split + 1]).size
    except FormatError as exc:
        raise BundleError(where, f"not a signed checkpoint: {exc}", line=line) from None


def iter_checkpoint_notes(directory: Path) -> Iterator[tuple[int, str]]:
    """``(line number, signed note)`` from ``checkpoints.jsonl`` (absent file: none)."""
    try:
        handle = open(directory / CHECKPOINTS, "rb")  # noqa: SIM115 - closed by the with below
    except FileNotFoundError:
        return
    with handle:
        for number, raw in enumerate(handle, start=1):
            try:
                note = json.loads(raw)
            except (ValueError, RecursionError):
                raise BundleError(CHECKPOINTS, "not a JSON string", line=number) from None
            if type(note) is not str:
                raise BundleError(CHECKPOINTS, "expected a JSON string", line=number)
            yield number, note


class BundleWriter:
    """Writes a bundle directory as the exporter streams it; ``close`` writes the manifest.

    Records must come in seq order; each is checked as it is written. Call
    ``write_checkpoint`` with the earlier checkpoints in ascending size. Until ``close``
    succeeds there is no ``manifest.json``, so a failed export never looks complete.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        if any(self.path.iterdir()):
            raise BundleError(str(self.path), "the bundle directory is not empty")
        self._records: IO[bytes] = open(self.path / RECORDS, "xb")  # noqa: SIM115
        self._checkpoints: IO[bytes] = open(self.path / CHECKPOINTS, "xb")  # noqa: SIM115
        self._checker = LineChecker()
        self._first: int | None = None
        self._next: int | None = None
        self._prev: bytes | None = None
        self._last_checkpoint = 0

    def write_record(self, line: bytes) -> None:
        """Append one exported line (a trailing newline is optional); checked as written."""
        line = line[:-1] if line.endswith(b"\n") else line
        if self._prev is None:
            seq, prev, claimed, _, computed, _ = self._checker.reference(line)
        else:
            seq, prev, claimed, _, computed, _ = self._checker.check(line)
        if self._next is not None and seq != self._next:
            raise BundleError(RECORDS, f"record seq {seq} written after seq {self._next - 1}")
        if computed != claimed:
            raise BundleError(RECORDS, f"record seq {seq}: its hash does not recompute")
        if self._prev is not None and prev != self._prev:
            raise BundleError(RECORDS, f"record seq {seq}: prev is not the hash of seq {seq - 1}")
        if self._first is None:
            self._first = seq
        self._next = seq + 1
        self._prev = claimed
        self._records.write(line + b"\n")

    def write_checkpoint(self, note: str) -> None:
        """Append an earlier signed checkpoint (ascending size) to ``checkpoints.jsonl``."""
        size = note_size(note, CHECKPOINTS)
        if size < self._last_checkpoint:
            raise BundleError(CHECKPOINTS, f"checkpoint of size {size} written after size "
                              f"{self._last_checkpoint}")
        self._last_checkpoint = size
        self._checkpoints.write(canonical_json(note) + b"\n")

    def write_payload(self, seq: int, key: bytes, payload: Any) -> None:
        """Store a payload and its digest key as ``payloads/<seq>.json``."""
        folder = self.path / PAYLOADS
        folder.mkdir(exist_ok=True)
        document = {"seq": seq, "key": b64(key), "payload": payload}
        with open(folder / f"{seq}.json", "xb") as handle:
            handle.write(canonical_json(document) + b"\n")

    def close(
        self,
        *,
        origin: str,
        first_seq: int,
        last_seq: int,
        prefix: Sequence[bytes],
        checkpoint: str,
        checkpoint_size: int,
        tail_proof: Sequence[bytes],
        keys: Iterable[VerifierKey | str],
        exported_at: dt.datetime | str,
    ) -> Manifest:
        """Write ``checkpoint``, ``keys`` and ``manifest.json``; check they fit the records."""
        self._records.close()
        self._checkpoints.close()
        written_first = first_seq if self._first is None else self._first
        written_last = first_seq - 1 if self._next is None else self._next - 1
        if (written_first, written_last) != (first_seq, last_seq):
            raise BundleError(RECORDS, f"records seq {written_first}..{written_last} were "
                              f"written, not {first_seq}..{last_seq}")
        if note_size(checkpoint, CHECKPOINT) != checkpoint_size:
            raise BundleError(CHECKPOINT, f"the checkpoint is not of size {checkpoint_size}")
        if checkpoint_size <= last_seq:
            raise BundleError(CHECKPOINT, f"a checkpoint of size {checkpoint_size} does not "
                              f"cover seq {last_seq}")
        manifest = Manifest(
            origin=origin, first_seq=first_seq, last_seq=last_seq,
            record_count=last_seq - first_seq + 1, prefix=tuple(prefix),
            checkpoint_size=checkpoint_size, tail_proof=tuple(tail_proof),
            exported_at=format_time(exported_at),
        )
        (self.path / CHECKPOINT).write_bytes(checkpoint.encode())
        (self.path / KEYS).write_bytes("".join(f"{key}\n" for key in keys).encode())
        (self.path / MANIFEST).write_bytes(manifest.to_json())
        return manifest

    def __enter__(self) -> BundleWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._records.close()
        self._checkpoints.close()
