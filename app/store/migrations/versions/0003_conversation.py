"""The conversation: replies answered once, dismissed findings, and feedback per finding.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

# Frozen copies of the tables as this revision creates them (see 0001 on why not app.store.schema).


def _where() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("tenant", sa.String(255), nullable=False),
        sa.Column("repository", sa.String(255), nullable=False),
        sa.Column("pr_number", sa.Integer, nullable=False),
    ]


def upgrade() -> None:
    """Create `thread_replies`, `suppressions` and `feedback`."""
    op.create_table(
        "thread_replies",
        sa.Column("comment_id", sa.BigInteger, nullable=False, autoincrement=False),
        *_where(),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("tier", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("comment_id", name=op.f("pk_thread_replies")),
    )
    op.create_table(
        "suppressions",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=True),
        *_where(),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppressions")),
        sa.UniqueConstraint(
            "repository",
            "pr_number",
            "fingerprint",
            name=op.f("uq_suppressions_repository_pr_number_fingerprint"),
        ),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=True),
        *_where(),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("signal", sa.String(32), nullable=False),
        sa.Column("tier", sa.String(32), nullable=False),
        sa.Column("difficulty", sa.String(32), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
        sa.UniqueConstraint(
            "repository",
            "pr_number",
            "fingerprint",
            "signal",
            name=op.f("uq_feedback_repository_pr_number_fingerprint_signal"),
        ),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_feedback_tier_category"), "feedback", ["tier", "category"])


def downgrade() -> None:
    """Drop the three tables."""
    op.drop_table("feedback")
    op.drop_table("suppressions")
    op.drop_table("thread_replies")
