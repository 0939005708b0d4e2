"""The database schema, declared once: Alembic revisions create exactly these tables.

Times are UTC epoch seconds in DOUBLE columns: they compare and sort the same way on SQLite and
PostgreSQL, and they come straight from the injectable clock with no time-zone round trip.
"""

from __future__ import annotations

import sqlalchemy as sa

# Deterministic constraint names, so a later revision (and PostgreSQL) can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JOB_STATES = ("queued", "running", "done", "failed", "superseded")

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(32), nullable=False),
    # The installation id (App) or the repository (Action, CLI): the unit of fairness.
    sa.Column("tenant", sa.String(255), nullable=False),
    sa.Column("repository", sa.String(255), nullable=False),
    sa.Column("pr_number", sa.Integer, nullable=False),
    sa.Column("head_sha", sa.String(64), nullable=False),
    sa.Column("mode", sa.String(32), nullable=False),
    # `push` or `comment:<comment id>`.
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
    sa.UniqueConstraint("idempotency_key"),
    sa.CheckConstraint(sa.column("state").in_(JOB_STATES), name="state"),
    sa.Index(None, "state", "available_at"),
    sa.Index(None, "repository", "pr_number", "mode", "state"),
    sa.Index(None, "tenant", "state"),
    # AUTOINCREMENT keeps ids monotonic even after old rows are pruned: "older" means a lower id.
    sqlite_autoincrement=True,
)

deliveries = sa.Table(
    "deliveries",
    metadata,
    # X-GitHub-Delivery: a redelivery repeats it, so it is the dedupe key for webhooks.
    sa.Column("delivery_id", sa.String(64), primary_key=True),
    sa.Column("event", sa.String(64), nullable=False),
    sa.Column("received_at", sa.Double, nullable=False),
    sa.Column("job_id", sa.Integer, sa.ForeignKey(jobs.c.id), nullable=True),
    sa.Column("outcome", sa.String(32), nullable=False),
)
