"""Receipts: one record proven against a signed checkpoint, offline and alone."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from oversight_audit import (
    CheckpointError,
    InclusionProofError,
    MalformedReceipt,
    Receipt,
    SignatureError,
    UnverifiedNote,
    canonical_json,
    compute_record_hash,
    verify_receipt,
)
from oversight_audit.errors import ChainError
from tests.audit.factories import build_ledger, signer

LEDGER = build_ledger(21, checkpoint_every=8)  # checkpoints at 8, 16, 21


@pytest.mark.parametrize(("seq", "size"), [(0, 8), (7, 8), (9, 16), (20, 21), (3, 21)])
def test_a_receipt_verifies_alone_and_round_trips(seq: int, size: int) -> None:
    receipt = LEDGER.receipt(seq, size)
    again = Receipt.from_json(receipt.to_json())
    assert again.to_json() == receipt.to_json()
    record = verify_receipt(again, [signer().verifier_key()])
    assert (record.seq, record.hash, record.checkpoint.size) == (seq, LEDGER.records[seq]["hash"],
                                                                  size)
    assert record.keys_pinned and record.verified_by == (signer().verifier_key(),)
    unpinned = verify_receipt(again)
    assert not unpinned.keys_pinned and unpinned.seq == seq


def test_the_wire_form_has_the_documented_members() -> None:
    document = json.loads(LEDGER.receipt(5).to_json())
    assert document["format"] == "oversight-receipt/v1"
    assert set(document) == {"format", "record", "leaf_index", "tree_size", "inclusion_proof",
                             "checkpoint", "keys"}
    assert document["record"].encode() == LEDGER.lines[5]


def test_tampering_with_a_receipt_is_caught() -> None:
    receipt = LEDGER.receipt(9, 16)
    record = json.loads(receipt.record)
    record["data"] = {"outcome": "rejected"}
    with pytest.raises(ChainError, match="hash"):
        verify_receipt(replace(receipt, record=canonical_json(record).decode()))
    record["hash"] = compute_record_hash(record)  # consistent, but not the logged record
    with pytest.raises(InclusionProofError) as caught:
        verify_receipt(replace(receipt, record=canonical_json(record).decode()))
    assert caught.value.seq == 9
    with pytest.raises(CheckpointError, match="leaf index"):
        verify_receipt(replace(receipt, leaf_index=8))
    with pytest.raises(CheckpointError, match="tree size"):
        verify_receipt(replace(receipt, tree_size=17))
    with pytest.raises(InclusionProofError):
        verify_receipt(replace(receipt, inclusion_proof=list(receipt.inclusion_proof)[:-1]))
    with pytest.raises(UnverifiedNote):
        verify_receipt(receipt, [signer(5).verifier_key()])
    forged = receipt.checkpoint.replace("\n16\n", "\n17\n")
    with pytest.raises(SignatureError):
        verify_receipt(replace(receipt, checkpoint=forged, tree_size=17))


@pytest.mark.parametrize(("document", "problem"), [
    (b"not json", "not JSON"),
    (b"[]", "a JSON object"),
    (b'{"format": "oversight-receipt/v2"}', "/format"),
    (b'{"format": "oversight-receipt/v1"}', "/checkpoint: missing"),
])
def test_malformed_receipts_are_refused(document: bytes, problem: str) -> None:
    with pytest.raises(MalformedReceipt, match=problem):
        Receipt.from_json(document)


@pytest.mark.parametrize(("member", "value", "problem"), [
    ("leaf_index", -1, "/leaf_index"),
    ("inclusion_proof", ["!!"], "/inclusion_proof/0: not valid base64"),
    ("inclusion_proof", ["AAAA"], "32 bytes"),
    ("keys", "k", "/keys"),
    ("extra", 1, "/extra: unexpected"),
])
def test_malformed_members_are_named(member: str, value: object, problem: str) -> None:
    document = json.loads(LEDGER.receipt(3).to_json())
    document[member] = value
    with pytest.raises(MalformedReceipt, match=problem):
        Receipt.from_json(json.dumps(document))


def test_a_malformed_record_or_key_in_a_receipt_is_a_receipt_error() -> None:
    receipt = LEDGER.receipt(3)
    with pytest.raises(MalformedReceipt, match="/record/seq"):
        verify_receipt(replace(receipt, record=receipt.record.replace('"seq":3', '"seq":"3"')))
    with pytest.raises(MalformedReceipt, match="/keys"):
        verify_receipt(replace(receipt, keys=["garbage"]))
