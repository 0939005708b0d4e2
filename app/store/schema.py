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

# The cost ledger: one row per review, one per model request. Rows carry their tenant and PR
# so that a report can filter and merge databases without joins across files.
reviews = sa.Table(
    "reviews",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    # A random id that survives copying: `report --db A --db B` counts a review once.
    sa.Column("uid", sa.String(32), nullable=False),
    # Which surface wrote it: review (CLI), serve (App), action, eval.
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("tenant", sa.String(255), nullable=False),
    sa.Column("repository", sa.String(255), nullable=False),
    sa.Column("pr_number", sa.Integer, nullable=False),
    sa.Column("head_sha", sa.String(64), nullable=False),
    sa.Column("mode", sa.String(32), nullable=False),
    sa.Column("outcome", sa.String(32), nullable=False),
    sa.Column("requests", sa.Integer, nullable=False),
    sa.Column("findings", sa.Integer, nullable=False),
    sa.Column("cost_usd", sa.Double, nullable=False),
    sa.Column("all_frontier_usd", sa.Double, nullable=False),
    sa.Column("all_middle_usd", sa.Double, nullable=False),
    sa.Column("routing_ms", sa.Double, nullable=False),
    sa.Column("catalog_as_of", sa.String(10), nullable=False),
    # The `eval` invocation a case's review belongs to (eval_results.run_uid); NULL otherwise.
    sa.Column("run_uid", sa.String(32), nullable=True),
    sa.UniqueConstraint("uid"),
    sa.Index(None, "created_at"),
    sa.Index(None, "tenant", "created_at"),
    sqlite_autoincrement=True,
)

review_requests = sa.Table(
    "review_requests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("review_id", sa.Integer, sa.ForeignKey(reviews.c.id), nullable=False),
    sa.Column("request_id", sa.String(64), nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("tenant", sa.String(255), nullable=False),
    sa.Column("repository", sa.String(255), nullable=False),
    sa.Column("pr_number", sa.Integer, nullable=False),
    sa.Column("head_sha", sa.String(64), nullable=False),
    sa.Column("mode", sa.String(32), nullable=False),
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
    # The first request to its model (and prefix) in the review: the one that writes the cache.
    sa.Column("first_to_model", sa.Boolean, nullable=False),
    sa.Column("cost_usd", sa.Double, nullable=False),
    sa.Column("all_frontier_usd", sa.Double, nullable=False),
    sa.Column("all_middle_usd", sa.Double, nullable=False),
    sa.Column("latency_ms", sa.Double, nullable=False),
    sa.Column("routing_ms", sa.Double, nullable=False),
    sa.Column("prefix_hash", sa.String(64), nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    # Model calls behind the request: 2 when its answer needed a repair turn (revision 0004).
    sa.Column("calls", sa.Integer, nullable=False, server_default="1"),
    sa.Index(None, "review_id"),
    sa.Index(None, "created_at"),
    sqlite_autoincrement=True,
)

# `eval` results: one row per (run, case, tier, category) with the counts that recall and
# precision are computed from, so that runs add up and compare without re-scoring. What a case
# cost is an ordinary `reviews` row with source `eval`.
eval_results = sa.Table(
    "eval_results",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_uid", sa.String(32), nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("case_id", sa.String(128), nullable=False),
    sa.Column("tier", sa.String(32), nullable=False),
    sa.Column("model", sa.String(128), nullable=False),
    sa.Column("category", sa.String(32), nullable=False),
    sa.Column("expected", sa.Integer, nullable=False),  # planted defects of this category
    sa.Column("found", sa.Integer, nullable=False),  # planted defects some finding matched
    sa.Column("reported", sa.Integer, nullable=False),  # findings of this category
    sa.Column("correct", sa.Integer, nullable=False),  # of those, findings on a planted defect
    sa.Index(None, "run_uid"),
    sa.Index(None, "tier", "category", "created_at"),
    sqlite_autoincrement=True,
)

# The conversation (revision 0003). A reply is answered once per review comment; a dismissed
# finding is not raised again on its PR; every human signal on a finding is kept with the
# finding's route, for `report` (acceptance per tier) and `calibrate`.
thread_replies = sa.Table(
    "thread_replies",
    metadata,
    sa.Column("comment_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("tenant", sa.String(255), nullable=False),
    sa.Column("repository", sa.String(255), nullable=False),
    sa.Column("pr_number", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # dismiss, dispute, question, skipped
    sa.Column("tier", sa.String(32), nullable=False),
)

suppressions = sa.Table(
    "suppressions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("tenant", sa.String(255), nullable=False),
    sa.Column("repository", sa.String(255), nullable=False),
    sa.Column("pr_number", sa.Integer, nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("reason", sa.String(64), nullable=False),  # thumbs_down, reply, resolved
    sa.UniqueConstraint("repository", "pr_number", "fingerprint"),
    sqlite_autoincrement=True,
)

FEEDBACK_SIGNALS = ("thumbs_up", "thumbs_down", "dismissed", "resolved_after_change")
feedback = sa.Table(
    "feedback",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("tenant", sa.String(255), nullable=False),
    sa.Column("repository", sa.String(255), nullable=False),
    sa.Column("pr_number", sa.Integer, nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("signal", sa.String(32), nullable=False),
    sa.Column("tier", sa.String(32), nullable=False),
    sa.Column("difficulty", sa.String(32), nullable=False),
    sa.Column("category", sa.String(32), nullable=False),
    sa.UniqueConstraint("repository", "pr_number", "fingerprint", "signal"),
    sa.Index(None, "tier", "category"),
    sqlite_autoincrement=True,
)

# Whole files fetched from GitHub, keyed by blob SHA within a scope (a digest of the tenant and
# the repository): a blob SHA names its content, but one tenant never reads what another fetched,
# so a PR cannot probe another repository's files by SHA. Bounded in total by evicting the least
# recently used rows (app/store/blobs.py).
blob_cache = sa.Table(
    "blob_cache",
    metadata,
    sa.Column("scope", sa.String(64), nullable=False),
    sa.Column("blob_sha", sa.String(64), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),  # bytes at GitHub
    sa.Column("content", sa.Text, nullable=True),  # NULL: binary or not UTF-8, nothing kept
    sa.Column("last_used", sa.Double, nullable=False),
    sa.PrimaryKeyConstraint("scope", "blob_sha"),
    sa.Index(None, "last_used"),
)

# Which blob a path held at a commit (commits never change): the base side of a diff has no
# blob SHA in the PR's file list, so a second review finds its blobs here without a request.
blob_refs = sa.Table(
    "blob_refs",
    metadata,
    sa.Column("ref_key", sa.String(64), primary_key=True),  # digest of scope, commit and path
    sa.Column("blob_sha", sa.String(64), nullable=False),
    sa.Column("last_used", sa.Double, nullable=False),
    sa.Index(None, "last_used"),
)
