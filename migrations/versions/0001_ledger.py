"""The audit ledger: queue, chain, payloads, checkpoints, tree nodes, keys.

Revision ID: 0001_ledger
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_ledger"
down_revision = None
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "ledger_queue",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("enqueued_at", TIMESTAMP, nullable=False),
        sa.Column("fields", sa.Text(), nullable=False,
                  comment="canonical JSON of the record's own fields"),
        sa.Column("payload", sa.Text(), nullable=True, comment="canonical JSON of the payload"),
        sa.Column("payload_key", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_queue"),
    )
    op.create_table(
        "ledger_record",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("prev", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("time", TIMESTAMP, nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("actor", sa.String(600), nullable=False, comment="issuer|subject or system id"),
        sa.Column("thread_id", sa.String(100), nullable=True),
        sa.Column("approval_id", sa.String(100), nullable=True),
        sa.Column("line", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_ledger_record"),
        sa.UniqueConstraint("hash", name="uq_ledger_record_hash"),
        sa.UniqueConstraint("prev", name="uq_ledger_record_prev"),
    )
    for column in ("action", "actor", "approval_id", "thread_id", "time"):
        op.create_index(f"ix_ledger_record_{column}", "ledger_record", [column])
    op.create_table(
        "ledger_payload",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("payload", sa.Text(), nullable=True),
        sa.Column("key", sa.LargeBinary(), nullable=True),
        sa.Column("erased_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("seq", name="pk_ledger_payload"),
    )
    op.create_table(
        "ledger_checkpoint",
        sa.Column("tree_size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root", sa.String(64), nullable=False),
        sa.Column("chain_head", sa.String(64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("key_id", sa.String(8), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("tree_size", name="pk_ledger_checkpoint"),
    )
    op.create_index("ix_ledger_checkpoint_created_at", "ledger_checkpoint", ["created_at"])
    op.create_table(
        "ledger_node",
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("level", "index", name="pk_ledger_node"),
    )
    op.create_table(
        "ledger_key",
        sa.Column("verifier_key", sa.String(300), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("key_id", sa.String(8), nullable=False),
        sa.Column("first_used_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("verifier_key", name="pk_ledger_key"),
    )
    op.create_index("ix_ledger_key_key_id", "ledger_key", ["key_id"])


def downgrade() -> None:
    op.drop_index("ix_ledger_key_key_id", table_name="ledger_key")
    op.drop_table("ledger_key")
    op.drop_table("ledger_node")
    op.drop_index("ix_ledger_checkpoint_created_at", table_name="ledger_checkpoint")
    op.drop_table("ledger_checkpoint")
    op.drop_table("ledger_payload")
    for column in ("action", "actor", "approval_id", "thread_id", "time"):
        op.drop_index(f"ix_ledger_record_{column}", table_name="ledger_record")
    op.drop_table("ledger_record")
    op.drop_table("ledger_queue")
