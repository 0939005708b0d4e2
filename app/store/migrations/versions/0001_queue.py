"""The durable job queue: webhook deliveries and review jobs.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

# Frozen copies, not imports from app.store.schema: a revision must keep creating what it created
# even after the metadata moves on. Names go through op.f() because they are final: the target
# metadata's naming convention would otherwise be applied to them a second time.
_JOB_STATES = ("queued", "running", "done", "failed", "superseded")


def upgrade() -> None:
    """Create `jobs` and `deliveries` with their constraints and indexes."""
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("tenant", sa.String(255), nullable=False),
        sa.Column("repository", sa.String(255), nullable=False),
        sa.Column("pr_number", sa.Integer, nullable=False),
        sa.Column("head_sha", sa.String(64), nullable=False),
        sa.Column("mode", sa.String(32), nullable=False),
        sa.Column("trigger", sa.String(64), nullable=False),
        sa.Column("idempotency_key", sa.String(512), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("max_attempts", sa.Integer, nullable=False),
        sa.Column("available_at", sa.Double, nullable=False),
        sa.Column("lease_owner", sa.String(255), nullable=True),
        sa.Column("lease_expires_at", sa.Double, nullable=True),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("updated_at", sa.Double, nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_jobs_idempotency_key")),
        sa.CheckConstraint(sa.column("state").in_(_JOB_STATES), name=op.f("ck_jobs_state")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_jobs_state_available_at"), "jobs", ["state", "available_at"])
    op.create_index(
        op.f("ix_jobs_repository_pr_number_mode_state"),
        "jobs",
        ["repository", "pr_number", "mode", "state"],
    )
    op.create_index(op.f("ix_jobs_tenant_state"), "jobs", ["tenant", "state"])
    op.create_table(
        "deliveries",
        sa.Column("delivery_id", sa.String(64), nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("received_at", sa.Double, nullable=False),
        sa.Column("job_id", sa.Integer, nullable=True),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("delivery_id", name=op.f("pk_deliveries")),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_deliveries_job_id_jobs")),
    )


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("deliveries")
    op.drop_index(op.f("ix_jobs_tenant_state"), table_name="jobs")
    op.drop_index(op.f("ix_jobs_repository_pr_number_mode_state"), table_name="jobs")
    op.drop_index(op.f("ix_jobs_state_available_at"), table_name="jobs")
    op.drop_table("jobs")
