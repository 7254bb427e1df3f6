"""An index for listing approval requests newest first by status.

Revision ID: 0005_listing_index
Revises: 0004_stops
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0005_listing_index"
down_revision = "0004_stops"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_approval_request_listing", "approval_request",
                    ["status", "created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_approval_request_listing", table_name="approval_request")
