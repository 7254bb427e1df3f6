"""Appending in the caller's transaction, sealing into chain and tree, signed checkpoints."""

from __future__ import annotations

import itertools
import json

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from oversight.errors import LedgerError
from oversight.ledger import service
from oversight.ledger.models import LedgerCheckpoint, LedgerPayload, LedgerRecord
from oversight.ledger.sealing import seal_all, seal_pending_records, stored_node_getter
from oversight_audit import (
    GENESIS_PREV,
    compute_record_hash,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    open_checkpoint,
    root_of,
    verify_consistency,
    verify_inclusion,
    verify_payload_digest,
)
from tests.ledger.conftest import ALICE, ORIGIN, SYSTEM, make_signer


def _append(sessions: sessionmaker[Session], count: int, *, payload: bool = False) -> None:
    with sessions() as session, session.begin():
        for i in range(count):
            service.append_record(
                session, action="test.appended", actor=ALICE if i % 2 else SYSTEM,
                subject={"thread": f"t-{i % 3}", "approval": None}, data={"i": i},
                payload={"query": f"DELETE FROM users WHERE id = {i}"} if payload else None,
                policy="sha256:" + "ab" * 32,
            )


def _lines(session: Session) -> list[bytes]:
    return [r.line.encode() for r in service.iter_records(session)]


def test_sealed_records_form_a_chain_and_a_tree(sessions, signer):
    _append(sessions, 10)
    with sessions() as session, session.begin():
        result = seal_pending_records(session, signer=signer, origin=ORIGIN)
    assert (result.sealed, result.tree_size) == (10, 10)
    with sessions() as session:
        lines = _lines(session)
        records = [json.loads(line) for line in lines]
        assert [r["seq"] for r in records] == list(range(10))
        assert records[0]["prev"] == GENESIS_PREV
        for before, after in itertools.pairwise(records):
            assert after["prev"] == before["hash"]
        assert all(compute_record_hash(r) == r["hash"] for r in records)
        assert records[1]["actor"]["sub"] == "alice" and records[1]["actor"]["amr"] == ["otp", "pwd"]
        assert records[0]["actor"] == {"type": "system", "id": "system:test"}
        assert service.pending_count(session) == 0
        checkpoint = open_checkpoint(result.checkpoint, [signer.verifier_key()], origin=ORIGIN)
        assert checkpoint.size == 10
        assert checkpoint.root == root_of([leaf_hash(line) for line in lines])
        assert checkpoint.chain_head == records[-1]["hash"]


def test_a_rolled_back_transaction_leaves_no_record(sessions, signer):
    with pytest.raises(RuntimeError), sessions() as session, session.begin():
        service.append_record(session, action="test.appended", actor=SYSTEM)
        raise RuntimeError("the domain change failed")
    with sessions() as session:
        assert service.pending_count(session) == 0


def test_an_action_that_is_not_a_dotted_verb_is_refused(sessions):
    with sessions() as session, session.begin(), pytest.raises(LedgerError, match="dotted"):
        service.append_record(session, action="Approved!", actor=SYSTEM)


def test_batches_keep_proofs_valid_across_checkpoints(sessions, signer):
    for count in (1, 6, 9, 16):
        _append(sessions, count)
        with sessions() as session, session.begin():
            seal_pending_records(session, signer=signer, origin=ORIGIN, batch_size=5)
        seal_all(sessions, signer=signer, origin=ORIGIN, batch_size=5)
    with sessions() as session:
        checkpoints = session.scalars(select(LedgerCheckpoint).order_by(LedgerCheckpoint.tree_size)).all()
        assert [c.tree_size for c in checkpoints] == [1, 6, 7, 12, 16, 21, 26, 31, 32]
        get_node = stored_node_getter(session)
        lines = _lines(session)
        for cp in checkpoints:
            root = bytes.fromhex(cp.root)
            assert root == root_of([leaf_hash(line) for line in lines[: cp.tree_size]])
            for index in range(cp.tree_size):
                proof = inclusion_proof(index, cp.tree_size, get_node)
                verify_inclusion(leaf_hash(lines[index]), index, cp.tree_size, proof, root)
        for old, new in itertools.pairwise(checkpoints):
            proof = consistency_proof(old.tree_size, new.tree_size, get_node)
            verify_consistency(old.tree_size, new.tree_size, proof, bytes.fromhex(old.root),
                               bytes.fromhex(new.root))


def test_payload_is_committed_by_a_keyed_digest(sessions, signer):
    _append(sessions, 3, payload=True)
    seal_all(sessions, signer=signer, origin=ORIGIN)
    with sessions() as session:
        for record in service.iter_records(session):
            stored = session.get(LedgerPayload, record.seq)
            assert stored is not None and stored.key is not None
            digest = json.loads(record.line)["payload_digest"]
            assert verify_payload_digest(digest, stored.key, json.loads(stored.payload))
            assert not verify_payload_digest(digest, stored.key, {"query": "SELECT 1"})
            assert "DELETE FROM" not in record.line  # the record holds the digest, not the payload


def test_the_chain_cannot_fork(sessions, signer):
    _append(sessions, 2)
    seal_all(sessions, signer=signer, origin=ORIGIN)
    with sessions() as session:
        first = session.get(LedgerRecord, 1)
        assert first is not None
        forged = {"seq": 2, "prev": first.prev, "hash": "f" * 64, "time": first.time,
                  "action": "test.forged", "actor": "system:test", "line": "{}"}
    with pytest.raises(IntegrityError), sessions() as session, session.begin():
        session.execute(insert(LedgerRecord), [forged])
    with pytest.raises(IntegrityError), sessions() as session, session.begin():
        session.execute(insert(LedgerRecord), [{**forged, "seq": 1, "prev": "e" * 64}])


def test_a_rotated_key_stays_published(sessions, signer):
    from oversight.ledger.keys import published_keys

    _append(sessions, 2)
    seal_all(sessions, signer=signer, origin=ORIGIN)
    rotated = make_signer(9)
    _append(sessions, 2)
    seal_all(sessions, signer=rotated, origin=ORIGIN)
    with sessions() as session:
        keys = published_keys(session)
        assert {str(k) for k in keys} == {str(signer.verifier_key()), str(rotated.verifier_key())}
        notes = session.scalars(select(LedgerCheckpoint.note).order_by(LedgerCheckpoint.tree_size)).all()
        assert open_checkpoint(notes[0], keys).size == 2
        assert open_checkpoint(notes[1], keys).size == 4
