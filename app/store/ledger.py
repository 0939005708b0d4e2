"""The cost ledger: what each review and each of its model requests cost, in the database.

`review`, `serve` and `action` write one `reviews` row and one `review_requests` row per request
(see app/store/schema.py). Rows are built by a pure function and written in one transaction.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from app.plan.config import Difficulty
from app.plan.planner import Plan
from app.review.conversation import ReplyOutcome
from app.review.result import RequestOutcome, ReviewResult
from app.store import schema
from app.store.conversation import PullKey
from app.store.db import write_transaction

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ReviewContext:
    """Who and what a review was for, and which surface ran it."""

    source: str  # review (CLI), serve (App), action, eval
    tenant: str
    repository: str
    pr_number: int = 0
    head_sha: str = ""
    outcome: str = "reviewed"
    routing_ms: float = 0.0
    run_uid: str | None = None  # the `eval` invocation, for eval reviews


def request_difficulty(plan: Plan, outcome: RequestOutcome) -> str:
    """The highest difficulty among the request's chunks (the summary's: all of them)."""
    ids = set(outcome.chunk_ids)
    labels = [c.difficulty for c in plan.chunks if c.id in ids and c.skipped is None]
    if not labels:
        labels = [c.difficulty for c in plan.chunks if c.skipped is None]
    return max(labels, key=lambda d: d.rank, default=Difficulty.TRIVIAL).value


def ledger_rows(
    result: ReviewResult, context: ReviewContext, uid: str, now: float
) -> tuple[Row, list[Row]]:
    """The review's row and its requests' rows (without `review_id`, set when written)."""
    common = {
        "created_at": now,
        "tenant": context.tenant,
        "repository": context.repository,
        "pr_number": context.pr_number,
        "head_sha": context.head_sha,
        "mode": result.plan.mode.value,
    }
    t = result.totals
    review = {
        "uid": uid,
        "source": context.source,
        **common,
        "outcome": context.outcome,
        "requests": len(result.requests),
        "findings": len(result.findings),
        "cost_usd": t.cost_usd,
        "all_frontier_usd": t.all_frontier_usd,
        "all_middle_usd": t.all_middle_usd,
        "routing_ms": context.routing_ms,
        "catalog_as_of": result.plan.catalog_as_of.isoformat(),
        "run_uid": context.run_uid,
    }
    requests = [
        {
            "request_id": r.id,
            **common,
            "task": r.task.value,
            "difficulty": request_difficulty(result.plan, r),
            "tier": r.tier,
            "provider": r.provider,
            "model": r.model,
            "rule": r.rule,
            "fresh_input_tokens": r.usage.fresh_input_tokens,
            "cache_write_tokens": r.usage.cache_write_tokens,
            "cache_read_tokens": r.usage.cache_read_tokens,
            "output_tokens": r.usage.output_tokens,
            "prefix_tokens": r.prefix_tokens,
            "first_to_model": r.first_of_prefix,
            "cost_usd": r.cost_usd,
            "all_frontier_usd": r.all_frontier_usd,
            "all_middle_usd": r.all_middle_usd,
            "latency_ms": r.latency_ms,
            "routing_ms": context.routing_ms,
            "prefix_hash": r.prefix_hash,
            "outcome": r.status,
            "calls": r.calls,
        }
        for r in result.requests
    ]
    return review, requests


def record_review(
    engine: Engine, result: ReviewResult, context: ReviewContext, now: float | None = None
) -> str:
    """Write the review and its requests in one transaction; returns the review's uid."""
    uid = uuid.uuid4().hex
    review, requests = ledger_rows(result, context, uid, time.time() if now is None else now)
    with write_transaction(engine) as conn:
        inserted = conn.execute(schema.reviews.insert().values(review))
        review_id = inserted.inserted_primary_key[0] if inserted.inserted_primary_key else None
        if requests:
            conn.execute(
                schema.review_requests.insert(), [{**r, "review_id": review_id} for r in requests]
            )
    return uid


def day_start(day: dt.date) -> float:
    """The epoch second at which `day` begins in UTC (the daily budget's day)."""
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC).timestamp()


def spent_since(engine: Engine, tenant: str, since: float) -> float:
    """What the tenant's reviews cost from `since` (epoch seconds) on."""
    query = sa.select(sa.func.coalesce(sa.func.sum(schema.reviews.c.cost_usd), 0.0)).where(
        schema.reviews.c.tenant == tenant, schema.reviews.c.created_at >= since
    )
    with engine.connect() as conn:
        return float(conn.execute(query).scalar_one())


def record_reply(
    engine: Engine,
    pull: PullKey,
    comment_id: int,
    outcome: ReplyOutcome,
    source: str,
    now: float | None = None,
) -> str:
    """A thread reply in the ledger: a `reviews` row (mode `reply`) and, when a model answered,
    one request row with task `reply`; the claim row keeps the reply's kind and tier."""
    uid = uuid.uuid4().hex
    at = time.time() if now is None else now
    common = {
        "created_at": at,
        "tenant": pull.tenant,
        "repository": pull.repository,
        "pr_number": pull.pr_number,
        "head_sha": outcome.head_sha,
        "mode": "reply",
    }
    review = {
        "uid": uid,
        "source": source,
        **common,
        "outcome": outcome.status,
        "requests": 1 if outcome.usage else 0,
        "findings": 0,
        "cost_usd": outcome.cost_usd,
        "all_frontier_usd": outcome.all_frontier_usd,
        "all_middle_usd": outcome.all_middle_usd,
        "routing_ms": 0.0,
        "catalog_as_of": dt.datetime.fromtimestamp(at, dt.UTC).date().isoformat(),
        "run_uid": None,
    }
    with write_transaction(engine) as conn:
        inserted = conn.execute(schema.reviews.insert().values(review))
        review_id = inserted.inserted_primary_key[0] if inserted.inserted_primary_key else None
        if outcome.usage is not None:
            u = outcome.usage
            conn.execute(
                schema.review_requests.insert().values(
                    review_id=review_id,
                    request_id=f"reply-{uid[:12]}",
                    **common,
                    task="reply",
                    difficulty=(outcome.finding.difficulty if outcome.finding else "") or "-",
                    tier=outcome.tier,
                    provider=outcome.provider,
                    model=outcome.model,
                    rule=outcome.rule,
                    fresh_input_tokens=u.fresh_input_tokens,
                    cache_write_tokens=u.cache_write_tokens,
                    cache_read_tokens=u.cache_read_tokens,
                    output_tokens=u.output_tokens,
                    prefix_tokens=0,
                    first_to_model=False,
                    cost_usd=outcome.cost_usd,
                    all_frontier_usd=outcome.all_frontier_usd,
                    all_middle_usd=outcome.all_middle_usd,
                    latency_ms=outcome.latency_ms,
                    routing_ms=0.0,
                    prefix_hash=outcome.prefix_hash,
                    outcome="ok",
                )
            )
        conn.execute(
            schema.thread_replies.update()
            .where(schema.thread_replies.c.comment_id == comment_id)
            .values(kind=str(outcome.kind or outcome.status), tier=outcome.tier)
        )
    return uid
