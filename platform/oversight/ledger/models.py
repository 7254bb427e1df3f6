"""Tables of the ledger: the unsealed queue, the chain, payloads, checkpoints, tree nodes, keys."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Integer, LargeBinary, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from oversight.db import Base, UTCDateTime

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL wants BIGINT for a ledger.
BigIntId = BigInteger().with_variant(Integer, "sqlite")


class LedgerQueueEntry(Base):
    """A record appended inside a caller's transaction, waiting for the sequencer."""

    __tablename__ = "ledger_queue"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    enqueued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    fields: Mapped[str] = mapped_column(Text, comment="canonical JSON of the record's own fields")
    payload: Mapped[str | None] = mapped_column(Text, comment="canonical JSON of the payload")
    payload_key: Mapped[bytes | None] = mapped_column(LargeBinary)


class LedgerRecord(Base):
    """One sealed record of the hash chain; ``line`` is its exported canonical JSON."""

    __tablename__ = "ledger_record"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    prev: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    time: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    action: Mapped[str] = mapped_column(String(100), index=True)
    actor: Mapped[str] = mapped_column(String(600), index=True, comment="issuer|subject or system id")
    thread_id: Mapped[str | None] = mapped_column(String(100), index=True)
    approval_id: Mapped[str | None] = mapped_column(String(100), index=True)
    line: Mapped[str] = mapped_column(Text)


class LedgerPayload(Base):
    """A record's payload and the key of its commitment, erasable apart from the chain."""

    __tablename__ = "ledger_payload"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    payload: Mapped[str | None] = mapped_column(Text)
    key: Mapped[bytes | None] = mapped_column(LargeBinary)
    erased_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class LedgerCheckpoint(Base):
    """A signed checkpoint (C2SP signed note) of the tree at ``tree_size``."""

    __tablename__ = "ledger_checkpoint"

    tree_size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root: Mapped[str] = mapped_column(String(64))
    chain_head: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text)
    key_id: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


class LedgerNode(Base):
    """A perfect subtree hash: ``level`` 0 is a leaf; covers leaves [index·2^level, (index+1)·2^level)."""

    __tablename__ = "ledger_node"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary)


class LedgerKey(Base):
    """A public key that has signed checkpoints; kept after rotation so old notes verify."""

    __tablename__ = "ledger_key"

    verifier_key: Mapped[str] = mapped_column(String(300), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    key_id: Mapped[str] = mapped_column(String(8), index=True)
    first_used_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
