"""The offline verifier: stream a bundle (or a bare ``records.jsonl``) and check everything.

Memory stays flat in the number of records: lines are read one at a time, the Merkle tree
is a compact range of O(log n) hashes, checkpoints are read in step with the records, and
payload files are opened only for the records that commit to one.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from oversight_audit import bundle as files
from oversight_audit._internal.bundle_checks import CheckpointTrail, compare, with_seq
from oversight_audit._internal.payloads import PayloadCheck
from oversight_audit._internal.stream import Progress, RecordStream
from oversight_audit._internal.wire import b64
from oversight_audit.errors import (
    BundleError,
    ChainError,
    CheckpointError,
    VerificationError,
)
from oversight_audit.merkle import CompactRange, verify_consistency
from oversight_audit.notes import VerifierKey

__all__ = ["VerifyReport", "verify_bundle", "verify_chain"]

UNPINNED_WARNING = (
    "keys not pinned: the checkpoints were verified with the bundle's own keys file, which "
    "proves only that whoever made the bundle holds those keys; pass the log's published "
    "keys with --key (or --keys-file)")
CHAIN_ONLY_WARNING = (
    "chain only: no checkpoint, signature, Merkle root or payload was checked; whoever could "
    "rewrite the file could have recomputed every hash, so this shows internal consistency "
    "only; verify the whole bundle to rely on it")


@dataclass(frozen=True)
class VerifyReport:
    """What was verified. A ``chain_only`` report is much weaker (see ``warnings``)."""

    path: str
    chain_only: bool
    first_seq: int
    last_seq: int
    record_count: int
    origin: str | None = None
    checkpoint_size: int | None = None
    root: bytes | None = None
    checkpoints_verified: int = 0
    verified_by: tuple[str, ...] = ()
    keys_pinned: bool = False
    payloads_verified: int = 0
    payloads_absent: int = 0
    first_prev_checked: bool = False
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (the CLI's ``--json`` output)."""
        return {
            "status": "intact",
            "path": self.path,
            "chain_only": self.chain_only,
            "origin": self.origin,
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "record_count": self.record_count,
            "checkpoint_size": self.checkpoint_size,
            "root": None if self.root is None else b64(self.root),
            "checkpoints_verified": self.checkpoints_verified,
            "verified_by": list(self.verified_by),
            "keys_pinned": self.keys_pinned,
            "payloads_verified": self.payloads_verified,
            "payloads_absent": self.payloads_absent,
            "first_prev_checked": self.first_prev_checked,
            "warnings": list(self.warnings),
        }


def _trusted_keys(
    directory: Path, keys: Sequence[VerifierKey] | None
) -> tuple[list[VerifierKey], bool]:
    if keys is not None:
        if not keys:
            raise BundleError("--key", "an empty list of trusted keys can verify nothing")
        return list(keys), True
    found = files.parse_keys(files.read_text(directory, files.KEYS))
    if not found:
        raise BundleError(files.KEYS, "no verifier key in the bundle, and none was given")
    return found, False


