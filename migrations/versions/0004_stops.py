"""Stops: the stop button's scopes.

Revision ID: 0004_stops
Revises: 0003_sweeper
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_stops"
down_revision = "0003_sweeper"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "stop",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("scope", sa.String(10), nullable=False),
        sa.Column("target", sa.String(200), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(600), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("lifted_by", sa.String(600), nullable=True),
        sa.Column("lifted_at", TIMESTAMP, nullable=True),
        sa.Column("lift_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_stop"),
    )
    op.create_index("ix_stop_active", "stop", ["lifted_at", "scope", "target"])


def downgrade() -> None:
    op.drop_index("ix_stop_active", table_name="stop")
    op.drop_table("stop")
