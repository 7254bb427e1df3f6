"""The bundle verifier's helpers: checkpoints met along the stream, and payload files."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from oversight_audit import bundle as files
from oversight_audit._internal.wire import unb64
from oversight_audit.checkpoints import Checkpoint, open_checkpoint_note
from oversight_audit.errors import (
    BundleError,
    CheckpointError,
    FormatError,
    PayloadMismatch,
    RootMismatch,
    VerificationError,
)
from oversight_audit.notes import VerifierKey
from oversight_audit.records import verify_payload_digest


def with_seq(exc: VerificationError, seq: int, what: str) -> VerificationError:
    """The same failure, blamed on ``seq`` and prefixed with what was being checked."""
    return type(exc)(f"{what}: {exc.problem}", seq=seq, check=exc.check)


def compare(checkpoint: Checkpoint, root: bytes, chain_head: bytes | None, seq: int) -> None:
    """The tree of records up to ``seq`` against a verified checkpoint of that size."""
    if checkpoint.root != root:
        raise RootMismatch(f"the records up to seq {seq} do not hash to the root signed in "
                           f"the checkpoint of size {checkpoint.size}", seq=seq)
    if (chain_head is not None and checkpoint.chain_head is not None
            and checkpoint.chain_head.encode() != chain_head):
        raise CheckpointError(f"the checkpoint of size {checkpoint.size} names chain head "
                              f"{checkpoint.chain_head}, not the hash of seq {seq}",
                              seq=seq, check="chain head")


class CheckpointTrail:
    """``checkpoints.jsonl`` read in step with the records, each checked when reached."""

    def __init__(self, directory: Path, manifest: files.Manifest, keys: list[VerifierKey]):
        self._manifest = manifest
        self._keys = keys
        self._notes: Iterator[tuple[int, str]] = files.iter_checkpoint_notes(directory)
        self._pending: tuple[int, int, str] | None = None
        self._last_size = manifest.first_seq
        self.verified = 0
        self.signers: dict[str, None] = {}
        self._advance()

    def _advance(self) -> None:
        found = next(self._notes, None)
        if found is None:
            self._pending = None
            return
        number, note = found
        size = files.note_size(note, files.CHECKPOINTS, number)
        if size < self._last_size or size <= self._manifest.first_seq:
            raise BundleError(files.CHECKPOINTS, f"checkpoint of size {size} is out of order "
                              f"or not after first_seq {self._manifest.first_seq}", line=number)
        if size > self._manifest.last_seq + 1:
            raise BundleError(files.CHECKPOINTS, f"checkpoint of size {size} lies past "
                              f"last_seq {self._manifest.last_seq}", line=number)
        self._last_size = size
        self._pending = (size, number, note)

    @property
    def next_size(self) -> int:
        """The tree size at which the stream must stop next (-1 when none is left)."""
        return -1 if self._pending is None else self._pending[0]

    def open(self, note: str, size: int, where: str, line: int | None) -> Checkpoint:
        """Verify a note's signature and origin, blaming the last record it covers."""
        blame = min(size, self._manifest.last_seq + 1) - 1
        try:
            checkpoint, opened = open_checkpoint_note(note, self._keys,
                                                      origin=self._manifest.origin)
        except VerificationError as exc:
            raise with_seq(exc, blame, f"checkpoint of size {size}") from exc
        except FormatError as exc:
            raise BundleError(where, f"not a signed checkpoint: {exc}", line=line) from exc
        self.verified += 1
        self.signers.update((str(key), None) for key in opened.verified_by)
        return checkpoint

    def reached(self, size: int, root: bytes, chain_head: bytes) -> None:
        """The stream holds ``size`` records: check every checkpoint of that size."""
        while self._pending is not None and self._pending[0] == size:
            _, number, note = self._pending
            checkpoint = self.open(note, size, files.CHECKPOINTS, number)
            compare(checkpoint, root, chain_head, size - 1)
            self._advance()


class PayloadCheck:
    """``payloads/<seq>.json`` against the digests records commit to.

    The folder is listed once into a bitmap (one bit per record of the bundle), so a record
    whose payload was erased costs no system call and a stray file is found without a
    second pass.
    """

    def __init__(self, directory: Path, manifest: files.Manifest):
        self.folder = directory / files.PAYLOADS
        self._prefix = f"{self.folder}{os.sep}"  # plain strings: no Path per record
        self.first = manifest.first_seq
        self.verified = 0
        self.absent = 0
        self.stored = bytearray()
        if self.folder.is_dir():
            self.stored = bytearray((manifest.record_count + 7) // 8)
            with os.scandir(self.folder) as entries:
                for entry in entries:
                    found = files.PAYLOAD_NAME.fullmatch(entry.name)
                    seq = int(found.group(1)) if found else -1
                    if not manifest.first_seq <= seq <= manifest.last_seq:
                        raise BundleError(f"{files.PAYLOADS}/{entry.name}",
                                          "not the payload file of a record in this bundle")
                    offset = seq - self.first
                    self.stored[offset >> 3] |= 1 << (offset & 7)

    def check(self, seq: int, digest: bytes) -> None:
        """Verify the payload of ``seq`` if stored; count it as absent otherwise."""
        offset = seq - self.first
        if not self.stored or not self.stored[offset >> 3] & (1 << (offset & 7)):
            self.absent += 1
            return
        self.stored[offset >> 3] &= ~(1 << (offset & 7)) & 0xFF
        name = f"{files.PAYLOADS}/{seq}.json"
        try:
            with open(f"{self._prefix}{seq}.json", "rb", buffering=0) as handle:
                data = handle.readall()
        except OSError as exc:
            raise BundleError(name, f"cannot be read: {exc.strerror}") from None
        key, payload = parse_payload(data, seq, name)
        if not verify_payload_digest(digest.decode(), key, payload):
            raise PayloadMismatch(f"{name} does not match the record's payload_digest", seq=seq)
        self.verified += 1

    def leftover(self) -> None:
        """After the stream: a file left unchecked belongs to a record without a digest."""
        for index, byte in enumerate(self.stored):
            if byte:
                seq = self.first + index * 8 + (byte & -byte).bit_length() - 1
                raise PayloadMismatch(f"payloads/{seq}.json is stored but the record commits "
                                      "to no payload", seq=seq)


def parse_payload(data: bytes, seq: int, name: str) -> tuple[bytes, Any]:
    """``(key, payload)`` from a payload file, or ``BundleError``."""
    try:
        document = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise BundleError(name, f"not JSON: {exc}") from None
    if type(document) is not dict or set(document) != {"key", "payload", "seq"}:
        raise BundleError(name, 'expected {"seq": n, "key": "<base64>", "payload": ...}')
    if type(document["seq"]) is not int or document["seq"] != seq:
        raise BundleError(name, f"/seq: expected {seq}")
    key = unb64(document["key"]) if type(document["key"]) is str else None
    if not key:
        raise BundleError(name, "/key: expected a non-empty base64 key")
    return key, document["payload"]
