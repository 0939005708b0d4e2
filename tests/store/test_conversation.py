"""The conversation's rows on SQLite and PostgreSQL: one claim per comment, one row per signal."""

from __future__ import annotations

from app.store.conversation import (
    FindingRoute,
    PullKey,
    claim_reply,
    record_feedback,
    release_reply,
    suppress,
    suppressed,
)
from app.store.db import make_engine, migrate

PULL = PullKey("42", "acme/api", 7)


def test_claims_suppressions_and_feedback_are_each_recorded_once(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        migrate(engine)
        assert claim_reply(engine, PULL, 2**40, "claimed", "")  # GitHub ids outgrow 32 bits
        assert not claim_reply(engine, PULL, 2**40, "claimed", "")
        release_reply(engine, 2**40)  # a failed answer gives the claim back for the retry
        assert claim_reply(engine, PULL, 2**40, "claimed", "")
        assert suppress(engine, PULL, "f1", "thumbs_down")
        assert not suppress(engine, PULL, "f1", "reply")
        assert suppress(engine, PullKey("42", "acme/api", 8), "f2", "resolved")
        assert suppressed(engine, "acme/api", 7) == frozenset({"f1"})
        route = FindingRoute("f1", "small", "routine", "bug")
        assert record_feedback(engine, PULL, route, "thumbs_down")
        assert not record_feedback(engine, PULL, route, "thumbs_down")
        assert record_feedback(engine, PULL, route, "dismissed")
    finally:
        engine.dispose()
