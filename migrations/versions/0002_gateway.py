"""The gateway and approvals: threads, approval requests, decisions, views, resume jobs.

Revision ID: 0002_gateway
Revises: 0001_ledger
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_gateway"
down_revision = "0001_ledger"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table("thread",
    sa.Column("id", sa.String(length=36), nullable=False),
    sa.Column("graph", sa.String(length=200), nullable=False),
    sa.Column("status", sa.String(length=20), nullable=False),
    sa.Column("requester_issuer", sa.String(length=300), nullable=True),
    sa.Column("requester_subject", sa.String(length=300), nullable=True),
    sa.Column("requester", sa.Text(), nullable=True, comment="JSON of the requester identity"),
    sa.Column("error", sa.Text(), nullable=True),
    sa.Column("created_at", TIMESTAMP, nullable=False),
    sa.Column("updated_at", TIMESTAMP, nullable=False),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_thread"))
    )
    with op.batch_alter_table("thread", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_thread_graph"), ["graph"], unique=False)
        batch_op.create_index(batch_op.f("ix_thread_status"), ["status"], unique=False)

    op.create_table("approval_request",
    sa.Column("id", sa.String(length=36), nullable=False),
    sa.Column("thread_id", sa.String(length=36), nullable=False),
    sa.Column("interrupt_id", sa.String(length=200), nullable=False),
    sa.Column("part", sa.Integer(), nullable=False, comment="index in a batched interrupt"),
    sa.Column("parts", sa.Integer(), nullable=False),
    sa.Column("graph", sa.String(length=200), nullable=False),
    sa.Column("node", sa.String(length=200), nullable=False),
    sa.Column("action", sa.String(length=200), nullable=False),
    sa.Column("shape", sa.String(length=40), nullable=False),
    sa.Column("summary", sa.Text(), nullable=True),
    sa.Column("payload", sa.Text(), nullable=False, comment="canonical JSON shown to approvers"),
    sa.Column("original_payload", sa.Text(), nullable=True, comment="the payload as raised, kept once an edit replaced it"),
    sa.Column("payload_digest", sa.String(length=80), nullable=False),
    sa.Column("original_digest", sa.String(length=80), nullable=False),
    sa.Column("status", sa.String(length=20), nullable=False),
    sa.Column("outcome", sa.String(length=20), nullable=True),
    sa.Column("response", sa.Text(), nullable=True),
    sa.Column("reason", sa.Text(), nullable=True),
    sa.Column("policy_version", sa.String(length=80), nullable=False),
    sa.Column("rule_id", sa.String(length=200), nullable=False),
    sa.Column("requirement", sa.Text(), nullable=False, comment="JSON of the rule's requirement"),
    sa.Column("requester_issuer", sa.String(length=300), nullable=True),
    sa.Column("requester_subject", sa.String(length=300), nullable=True),
    sa.Column("created_at", TIMESTAMP, nullable=False),
    sa.Column("deadline_at", TIMESTAMP, nullable=True),
    sa.Column("decided_at", TIMESTAMP, nullable=True),
    sa.Column("closed_at", TIMESTAMP, nullable=True),
    sa.ForeignKeyConstraint(["thread_id"], ["thread.id"], name=op.f("fk_approval_request_thread_id_thread")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_request")),
    sa.UniqueConstraint("thread_id", "interrupt_id", "part", name=op.f("uq_approval_request_thread_id_interrupt_id_part"))
    )
    with op.batch_alter_table("approval_request", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_approval_request_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_approval_request_graph"), ["graph"], unique=False)
        batch_op.create_index("ix_approval_request_pending_deadline", ["status", "deadline_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_approval_request_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_approval_request_thread_id"), ["thread_id"], unique=False)

    op.create_table("resume_job",
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("thread_id", sa.String(length=36), nullable=False),
    sa.Column("interrupt_id", sa.String(length=200), nullable=False),
    sa.Column("value", sa.Text(), nullable=True, comment="JSON resume value; null: run on"),
    sa.Column("status", sa.String(length=20), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("claimed_by", sa.String(length=200), nullable=True),
    sa.Column("lease_until", TIMESTAMP, nullable=True),
    sa.Column("error", sa.Text(), nullable=True),
    sa.Column("created_at", TIMESTAMP, nullable=False),
    sa.Column("finished_at", TIMESTAMP, nullable=True),
    sa.ForeignKeyConstraint(["thread_id"], ["thread.id"], name=op.f("fk_resume_job_thread_id_thread")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_resume_job")),
    sa.UniqueConstraint("thread_id", "interrupt_id", name=op.f("uq_resume_job_thread_id_interrupt_id"))
    )
    with op.batch_alter_table("resume_job", schema=None) as batch_op:
        batch_op.create_index("ix_resume_job_claimable", ["status", "lease_until"], unique=False)
        batch_op.create_index(batch_op.f("ix_resume_job_thread_id"), ["thread_id"], unique=False)

    op.create_table("approval_decision",
    sa.Column("id", sa.String(length=36), nullable=False),
    sa.Column("request_id", sa.String(length=36), nullable=False),
    sa.Column("decider_issuer", sa.String(length=300), nullable=False),
    sa.Column("decider_subject", sa.String(length=300), nullable=False),
    sa.Column("decider_name", sa.String(length=300), nullable=True),
    sa.Column("decider_roles", sa.Text(), nullable=False, comment="space-separated roles when deciding"),
    sa.Column("outcome", sa.String(length=20), nullable=False),
    sa.Column("edits", sa.Text(), nullable=True),
    sa.Column("response", sa.Text(), nullable=True),
    sa.Column("comment", sa.Text(), nullable=True),
    sa.Column("payload_digest", sa.String(length=80), nullable=False, comment="the digest the decider saw"),
    sa.Column("acr", sa.String(length=300), nullable=True),
    sa.Column("amr", sa.String(length=300), nullable=True),
    sa.Column("idempotency_key", sa.String(length=200), nullable=True),
    sa.Column("created_at", TIMESTAMP, nullable=False),
    sa.ForeignKeyConstraint(["request_id"], ["approval_request.id"], name=op.f("fk_approval_decision_request_id_approval_request")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_decision")),
    sa.UniqueConstraint("idempotency_key", name=op.f("uq_approval_decision_idempotency_key")),
    sa.UniqueConstraint("request_id", "decider_issuer", "decider_subject", "payload_digest", name="uq_approval_decision_once")
    )
    with op.batch_alter_table("approval_decision", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_approval_decision_request_id"), ["request_id"], unique=False)

    op.create_table("approval_view",
    sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
    sa.Column("request_id", sa.String(length=36), nullable=False),
    sa.Column("viewer_issuer", sa.String(length=300), nullable=False),
    sa.Column("viewer_subject", sa.String(length=300), nullable=False),
    sa.Column("payload_digest", sa.String(length=80), nullable=False),
    sa.Column("viewed_at", TIMESTAMP, nullable=False),
    sa.ForeignKeyConstraint(["request_id"], ["approval_request.id"], name=op.f("fk_approval_view_request_id_approval_request")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_view")),
    sa.UniqueConstraint("request_id", "viewer_issuer", "viewer_subject", "payload_digest", name="uq_approval_view_once")
    )
    with op.batch_alter_table("approval_view", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_approval_view_request_id"), ["request_id"], unique=False)



def downgrade() -> None:
    with op.batch_alter_table("approval_view", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_approval_view_request_id"))

    op.drop_table("approval_view")
    with op.batch_alter_table("approval_decision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_approval_decision_request_id"))

    op.drop_table("approval_decision")
    with op.batch_alter_table("resume_job", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_resume_job_thread_id"))
        batch_op.drop_index("ix_resume_job_claimable")

    op.drop_table("resume_job")
    with op.batch_alter_table("approval_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_approval_request_thread_id"))
        batch_op.drop_index(batch_op.f("ix_approval_request_status"))
        batch_op.drop_index("ix_approval_request_pending_deadline")
        batch_op.drop_index(batch_op.f("ix_approval_request_graph"))
        batch_op.drop_index(batch_op.f("ix_approval_request_action"))

    op.drop_table("approval_request")
    with op.batch_alter_table("thread", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_thread_status"))
        batch_op.drop_index(batch_op.f("ix_thread_graph"))

    op.drop_table("thread")
