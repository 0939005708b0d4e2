"""The cost ledger (reviews, requests) and eval results.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

# Frozen copies of the tables as this revision creates them (see 0001 on why not app.store.schema).


def _common() -> list[sa.Column[object]]:
    """The columns every ledger row starts with."""
    return [
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("tenant", sa.String(255), nullable=False),
        sa.Column("repository", sa.String(255), nullable=False),
        sa.Column("pr_number", sa.Integer, nullable=False),
        sa.Column("head_sha", sa.String(64), nullable=False),
        sa.Column("mode", sa.String(32), nullable=False),
    ]


def upgrade() -> None:
    """Create `reviews`, `review_requests` and `eval_results`."""
    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=True),
        sa.Column("uid", sa.String(32), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        *_common(),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("requests", sa.Integer, nullable=False),
        sa.Column("findings", sa.Integer, nullable=False),
        sa.Column("cost_usd", sa.Double, nullable=False),
        sa.Column("all_frontier_usd", sa.Double, nullable=False),
        sa.Column("all_middle_usd", sa.Double, nullable=False),
        sa.Column("routing_ms", sa.Double, nullable=False),
        sa.Column("catalog_as_of", sa.String(10), nullable=False),
        sa.Column("run_uid", sa.String(32), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
        sa.UniqueConstraint("uid", name=op.f("uq_reviews_uid")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_reviews_created_at"), "reviews", ["created_at"])
    op.create_index(op.f("ix_reviews_tenant_created_at"), "reviews", ["tenant", "created_at"])
    op.create_table(
        "review_requests",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=True),
        sa.Column("review_id", sa.Integer, nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        *_common(),
        sa.Column("task", sa.String(32), nullable=False),
        sa.Column("difficulty", sa.String(32), nullable=False),
        sa.Column("tier", sa.String(32), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("rule", sa.String(128), nullable=False),
        sa.Column("fresh_input_tokens", sa.Integer, nullable=False),
        sa.Column("cache_write_tokens", sa.Integer, nullable=False),
        sa.Column("cache_read_tokens", sa.Integer, nullable=False),
        sa.Column("output_tokens", sa.Integer, nullable=False),
        sa.Column("prefix_tokens", sa.Integer, nullable=False),
        sa.Column("first_to_model", sa.Boolean, nullable=False),
        sa.Column("cost_usd", sa.Double, nullable=False),
        sa.Column("all_frontier_usd", sa.Double, nullable=False),
        sa.Column("all_middle_usd", sa.Double, nullable=False),
        sa.Column("latency_ms", sa.Double, nullable=False),
        sa.Column("routing_ms", sa.Double, nullable=False),
        sa.Column("prefix_hash", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_requests")),
        sa.ForeignKeyConstraint(
            ["review_id"], ["reviews.id"], name=op.f("fk_review_requests_review_id_reviews")
        ),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_review_requests_review_id"), "review_requests", ["review_id"])
    op.create_index(op.f("ix_review_requests_created_at"), "review_requests", ["created_at"])
    op.create_table(
        "eval_results",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=True),
        sa.Column("run_uid", sa.String(32), nullable=False),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("case_id", sa.String(128), nullable=False),
        sa.Column("tier", sa.String(32), nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("expected", sa.Integer, nullable=False),
        sa.Column("found", sa.Integer, nullable=False),
        sa.Column("reported", sa.Integer, nullable=False),
        sa.Column("correct", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eval_results")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_eval_results_run_uid"), "eval_results", ["run_uid"])
    op.create_index(
        op.f("ix_eval_results_tier_category_created_at"),
        "eval_results",
        ["tier", "category", "created_at"],
    )


def downgrade() -> None:
    """Drop the three tables."""
    op.drop_table("eval_results")
    op.drop_table("review_requests")
    op.drop_table("reviews")
