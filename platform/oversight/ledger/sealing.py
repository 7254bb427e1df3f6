"""The sequencer: seals queued records into the hash chain and the Merkle tree.

One batch is one transaction: take queued records in queue order, give each its ``seq`` and
``prev``, compute its hash and exported line, extend the RFC 9162 tree (storing every
completed perfect subtree), and sign a checkpoint for the new tree head. On PostgreSQL one
sequencer at a time holds a transaction-scoped advisory lock; on SQLite the write lock taken
at ``BEGIN IMMEDIATE`` does the same. ``UNIQUE(seq)`` and ``UNIQUE(prev)`` make a fork
impossible even if two sequencers overlapped anyway.

Each line is spliced from the record's queued canonical fields (``lines``), never encoded
again; the batch leaves the queue and its rows are written in bulk, without the ORM (``bulk``).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, or_, select, text
from sqlalchemy.orm import Session, sessionmaker

from oversight.db import utcnow
from oversight.errors import LedgerBusy, LedgerCorrupted
from oversight.ledger.bulk import QueueRow, take_queued, write_sealed_batch
from oversight.ledger.keys import register_key
from oversight.ledger.lines import check_seq_and_prev, seal_queued_fields
from oversight.ledger.models import LedgerCheckpoint, LedgerNode, LedgerRecord
from oversight.logs import get_logger
from oversight_audit import (
    GENESIS_PREV,
    Checkpoint,
    CompactRange,
    SignerKey,
    sign_checkpoint,
)

#: The advisory lock key that elects the sequencer on PostgreSQL ("OVRSEAL" in ASCII).
SEQUENCER_LOCK = 0x4F565253454150
_sha256 = hashlib.sha256
log = get_logger("ledger.sealing")


@dataclass(frozen=True)
class SealResult:
    """What one batch did: records sealed, the tree size after it, the signed checkpoint."""

    sealed: int
    tree_size: int
    checkpoint: str | None


def stored_node_getter(session: Session) -> Callable[[int, int], bytes]:
    """A ``get_node(level, index)`` reading perfect subtree hashes from ``ledger_node``."""

    def get_node(level: int, index: int) -> bytes:
        value = session.scalar(
            select(LedgerNode.hash).where(LedgerNode.level == level, LedgerNode.index == index)
        )
        if value is None:
            raise LedgerCorrupted(f"the stored Merkle tree lacks node ({level}, {index})")
        return bytes(value)

    return get_node


def _stored_tree(session: Session, size: int) -> CompactRange:
    """The compact range of the stored tree of ``size`` leaves, read in one query."""
    wanted, start = [], 0
    for level in range(size.bit_length() - 1, -1, -1):  # its perfect subtrees, largest first
        if size >> level & 1:
            wanted.append((level, start >> level))
            start += 1 << level
    # an OR of key lookups: SQLite scans the whole table for a row-value IN list
    found = {(level, index): bytes(value) for level, index, value in session.execute(
        select(LedgerNode.level, LedgerNode.index, LedgerNode.hash).where(or_(*(
            and_(LedgerNode.level == level, LedgerNode.index == index)
            for level, index in wanted))))} if wanted else {}

    def get_node(level: int, index: int) -> bytes:
        if (level, index) not in found:
            raise LedgerCorrupted(f"the stored Merkle tree lacks node ({level}, {index})")
        return found[level, index]

    return CompactRange.from_nodes(size, get_node)


def _take_sequencer_lock(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        got = session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"),
                             {"key": SEQUENCER_LOCK})
        if not got:
            raise LedgerBusy("another sequencer is sealing the ledger; try again shortly")


def _chain_head(session: Session) -> tuple[int, str]:
    head = session.execute(
        select(LedgerRecord.seq, LedgerRecord.hash).order_by(LedgerRecord.seq.desc()).limit(1)
    ).first()
    if head is None:
        return 0, GENESIS_PREV
    return int(head.seq) + 1, str(head.hash)


class _BatchSealer:
    """Seals queue rows in order: extends the chain head and the compact Merkle range."""

    def __init__(self, size: int, prev: str, tree: CompactRange) -> None:
        self.size, self.prev, self.tree = size, prev, tree
        self.payloads: list[tuple[Any, ...]] = []
        self.nodes: list[tuple[Any, ...]] = []

    def records(self, batch: Sequence[QueueRow]) -> Iterator[tuple[Any, ...]]:
        """The ``ledger_record`` rows of ``batch``, in ``bulk.RECORD_COLUMNS`` order.

        As each is produced, its payload row and the tree nodes it completes are added to
        ``payloads`` and ``nodes``; ``size``, ``prev`` and ``tree`` move on when it ends.
        """
        seq, prev, stack = self.size, self.prev, self.tree.nodes()
        payloads, nodes = self.payloads, self.nodes
        # checked at both ends of the run; every next prev is a hash made here
        check_seq_and_prev(seq, prev)
        check_seq_and_prev(seq + len(batch) - 1, prev)
        for _id, fields, payload, payload_key in batch:
            sealed = seal_queued_fields(fields, seq=seq, prev=prev, checked=True)
            yield (seq, prev, sealed.hash, sealed.time, sealed.action, sealed.actor,
                   sealed.thread_id, sealed.approval_id, sealed.line)
            if payload is not None:
                payloads.append((seq, payload, payload_key))
            # RFC 9162: the leaf hash, then each perfect subtree this leaf completes
            value = _sha256(b"\x00" + sealed.line.encode()).digest()
            nodes.append((0, seq, value))
            index, level = seq, 0
            while index & 1:
                value = _sha256(b"\x01" + stack.pop() + value).digest()
                index >>= 1
                level += 1
                nodes.append((level, index, value))
            stack.append(value)
            prev = sealed.hash
            seq += 1
        self.size, self.prev = seq, prev
        self.tree = CompactRange.from_hashes(seq, stack)


def seal_pending_records(
    session: Session, *, signer: SignerKey, origin: str, batch_size: int = 5000
) -> SealResult:
    """Seal up to ``batch_size`` queued records and sign a checkpoint, in the caller's transaction.

    Raises ``LedgerBusy`` when another sequencer holds the lock (PostgreSQL).
    """
    _take_sequencer_lock(session)
    size, prev = _chain_head(session)
    batch = take_queued(session, limit=batch_size)
    if not batch:
        return SealResult(sealed=0, tree_size=size, checkpoint=None)

    sealer = _BatchSealer(size, prev, _stored_tree(session, size))
    write_sealed_batch(session, records=sealer.records(batch), payloads=sealer.payloads,
                       nodes=sealer.nodes)
    if sealer.size != size + len(batch):
        raise LedgerCorrupted(f"sealed {sealer.size - size} of a batch of {len(batch)} records")
    size, prev = sealer.size, sealer.prev
    root = sealer.tree.root()
    note = sign_checkpoint(Checkpoint(origin=origin, size=size, root=root, chain_head=prev),
                           [signer])
    register_key(session, signer)
    session.add(LedgerCheckpoint(tree_size=size, root=root.hex(), chain_head=prev, note=note,
                                 key_id=signer.verifier_key().key_id.hex(),
                                 created_at=utcnow()))
    session.flush()
    return SealResult(sealed=len(batch), tree_size=size, checkpoint=note)


def seal_all(
    factory: sessionmaker[Session], *, signer: SignerKey, origin: str, batch_size: int = 5000
) -> int:
    """Seal until the queue is empty (one transaction per batch); returns records sealed."""
    total = 0
    while True:
        with factory() as session, session.begin():
            result = seal_pending_records(session, signer=signer, origin=origin,
                                          batch_size=batch_size)
        total += result.sealed
        if result.sealed < batch_size:
            return total


class Sequencer:
    """Seals in the background every ``interval`` seconds (a daemon thread)."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        signer: SignerKey,
        origin: str,
        interval: float = 0.5,
        batch_size: int = 5000,
    ) -> None:
        self._factory = factory
        self._signer = signer
        self._origin = origin
        self._interval = interval
        self._batch_size = batch_size
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_error: str | None = None

    @property
    def running(self) -> bool:
        """True while the background thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the background thread."""
        self._thread = threading.Thread(target=self._run, name="oversight-sequencer", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Seal now rather than at the next interval."""
        self._wake.set()

    def stop(self, *, final_seal: bool = True) -> None:
        """Stop the thread; by default seal what is left first."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        if final_seal:
            seal_all(self._factory, signer=self._signer, origin=self._origin,
                     batch_size=self._batch_size)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                sealed = seal_all(self._factory, signer=self._signer, origin=self._origin,
                                  batch_size=self._batch_size)
                self.last_error = None
                if sealed:
                    log.debug("ledger.sealed", records=sealed,
                              seconds=round(time.monotonic() - started, 4))
            except LedgerBusy:
                pass  # another replica is the sequencer right now
            except Exception as exc:  # keep sealing after a transient database error
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.error("ledger.seal_failed", error=self.last_error)
            self._wake.wait(self._interval)
            self._wake.clear()
