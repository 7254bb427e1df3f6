"""The bundle verifier's helpers: checkpoints met along the stream."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from oversight_audit import bundle as files
from oversight_audit.checkpoints import Checkpoint, open_checkpoint_note
from oversight_audit.errors import (
    BundleError,
    CheckpointError,
    FormatError,
    RootMismatch,
    VerificationError,
)
from oversight_audit.notes import VerifierKey


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
