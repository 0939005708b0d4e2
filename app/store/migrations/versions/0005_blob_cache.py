"""Whole files by blob SHA (`blob_cache`) and the blob a path held at a commit (`blob_refs`).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

# Frozen copies of the tables as this revision creates them (see 0001 on why not app.store.schema).


def upgrade() -> None:
    """Create `blob_cache` and `blob_refs`."""
    op.create_table(
        "blob_cache",
        sa.Column("scope", sa.String(64), nullable=False),
        sa.Column("blob_sha", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("content", sa.Text, nullable=True),
        sa.Column("last_used", sa.Double, nullable=False),
        sa.PrimaryKeyConstraint("scope", "blob_sha", name=op.f("pk_blob_cache")),
    )
    op.create_index(op.f("ix_blob_cache_last_used"), "blob_cache", ["last_used"])
    op.create_table(
        "blob_refs",
        sa.Column("ref_key", sa.String(64), nullable=False),
        sa.Column("blob_sha", sa.String(64), nullable=False),
        sa.Column("last_used", sa.Double, nullable=False),
        sa.PrimaryKeyConstraint("ref_key", name=op.f("pk_blob_refs")),
    )
    op.create_index(op.f("ix_blob_refs_last_used"), "blob_refs", ["last_used"])


def downgrade() -> None:
    """Drop `blob_refs` and `blob_cache`."""
    op.drop_index(op.f("ix_blob_refs_last_used"), table_name="blob_refs")
    op.drop_table("blob_refs")
    op.drop_index(op.f("ix_blob_cache_last_used"), table_name="blob_cache")
    op.drop_table("blob_cache")