def verify_bundle(
    path: str | os.PathLike[str],
    *,
    keys: Sequence[VerifierKey] | None = None,
    progress: Progress | None = None,
) -> VerifyReport:
    """Verify a bundle directory end to end and report what was checked.

    Checks every line (well formed, canonical, hash recomputes), ``prev`` links (from the
    genesis value when the bundle starts at seq 0), contiguous ``seq`` from ``first_seq``,
    the Merkle root (seeded from ``prefix``) against every checkpoint as the stream reaches
    its size, the newest checkpoint through ``tail_proof``, every checkpoint's signature and
    origin, chain heads, payloads against their digests, and that no record lies past the
    newest checkpoint. ``keys`` are the trusted verifier keys; ``None`` uses the bundle's own
    ``keys`` file and the report says so. Raises ``VerificationError`` naming the first
    failing ``seq``, or ``BundleError`` for input that cannot be used.
    """
    directory = Path(path)
    if not directory.is_dir():
        raise BundleError(str(directory), "not a bundle directory")
    manifest = files.Manifest.from_json(files.read_file(directory, files.MANIFEST))
    trusted, pinned = _trusted_keys(directory, keys)
    final_note = files.read_text(directory, files.CHECKPOINT)
    if files.note_size(final_note, files.CHECKPOINT) != manifest.checkpoint_size:
        raise BundleError(files.MANIFEST, "/checkpoint_size: differs from the size in the "
                          "checkpoint file")
    tree = CompactRange.from_hashes(manifest.first_seq, manifest.prefix)
    end = manifest.last_seq + 1
    trail = CheckpointTrail(directory, manifest, trusted)
    payloads = PayloadCheck(directory, manifest)

    def past_limit(seq: int) -> VerificationError:
        if seq >= manifest.checkpoint_size:
            return CheckpointError(f"records from seq {seq} on are not covered by the newest "
                                   f"checkpoint (size {manifest.checkpoint_size})",
                                   seq=seq, check="coverage")
        return CheckpointError(f"records.jsonl holds records past last_seq "
                               f"{manifest.last_seq}", seq=seq, check="coverage")

    stream = RecordStream(directory / files.RECORDS, files.RECORDS, progress)
    stream.run(first_seq=manifest.first_seq, tree=tree, stops=trail, payloads=payloads,
               limit=min(end, manifest.checkpoint_size), past_limit=past_limit)
    if stream.count < manifest.record_count:
        missing = manifest.first_seq + stream.count
        raise ChainError(f"records.jsonl ends before seq {missing}; the manifest lists records "
                         f"up to seq {manifest.last_seq}", seq=missing, check="seq")
    final = trail.open(final_note, manifest.checkpoint_size, files.CHECKPOINT, None)
    root = tree.root()
    if final.size == end:
        compare(final, root, stream.last_hash if stream.count else None, manifest.last_seq)
    elif end > 0:  # from the empty tree there is nothing to prove
        try:
            verify_consistency(end, final.size, manifest.tail_proof, root, final.root)
        except VerificationError as exc:
            raise with_seq(exc, manifest.last_seq, "tail_proof") from exc
    payloads.leftover()
    warnings = [] if pinned else [UNPINNED_WARNING]
    if manifest.first_seq > 0:
        warnings.append(f"the bundle starts at seq {manifest.first_seq}: the first record's "
                        "prev is tied to earlier records only through the Merkle tree")
    return VerifyReport(
        path=str(directory), chain_only=False, first_seq=manifest.first_seq,
        last_seq=manifest.last_seq, record_count=manifest.record_count, origin=manifest.origin,
        checkpoint_size=final.size, root=final.root, checkpoints_verified=trail.verified,
        verified_by=tuple(trail.signers), keys_pinned=pinned,
        payloads_verified=payloads.verified, payloads_absent=stream.digests - payloads.verified,
        first_prev_checked=manifest.first_seq == 0, warnings=tuple(warnings),
    )


def verify_chain(
    path: str | os.PathLike[str], *, progress: Progress | None = None
) -> VerifyReport:
    """Check a bare ``records.jsonl``: lines, hashes, ``prev`` links and contiguous seq.

    Much weaker than ``verify_bundle``: nothing here is signed, so whoever rewrote the whole
    file could have recomputed every hash. When the file starts at seq 0 the report carries
    the Merkle root, to compare with a checkpoint obtained elsewhere.
    """
    file = Path(path)
    stream = RecordStream(file, file.name, progress)
    tree = CompactRange()
    stream.run(first_seq=None, tree=tree)
    if stream.first is None:
        raise BundleError(file.name, "holds no record")
    warnings = [CHAIN_ONLY_WARNING]
    if stream.first > 0:
        warnings.append(f"the file starts at seq {stream.first}: the first record's prev "
                        "cannot be checked")
    return VerifyReport(
        path=str(file), chain_only=True, first_seq=stream.first,
        last_seq=stream.first + stream.count - 1, record_count=stream.count,
        root=tree.root() if stream.first == 0 else None,
        first_prev_checked=stream.first == 0, warnings=tuple(warnings),
    )
