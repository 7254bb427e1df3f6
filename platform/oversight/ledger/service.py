"""Appending to the ledger inside the caller's transaction, and reading it back.

``append_record`` inserts into the unsealed queue with the caller's session, so a domain
change and its record commit or roll back together. The sequencer (``sealing``) later gives
each queued record its ``seq``, ``prev`` and ``hash``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any, cast

from sqlalchemy import Table, event, func, insert, select
from sqlalchemy.orm import Session

from oversight.db import utcnow
from oversight.errors import LedgerError, RecordNotFound
from oversight.ledger.actors import Actor
from oversight.ledger.models import LedgerCheckpoint, LedgerPayload, LedgerQueueEntry, LedgerRecord
from oversight_audit import (
    MalformedRecord,
    canonical_json,
    canonical_payload_digest,
    check_record_fields,
    new_payload_key,
)

_APPENDED = "oversight.ledger.appended"
ACTION_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


def format_time(moment: dt.datetime) -> str:
    """RFC 3339 UTC with microseconds and ``Z``, as records carry it."""
    if moment.tzinfo is None:
        raise ValueError("a ledger time must be timezone-aware")
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def append_record(
    session: Session,
    *,
    action: str,
    actor: Actor,
    subject: Mapping[str, str | None] | None = None,
    data: Mapping[str, Any] | None = None,
    payload: Any = None,
    policy: str | None = None,
    time: dt.datetime | None = None,
) -> None:
    """Queue a record in the caller's transaction (sealed later, when it commits).

    ``payload`` (which may hold personal data) is stored beside the chain; the record
    commits to it with a keyed digest, so it can be erased later while the chain verifies.
    ``data`` holds small, non-personal facts and goes into the record itself. Records are
    buffered and written with one multi-row insert when the transaction commits (or at
    ``write_appended``), so a transaction that records several steps pays one round trip.
    """
    if not ACTION_PATTERN.match(action):
        raise LedgerError(f"ledger action {action!r} is not a dotted lowercase verb")
    moment = time or utcnow()
    payload_json: str | None = None
    key: bytes | None = None
    digest: str | None = None
    if payload is not None:
        key = new_payload_key()
        canonical = canonical_json(payload)  # encoded once: digested and stored
        digest = canonical_payload_digest(key, canonical)
        payload_json = canonical.decode()
    fields = {
        "time": format_time(moment),
        "actor": actor.to_record(),
        "action": action,
        "subject": dict(subject or {}),
        "payload_digest": digest,
        "policy": policy,
        "data": dict(data or {}),
    }
    try:
        check_record_fields(fields)
    except MalformedRecord as exc:
        raise LedgerError(f"ledger record for {action!r} is not valid: {exc}") from exc
    session.info.setdefault(_APPENDED, []).append({
        "enqueued_at": moment,
        "fields": canonical_json(fields).decode(),
        "payload": payload_json,
        "payload_key": key,
    })


_QUEUE_INSERT = insert(cast(Table, LedgerQueueEntry.__table__))  # Core: no ORM bulk-insert machinery a row


def write_appended(session: Session) -> int:
    """Insert the records appended in this transaction so far; returns how many."""
    rows = session.info.pop(_APPENDED, None)
    if rows:  # one row as a plain execute: a list of one would go the executemany path
        session.connection().execute(_QUEUE_INSERT, rows if len(rows) > 1 else rows[0])
    return len(rows or ())


@event.listens_for(Session, "before_commit")
def _write_before_commit(session: Session) -> None:
    write_appended(session)


@event.listens_for(Session, "after_soft_rollback")
def _forget_after_rollback(session: Session, _transaction: object) -> None:
    session.info.pop(_APPENDED, None)


def pending_count(session: Session) -> int:
    """How many appended records wait for the sequencer."""
    write_appended(session)
    return int(session.scalar(select(func.count()).select_from(LedgerQueueEntry)) or 0)


def tree_size(session: Session) -> int:
    """How many records are sealed into the chain."""
    last = session.scalar(select(func.max(LedgerRecord.seq)))
    return 0 if last is None else int(last) + 1


def get_record(session: Session, *, seq: int) -> LedgerRecord:
    """One sealed record, or ``RecordNotFound``."""
    record = session.get(LedgerRecord, seq)
    if record is None:
        raise RecordNotFound(f"no sealed ledger record with seq {seq}", seq=seq)
    return record


def record_dict(record: LedgerRecord) -> dict[str, Any]:
    """A stored record parsed back into its JSON members."""
    value: dict[str, Any] = json.loads(record.line)
    return value


def iter_records(
    session: Session,
    *,
    start: int = 0,
    stop: int | None = None,
    chunk: int = 2000,
) -> Iterator[LedgerRecord]:
    """Sealed records with ``start <= seq < stop`` in ``seq`` order, fetched in chunks."""
    next_seq = start
    while True:
        query = select(LedgerRecord).where(LedgerRecord.seq >= next_seq)
        if stop is not None:
            query = query.where(LedgerRecord.seq < stop)
        rows = session.scalars(query.order_by(LedgerRecord.seq).limit(chunk)).all()
        if not rows:
            return
        yield from rows
        next_seq = rows[-1].seq + 1
        session.expunge_all()


def latest_checkpoint(session: Session) -> LedgerCheckpoint | None:
    """The newest signed checkpoint, if any."""
    return session.scalars(
        select(LedgerCheckpoint).order_by(LedgerCheckpoint.tree_size.desc()).limit(1)
    ).first()


def get_payload(session: Session, *, seq: int) -> LedgerPayload | None:
    """The stored payload row of a record (None when the record had no payload)."""
    return session.get(LedgerPayload, seq)


def erase_payload(session: Session, *, seq: int, reason: str, actor: Actor) -> None:
    """Erase a sealed record's payload and key (GDPR Art. 17); the erasure is itself a record.

    The chain still verifies: the record commits to a keyed digest, and without the key the
    digest says nothing about the erased payload.
    """
    if not reason.strip():
        raise LedgerError("an erasure needs a reason")
    get_record(session, seq=seq)
    row = session.get(LedgerPayload, seq, with_for_update=True)
    if row is None:
        raise LedgerError(f"record {seq} has no payload to erase")
    if row.erased_at is not None:
        raise LedgerError(f"the payload of record {seq} was already erased at {row.erased_at}")
    row.payload = None
    row.key = None
    row.erased_at = utcnow()
    session.flush()
    append_record(session, action="payload.erased", actor=actor,
                         subject={"record": str(seq)}, data={"erased_seq": seq, "reason": reason})


def recorded(session: Session, *, thread_id: str | None = None,
             action: str | None = None) -> list[dict[str, Any]]:
    """Records about a thread and/or of an action: the sealed ones in ``seq`` order, then those
    still waiting for the sequencer (which carry no ``seq`` yet), in append order."""
    query = select(LedgerRecord.line).order_by(LedgerRecord.seq)
    if thread_id is not None:
        query = query.where(LedgerRecord.thread_id == thread_id)
    if action is not None:
        query = query.where(LedgerRecord.action == action)
    sealed = [json.loads(line) for line in session.scalars(query)]
    queued = [json.loads(fields) for fields in session.scalars(
        select(LedgerQueueEntry.fields).order_by(LedgerQueueEntry.id))]
    return sealed + [r for r in queued
                     if (thread_id is None or r["subject"].get("thread") == thread_id)
                     and (action is None or r["action"] == action)]
