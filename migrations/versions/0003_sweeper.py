"""The sweeper: how many escalation steps of a request's ``on_timeout`` were applied.

Revision ID: 0003_sweeper
Revises: 0002_gateway
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_sweeper"
down_revision = "0002_gateway"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("approval_request", schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            "escalation_step", sa.Integer(), server_default="0", nullable=False,
            comment="escalation steps of on_timeout applied so far (by the sweeper)"))


def downgrade() -> None:
    with op.batch_alter_table("approval_request", schema=None) as batch_op:
        batch_op.drop_column("escalation_step")
