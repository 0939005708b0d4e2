"""The conversation's rows: a reply answered once, dismissed findings, feedback per finding."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from app.store import schema
from app.store.db import write_transaction


@dataclass(frozen=True, slots=True)
class PullKey:
    """Which PR, and whose: every conversation row carries them."""

    tenant: str
    repository: str
    pr_number: int


@dataclass(frozen=True, slots=True)
class FindingRoute:
    """Where a finding came from, as its comment's route marker says."""

    fingerprint: str
    tier: str
    difficulty: str
    category: str


def _where(pull: PullKey, now: float | None) -> dict[str, object]:
    return {
        "created_at": time.time() if now is None else now,
        "tenant": pull.tenant,
        "repository": pull.repository,
        "pr_number": pull.pr_number,
    }


def claim_reply(
    engine: Engine, pull: PullKey, comment_id: int, kind: str, tier: str, now: float | None = None
) -> bool:
    """Record that review comment `comment_id` is being answered; False when it already was."""
    try:
        with write_transaction(engine) as conn:
            conn.execute(
                schema.thread_replies.insert().values(
                    comment_id=comment_id, kind=kind, tier=tier, **_where(pull, now)
                )
            )
    except IntegrityError:
        return False
    return True


def release_reply(engine: Engine, comment_id: int) -> None:
    """Forget a claim whose answer failed, so the job's retry can answer."""
    with write_transaction(engine) as conn:
        conn.execute(
            schema.thread_replies.delete().where(schema.thread_replies.c.comment_id == comment_id)
        )


def suppress(
    engine: Engine, pull: PullKey, fingerprint: str, reason: str, now: float | None = None
) -> bool:
    """Remember a dismissed finding on its PR; False when it already was."""
    try:
        with write_transaction(engine) as conn:
            conn.execute(
                schema.suppressions.insert().values(
                    fingerprint=fingerprint, reason=reason, **_where(pull, now)
                )
            )
    except IntegrityError:
        return False
    return True


def suppressed(engine: Engine, repository: str, pr_number: int) -> frozenset[str]:
    """Fingerprints dismissed on this PR."""
    t = schema.suppressions
    query = sa.select(t.c.fingerprint).where(
        t.c.repository == repository, t.c.pr_number == pr_number
    )
    with engine.connect() as conn:
        return frozenset(conn.execute(query).scalars())


def record_feedback(
    engine: Engine, pull: PullKey, route: FindingRoute, signal: str, now: float | None = None
) -> bool:
    """One human signal on a finding, with its route; False when it was already recorded."""
    if signal not in schema.FEEDBACK_SIGNALS:
        raise ValueError(f"signal {signal!r}: one of {', '.join(schema.FEEDBACK_SIGNALS)}")
    try:
        with write_transaction(engine) as conn:
            conn.execute(
                schema.feedback.insert().values(
                    fingerprint=route.fingerprint,
                    signal=signal,
                    tier=route.tier,
                    difficulty=route.difficulty,
                    category=route.category,
                    **_where(pull, now),
                )
            )
    except IntegrityError:
        return False
    return True


def new_uid() -> str:
    """A ledger review uid."""
    return uuid.uuid4().hex
