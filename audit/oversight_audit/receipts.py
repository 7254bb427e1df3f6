"""Receipts: one record, its inclusion proof and a signed checkpoint, verifiable alone.

A receipt is the JSON object::

    {"format": "oversight-receipt/v1", "record": "<exported line>", "leaf_index": n,
     "tree_size": m, "inclusion_proof": ["<base64>", ...], "checkpoint": "<signed note>",
     "keys": ["<verifier key>", ...]}
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from oversight_audit._internal.canonical import canonical_json
from oversight_audit._internal.wire import b64_hashes, hashes_from_b64
from oversight_audit.checkpoints import Checkpoint, open_checkpoint_note
from oversight_audit.errors import (
    CheckpointError,
    FormatError,
    InclusionProofError,
    MalformedReceipt,
    MalformedRecord,
)
from oversight_audit.merkle import leaf_hash, verify_inclusion
from oversight_audit.notes import VerifierKey
from oversight_audit.records import Record

__all__ = ["RECEIPT_FORMAT", "Receipt", "VerifiedRecord", "verify_receipt"]

RECEIPT_FORMAT = "oversight-receipt/v1"
_MEMBERS = ("checkpoint", "format", "inclusion_proof", "keys", "leaf_index", "record",
            "tree_size")


@dataclass(frozen=True)
class Receipt:
    """The parts of a receipt; ``to_json``/``from_json`` give its wire form."""

    record: str
    leaf_index: int
    tree_size: int
    inclusion_proof: Sequence[bytes]
    checkpoint: str
    keys: Sequence[str] = field(default=())

    def to_json(self) -> bytes:
        """The receipt document (canonical JSON, so equal receipts are equal bytes)."""
        return canonical_json({
            "format": RECEIPT_FORMAT,
            "record": self.record,
            "leaf_index": self.leaf_index,
            "tree_size": self.tree_size,
            "inclusion_proof": b64_hashes(self.inclusion_proof),
            "checkpoint": self.checkpoint,
            "keys": list(self.keys),
        })

    @classmethod
    def from_json(cls, data: bytes | str) -> Receipt:
        """Parse a receipt document; ``MalformedReceipt`` names the member that is wrong."""
        try:
            value = json.loads(data)
        except (ValueError, RecursionError) as exc:
            raise MalformedReceipt(f"not JSON: {exc}") from None
        if type(value) is not dict:
            raise MalformedReceipt("a receipt is a JSON object")
        if value.get("format") != RECEIPT_FORMAT:
            raise MalformedReceipt(f"/format: expected {RECEIPT_FORMAT!r}, "
                                   f"found {value.get('format')!r}")
        for name in _MEMBERS:
            if name not in value:
                raise MalformedReceipt(f"/{name}: missing member")
        for name in sorted(value):
            if name not in _MEMBERS:
                raise MalformedReceipt(f"/{name}: unexpected member")
        for name in ("record", "checkpoint"):
            if type(value[name]) is not str:
                raise MalformedReceipt(f"/{name}: expected a string")
        for name in ("leaf_index", "tree_size"):
            if type(value[name]) is not int or value[name] < 0:
                raise MalformedReceipt(f"/{name}: expected a non-negative integer")
        return cls(
            record=value["record"],
            leaf_index=value["leaf_index"],
            tree_size=value["tree_size"],
            inclusion_proof=hashes_from_b64(value["inclusion_proof"], "/inclusion_proof",
                                            MalformedReceipt),
            checkpoint=value["checkpoint"],
            keys=tuple(_strings(value["keys"], "/keys")),
        )


def _strings(value: Any, pointer: str) -> list[str]:
    if type(value) is not list or any(type(item) is not str for item in value):
        raise MalformedReceipt(f"{pointer}: expected an array of strings")
    return value


@dataclass(frozen=True, slots=True)
class VerifiedRecord(Record):
    """A record proven by a receipt, with the checkpoint that proves it and its signers.

    ``keys_pinned`` is false when no trusted keys were given and the receipt's own keys were
    used: the signature then shows only that whoever made the receipt holds those keys.
    """

    checkpoint: Checkpoint = field(repr=False, compare=False, kw_only=True)
    verified_by: tuple[VerifierKey, ...] = field(compare=False, kw_only=True)
    keys_pinned: bool = field(compare=False, kw_only=True)


def verify_receipt(
    receipt: Receipt, trusted_keys: Sequence[VerifierKey] | None = None
) -> VerifiedRecord:
    """Verify a receipt offline and return its record.

    Checks, in order: the checkpoint's signature (by ``trusted_keys``, or by the receipt's
    own keys when none are given, which the result records as ``keys_pinned=False``), that
    the record line is well formed and its hash recomputes, that ``leaf_index`` is the
    record's ``seq`` and ``tree_size`` the checkpoint's size, and the inclusion proof of
    the line's leaf hash in the checkpoint's root. Raises a ``VerificationError`` subclass
    on failure and a ``FormatError`` subclass for a receipt that is not usable at all.
    """
    pinned = trusted_keys is not None
    if trusted_keys is None:
        try:
            trusted_keys = [VerifierKey.from_string(text) for text in receipt.keys]
        except FormatError as exc:
            raise MalformedReceipt(f"/keys: {exc}") from exc
    checkpoint, opened = open_checkpoint_note(receipt.checkpoint, trusted_keys)
    try:
        record = Record.from_line(receipt.record.encode("utf-8", "surrogatepass"))
    except MalformedRecord as exc:
        raise MalformedReceipt(f"/record{exc.pointer}: {exc.problem}") from exc
    record.check_hash()
    if receipt.leaf_index != record.seq:
        raise CheckpointError(f"the receipt's leaf index {receipt.leaf_index} is not the "
                              f"record's seq", seq=record.seq, check="leaf index")
    if receipt.tree_size != checkpoint.size:
        raise CheckpointError(f"the receipt's tree size {receipt.tree_size} is not the "
                              f"checkpoint's size {checkpoint.size}", seq=record.seq,
                              check="tree size")
    try:
        verify_inclusion(leaf_hash(record.line), record.seq, checkpoint.size,
                         receipt.inclusion_proof, checkpoint.root)
    except InclusionProofError as exc:
        raise InclusionProofError(exc.problem, seq=record.seq) from exc
    values = {name: getattr(record, name) for name in Record.__dataclass_fields__}
    return VerifiedRecord(**values, checkpoint=checkpoint, verified_by=opened.verified_by,
                          keys_pinned=pinned)
