"""C2SP tlog-checkpoint bodies (https://c2sp.org/tlog-checkpoint), signed as notes.

A checkpoint is the note text::

    <origin>
    <tree size, decimal, no leading zeros>
    <root hash, standard base64>
    oversight-chain-head <64 hex: the hash of record size-1>   (optional extension line)
    <other extension lines, kept as they are>
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from oversight_audit._internal.wire import b64, unb64
from oversight_audit.errors import CheckpointError, MalformedCheckpoint
from oversight_audit.notes import OpenedNote, SignerKey, VerifierKey, open_note, sign_note

__all__ = ["CHAIN_HEAD_EXTENSION", "Checkpoint", "open_checkpoint", "sign_checkpoint"]

CHAIN_HEAD_EXTENSION = "oversight-chain-head"
_SIZE_RE = re.compile(r"0|[1-9][0-9]{0,18}")
_HEX64_RE = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Checkpoint:
    """A signed tree head: origin, size, root, and the chain head (hash of record size-1)."""

    origin: str
    size: int
    root: bytes
    chain_head: str | None = None
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin:
            raise MalformedCheckpoint("the origin must be one non-empty line")
        if self.size < 0:
            raise MalformedCheckpoint("the tree size cannot be negative")
        if len(self.root) != 32:
            raise MalformedCheckpoint(f"the root hash is 32 bytes, not {len(self.root)}")
        if self.chain_head is not None and _HEX64_RE.fullmatch(self.chain_head) is None:
            raise MalformedCheckpoint("the chain head must be 64 lower-case hex digits")
        for line in self.extensions:
            if not line or "\n" in line or line.startswith(CHAIN_HEAD_EXTENSION + " "):
                raise MalformedCheckpoint(f"unusable extension line {line!r}")

    def to_text(self) -> str:
        """The note text (ends with a newline); the chain head comes first among extensions."""
        lines = [self.origin, str(self.size), b64(self.root)]
        if self.chain_head is not None:
            lines.append(f"{CHAIN_HEAD_EXTENSION} {self.chain_head}")
        lines.extend(self.extensions)
        return "\n".join(lines) + "\n"

    @classmethod
    def from_text(cls, text: str) -> Checkpoint:
        """Parse a checkpoint body, naming the line that is wrong."""
        if not text.endswith("\n"):
            raise MalformedCheckpoint("the checkpoint text must end with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise MalformedCheckpoint("a checkpoint needs origin, size and root lines")
        origin, size_text, root_text, *rest = lines
        if not origin:
            raise MalformedCheckpoint("line 1: the origin is empty")
        if _SIZE_RE.fullmatch(size_text) is None:
            raise MalformedCheckpoint(f"line 2: the tree size {size_text[:40]!r} is not a "
                                      "decimal number without leading zeros")
        root = unb64(root_text)
        if root is None:
            raise MalformedCheckpoint("line 3: the root hash is not valid base64")
        if len(root) != 32:
            raise MalformedCheckpoint(f"line 3: the root hash is {len(root)} bytes, not 32")
        chain_head = None
        extensions = []
        for number, line in enumerate(rest, start=4):
            if not line:
                raise MalformedCheckpoint(f"line {number}: empty extension line")
            if line.startswith(CHAIN_HEAD_EXTENSION + " ") or line == CHAIN_HEAD_EXTENSION:
                value = line[len(CHAIN_HEAD_EXTENSION) + 1 :]
                if chain_head is not None:
                    raise MalformedCheckpoint(f"line {number}: a second chain head")
                if _HEX64_RE.fullmatch(value) is None:
                    raise MalformedCheckpoint(f"line {number}: the chain head must be 64 "
                                              "lower-case hex digits")
                chain_head = value
            else:
                extensions.append(line)
        return cls(origin=origin, size=int(size_text), root=root, chain_head=chain_head,
                   extensions=tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, signers: Sequence[SignerKey]) -> str:
    """The checkpoint as a signed note."""
    return sign_note(checkpoint.to_text(), signers)


def open_checkpoint(
    note: str, known: Iterable[VerifierKey], *, origin: str | None = None
) -> Checkpoint:
    """Verify a signed checkpoint against ``known`` keys and parse it.

    With ``origin`` given, a checkpoint of another log raises ``CheckpointError``.
    Raises ``SignatureError``/``UnverifiedNote`` for signatures and ``MalformedNote``/
    ``MalformedCheckpoint`` for text that is not a checkpoint.
    """
    return open_checkpoint_note(note, known, origin=origin)[0]


def open_checkpoint_note(
    note: str, known: Iterable[VerifierKey], *, origin: str | None = None
) -> tuple[Checkpoint, OpenedNote]:
    """Like ``open_checkpoint``, also returning the opened note (who signed it)."""
    opened = open_note(note, known)
    checkpoint = Checkpoint.from_text(opened.text)
    if origin is not None and checkpoint.origin != origin:
        raise CheckpointError(f"the checkpoint is for origin {checkpoint.origin!r}, "
                              f"not {origin!r}", check="origin")
    return checkpoint, opened
