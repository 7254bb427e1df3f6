"""One pass over ``records.jsonl``: lines, seq, hashes, ``prev`` links and the Merkle tree.

This loop is the verifier's hot path, written flat on purpose: the tree is extended
in place (a compact range's hash list) rather than through ``CompactRange.append``, which
would build a list of completed nodes per leaf that nobody here stores.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, Protocol

from oversight_audit._internal.fastline import LineChecker, LineFacts
from oversight_audit.errors import (
    AuditError,
    BundleError,
    ChainError,
    MalformedRecord,
    VerificationError,
)
from oversight_audit.merkle import CompactRange, compact_root
from oversight_audit.records import GENESIS_PREV

Progress = Callable[[int], None]
PROGRESS_EVERY = 1 << 16
_GENESIS = GENESIS_PREV.encode()
_sha256 = hashlib.sha256


class Stops(Protocol):
    """Where the stream must pause to compare the tree with a checkpoint."""

    @property
    def next_size(self) -> int:
        """The next tree size to stop at (-1 for none)."""

    def reached(self, size: int, root: bytes, chain_head: bytes) -> None:
        """Called with the root and last record hash when the tree reaches ``next_size``."""


class Payloads(Protocol):
    """The payload files to check along the stream.

    ``stored`` has bit ``seq - first`` set (bit ``n % 8`` of byte ``n // 8``) for each
    record whose file is there: the stream tests it in place and calls ``check`` for those
    only, so the many records whose payload was erased (or never stored) cost no call.
    ``check`` may put a file off; ``flush`` checks what was put off, and the stream calls
    it at its end and before it raises anything, so failures come out in seq order.
    """

    @property
    def first(self) -> int:
        """The seq of bit 0."""

    @property
    def stored(self) -> bytearray:
        """One bit per record, from ``first``."""

    def check(self, seq: int, digest: bytes) -> None:
        """Verify the stored payload of ``seq`` against the record's ``digest``, or queue it."""

    def flush(self) -> None:
        """Verify every queued payload."""


def _no_payload(seq: int, digest: bytes) -> None:
    """``check`` when there are no payload files (never called: no bit is set)."""


def _nothing_queued() -> None:
    """``flush`` when there are no payload files."""


def seq_error(seq: int, expected: int) -> ChainError:
    """The error for a line holding ``seq`` where ``expected`` was due."""
    if seq > expected:
        gone = f"seq {expected}" if seq == expected + 1 else f"seq {expected}..{seq - 1}"
        return ChainError(f"{gone} missing or out of order: the line holds seq {seq}",
                          seq=expected, check="seq")
    return ChainError(f"expected seq {expected}, found seq {seq} (duplicated or out of order)",
                      seq=expected, check="seq")


class RecordStream:
    """Streams one records file; after ``run``: ``first``, ``count``, ``last_hash`` and
    ``digests`` (how many records commit to a payload)."""

    def __init__(self, path: Path, name: str, progress: Progress | None = None) -> None:
        self.path = path
        self.name = name
        self.progress = progress
        self.first: int | None = None
        self.count = 0
        self.last_hash = b""
        self.digests = 0

    def _open(self) -> BinaryIO:
        try:
            return open(self.path, "rb", buffering=1 << 20)  # the caller closes it
        except FileNotFoundError:
            raise BundleError(self.name, "missing") from None
        except OSError as exc:
            raise BundleError(self.name, f"cannot be read: {exc.strerror}") from None

    def run(
        self,
        *,
        first_seq: int | None,
        tree: CompactRange,
        stops: Stops | None = None,
        payloads: Payloads | None = None,
        limit: int | None = None,
        past_limit: Callable[[int], VerificationError] | None = None,
    ) -> None:
        """Check every line. A line due at seq ``limit`` raises ``past_limit(limit)``."""
        self.first = first_seq
        checker = LineChecker()
        fast = checker.fast_at
        interior = _sha256(b"\x01").copy  # RFC 9162 node prefix, absorbed once
        hashes = tree._hashes
        size = tree.size
        expected = -1 if first_seq is None else first_seq  # -1: the first line's seq
        prev: bytes | None = None  # None until the first line: its prev is compared with nothing
        wanted = stops.next_size if stops is not None else -1
        progress, mask = self.progress, PROGRESS_EVERY - 1
        count = digests = 0
        stored, base, check, flush = bytearray(), 0, _no_payload, _nothing_queued
        if payloads is not None:
            stored, base, check = payloads.stored, payloads.first, payloads.check
            flush = payloads.flush
        try:
            with self._open() as handle:
                for raw in handle:
                    line = raw[:-1]
                    facts = None
                    if prev is not None and expected != limit:
                        facts = fast(line, expected)
                    if facts is None:
                        facts = self._careful(raw, count + 1, expected, limit, past_limit)
                    seq, claimed_prev, claimed, digest, computed, node = facts
                    if prev is None:
                        prev = _GENESIS if seq == 0 else claimed_prev
                        if expected < 0:
                            expected = self.first = seq
                    if seq != expected or computed != claimed or claimed_prev != prev:
                        raise self._failure(line, count + 1, facts, expected, prev)
                    prev = claimed
                    walk = size
                    while walk & 1:
                        pair = interior()
                        pair.update(hashes.pop())
                        pair.update(node)
                        node = pair.digest()
                        walk >>= 1
                    hashes.append(node)
                    size += 1
                    if size == wanted and stops is not None:
                        stops.reached(size, compact_root(hashes), claimed)
                        wanted = stops.next_size
                    if digest is not None:
                        digests += 1
                        if stored and stored[(seq - base) >> 3] >> ((seq - base) & 7) & 1:
                            check(seq, digest)
                    expected = seq + 1
                    count += 1
                    if progress is not None and not count & mask:
                        progress(count)
        except AuditError:
            flush()  # a payload put off from an earlier record fails first, as it would have
            raise
        flush()
        tree._size = size
        self.count = count
        self.digests = digests
        self.last_hash = prev or b""
        if progress is not None:
            progress(count)

    def _careful(
        self,
        raw: bytes,
        number: int,
        expected: int,
        limit: int | None,
        past_limit: Callable[[int], VerificationError] | None,
    ) -> LineFacts:
        """The first line, an unusual one, or one past the limit: the reference path."""
        if limit is not None and expected == limit and past_limit is not None:
            raise past_limit(limit)
        if raw[-1:] != b"\n":
            raise BundleError(self.name, "the last line does not end with a newline "
                              "(a truncated file?)", line=number)
        try:
            return LineChecker.reference(raw[:-1])
        except MalformedRecord as exc:
            due = "" if expected < 0 else f" (seq {expected} due)"
            raise BundleError(self.name, f"{exc}{due}", line=number) from None

    def _failure(
        self, line: bytes, number: int, facts: LineFacts, expected: int, prev: bytes
    ) -> AuditError:
        """Why a line failed: malformed (unusable input), or the first check it fails."""
        try:
            LineChecker.reference(line)
        except MalformedRecord as exc:
            return BundleError(self.name, f"{exc} (seq {expected} due)", line=number)
        seq, claimed_prev, claimed, _, computed, _ = facts
        if seq != expected:
            return seq_error(seq, expected)
        if computed != claimed:
            return ChainError(f"recomputed hash {computed.decode()} differs from the record's "
                              f"hash {claimed.decode()}", seq=seq, check="hash")
        if seq == 0:
            return ChainError("prev of seq 0 is not the genesis value", seq=seq, check="prev")
        return ChainError(f"prev {claimed_prev.decode()} is not the hash of seq {seq - 1} "
                          f"({prev.decode()})", seq=seq, check="prev")
