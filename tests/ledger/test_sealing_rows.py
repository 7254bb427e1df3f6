"""The rows a sealed batch writes are exactly the reference records, tree and payloads."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session, sessionmaker

from oversight.errors import LedgerCorrupted
from oversight.ledger import sealing, service
from oversight.ledger.actors import UserActor
from oversight.ledger.models import LedgerNode, LedgerPayload, LedgerQueueEntry, LedgerRecord
from oversight.ledger.sealing import seal_all
from oversight_audit import GENESIS_PREV, CompactRange, finalize_record, leaf_hash
from tests.ledger.conftest import ALICE, ORIGIN, SYSTEM

ZOE = UserActor(issuer="https://idp.test/ré|alm\t", subject='zoë "z" \\N\r\n', name="Zoë 😀",
                roles=("dba", "\u2028"), acr=None, amr=(), auth_time=None)
AWKWARD: list[dict[str, Any]] = [
    {"subject": {"thread": "t-1", "approval": "a-1"}, "data": {"hash": "h", "i": 1}},
    {"subject": {"thread": "t\\N\t\\", "approval": "a\r\n\\."}, "data": {"tab": "\t"}},
    {"subject": {"payload_digest": "x", "subject": "y", "thread": "t-é"},
     "data": {"payload_digest": None, "subject": {"thread": "fake"}, "v": [1, "\n"]}},
    {"subject": {}, "data": {"😀": ',"subject":{', "\ue000": '\\"', "": None}},
    {"subject": {"approval": None}, "data": {}},
]


def _append_awkward(sessions: sessionmaker[Session], rounds: int) -> None:
    with sessions() as session, session.begin():
        for n in range(rounds):
            for i, shape in enumerate(AWKWARD):
                service.append_record(
                    session, action="test.awkward", actor=(ALICE, SYSTEM, ZOE)[(n + i) % 3],
                    subject=shape["subject"], data={**shape["data"], "n": n},
                    payload={"query": f"SELECT 'é' -- {n}"} if i % 2 else None,
                    policy=None if n % 2 else "sha256:" + "ab" * 32,
                    time=dt.datetime(2026, 11, 25, 4, 0, n % 60, n * 7919 % 1_000_000, dt.UTC))


def _queued(session: Session) -> list[Any]:
    return list(session.execute(select(LedgerQueueEntry.fields, LedgerQueueEntry.payload,
                                       LedgerQueueEntry.payload_key)
                                .order_by(LedgerQueueEntry.id)))


def test_sealed_rows_equal_the_reference(sessions, signer):
    _append_awkward(sessions, 6)
    with sessions() as session:
        queued = _queued(session)
    assert seal_all(sessions, signer=signer, origin=ORIGIN, batch_size=7) == len(queued)

    prev, tree, nodes = GENESIS_PREV, CompactRange(), set()
    with sessions() as session:
        stored = session.scalars(select(LedgerRecord).order_by(LedgerRecord.seq)).all()
        assert len(stored) == len(queued)
        for seq, (row, entry) in enumerate(zip(stored, queued, strict=True)):
            record, line = finalize_record(json.loads(entry.fields), seq=seq, prev=prev)
            subject, actor = record["subject"], record["actor"]
            assert (row.seq, row.prev, row.hash, row.line) == (seq, prev, record["hash"],
                                                               line.decode())
            assert row.time == dt.datetime.fromisoformat(record["time"])
            assert row.action == record["action"]
            assert row.actor == (actor["id"] if actor["type"] == "system"
                                 else f"{actor['iss']}|{actor['sub']}")
            assert (row.thread_id, row.approval_id) == (subject.get("thread"),
                                                        subject.get("approval"))
            payload = session.get(LedgerPayload, seq)
            if entry.payload is None:
                assert payload is None
            else:
                assert payload is not None
                assert (payload.payload, payload.key) == (entry.payload, entry.payload_key)
            nodes.update(tree.append(leaf_hash(line)))
            prev = record["hash"]
        assert {(n.level, n.index, bytes(n.hash))
                for n in session.scalars(select(LedgerNode))} == nodes


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # SQLite stores times as text
def test_sqlite_times_are_stored_as_the_column_type_stores_them(sessions, signer, database_url):
    _append_awkward(sessions, 2)
    seal_all(sessions, signer=signer, origin=ORIGIN)
    with sessions() as session:
        dialect = session.get_bind().dialect
        store = LedgerRecord.__table__.c.time.type.dialect_impl(dialect).bind_processor(dialect)
        assert store is not None
        raw = session.execute(text("SELECT line, time FROM ledger_record")).all()
        assert raw and all(
            stored == store(dt.datetime.fromisoformat(json.loads(line)["time"]))
            for line, stored in raw)


# On SQLite the sealing transaction holds the write lock from its start: no such race.
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_a_record_still_uncommitted_inside_the_batch_range_stays_queued(
        sessions, signer, database_url, monkeypatch):
    late = sessions()
    late.begin()
    with sessions() as session, session.begin():
        service.append_record(session, action="test.first", actor=SYSTEM)
    service.append_record(late, action="test.late", actor=SYSTEM)
    service.write_appended(late)  # takes the next id, not yet committed
    with sessions() as session, session.begin():
        service.append_record(session, action="test.third", actor=SYSTEM)

    write = sealing.write_sealed_batch

    def commit_late_then_write(session: Session, **rows: Any) -> None:
        late.commit()  # commits after the batch was taken, before the sealed rows are written
        write(session, **rows)

    monkeypatch.setattr(sealing, "write_sealed_batch", commit_late_then_write)
    with sessions() as session, session.begin():
        result = sealing.seal_pending_records(session, signer=signer, origin=ORIGIN)
    late.close()
    assert result.sealed == 2
    with sessions() as session:
        assert [r["action"] for r in service.recorded(session)] == [
            "test.first", "test.third", "test.late"]
        assert service.pending_count(session) == 1


def test_a_missing_tree_node_stops_sealing(sessions, signer):
    _append_awkward(sessions, 1)
    seal_all(sessions, signer=signer, origin=ORIGIN)
    with sessions() as session, session.begin():
        session.execute(delete(LedgerNode).where(LedgerNode.level == 2))
    _append_awkward(sessions, 1)
    with pytest.raises(LedgerCorrupted, match=r"lacks node \(2, 0\)"):
        seal_all(sessions, signer=signer, origin=ORIGIN)
    with sessions() as session:
        assert service.pending_count(session) == len(AWKWARD)
