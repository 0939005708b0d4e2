"""The number of model calls behind each ledger request (2 when a repair turn was needed).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add `review_requests.calls`; rows written before it count as one call."""
    # A plain ADD COLUMN on both engines: SQLite allows it because the column has a default.
    op.add_column(
        "review_requests", sa.Column("calls", sa.Integer, nullable=False, server_default="1")
    )


def downgrade() -> None:
    """Drop `review_requests.calls`."""
    with op.batch_alter_table("review_requests") as batch:
        batch.drop_column("calls")
