"""Export a range of the ledger as a bundle the offline verifier reads, and build receipts.

A bundle covers records ``first_seq..last_seq``: the records whose time falls in the asked
window, and everything sealed between them. It carries the compact range of the tree before
``first_seq`` (so the verifier can recompute roots), the checkpoints inside the range, the
newest checkpoint with a consistency proof from ``last_seq + 1`` to its size, the public
keys, and the payloads not erased.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from oversight.db import utcnow
from oversight.errors import NotSealedYet, RecordNotFound
from oversight.ledger import service
from oversight.ledger.models import LedgerCheckpoint, LedgerPayload, LedgerRecord
from oversight.ledger.sealing import stored_node_getter
from oversight_audit import (
    BundleWriter,
    CompactRange,
    Receipt,
    VerifierKey,
    consistency_proof,
    inclusion_proof,
)


@dataclass(frozen=True)
class ExportResult:
    """Where the bundle went and what it holds."""

    path: Path
    first_seq: int
    last_seq: int
    records: int
    checkpoint_size: int


def _seq_range(
    session: Session, since: dt.datetime | None, until: dt.datetime | None
) -> tuple[int, int] | None:
    first_query = select(func.min(LedgerRecord.seq))
    last_query = select(func.max(LedgerRecord.seq))
    if since is not None:
        first_query = first_query.where(LedgerRecord.time >= since)
        last_query = last_query.where(LedgerRecord.time >= since)
    if until is not None:
        first_query = first_query.where(LedgerRecord.time < until)
        last_query = last_query.where(LedgerRecord.time < until)
    first, last = session.scalar(first_query), session.scalar(last_query)
    if first is None or last is None:
        return None
    return int(first), int(last)


def export_bundle(
    session: Session,
    out: Path,
    *,
    origin: str,
    keys: list[VerifierKey],
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> ExportResult:
    """Write a bundle of the sealed records in ``[since, until)`` to the folder ``out``."""
    found = _seq_range(session, since, until)
    if found is None:
        raise RecordNotFound("no sealed ledger record falls in the asked time range")
    first, last = found
    latest = service.latest_checkpoint(session)
    if latest is None or latest.tree_size <= last:
        raise NotSealedYet("the newest records are not covered by a checkpoint yet; seal first")
    get_node = stored_node_getter(session)
    prefix = CompactRange.from_nodes(first, get_node).nodes()
    tail = consistency_proof(last + 1, latest.tree_size, get_node)

    writer = BundleWriter(out)
    for record in service.iter_records(session, start=first, stop=last + 1):
        writer.write_record(record.line.encode())
    payload_rows = session.execute(
        select(LedgerPayload.seq, LedgerPayload.key, LedgerPayload.payload)
        .where(LedgerPayload.seq.between(first, last), LedgerPayload.payload.is_not(None))
        .order_by(LedgerPayload.seq)
        .execution_options(yield_per=1000)
    )
    for seq, key, payload in payload_rows:
        if key is not None and payload is not None:
            writer.write_payload(int(seq), bytes(key), json.loads(payload))
    notes = session.scalars(
        select(LedgerCheckpoint.note)
        .where(LedgerCheckpoint.tree_size > first, LedgerCheckpoint.tree_size <= last + 1)
        .order_by(LedgerCheckpoint.tree_size)
    )
    for note in notes:
        writer.write_checkpoint(note)
    writer.close(
        origin=origin,
        first_seq=first,
        last_seq=last,
        prefix=prefix,
        checkpoint=latest.note,
        checkpoint_size=latest.tree_size,
        tail_proof=tail,
        keys=keys,
        exported_at=utcnow(),
    )
    return ExportResult(path=out, first_seq=first, last_seq=last, records=last - first + 1,
                        checkpoint_size=latest.tree_size)


def build_receipt(session: Session, *, seq: int, keys: list[VerifierKey]) -> Receipt:
    """A receipt for one sealed record: the record, its inclusion proof, the newest checkpoint."""
    record = service.get_record(session, seq=seq)
    latest = service.latest_checkpoint(session)
    if latest is None or latest.tree_size <= seq:
        raise NotSealedYet(f"record {seq} is not covered by a checkpoint yet; seal first")
    proof = inclusion_proof(seq, latest.tree_size, stored_node_getter(session))
    return Receipt(
        record=record.line,
        leaf_index=seq,
        tree_size=latest.tree_size,
        inclusion_proof=proof,
        checkpoint=latest.note,
        keys=[str(key) for key in keys],
    )


def b64(value: bytes) -> str:
    """Standard base64, as bundles and receipts write hashes."""
    return base64.b64encode(value).decode()
