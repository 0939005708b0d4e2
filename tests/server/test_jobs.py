"""A job's spec: built from a typed decision, stored as the queue's JSON, read back unchanged."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.errors import TieredReviewError
from app.gh.decision import CommandDecision, PullTarget, ReviewDecision, Trigger
from app.plan.config import Mode
from app.server.job_spec import JobKind, JobSpec

# Payloads exactly as the queue held them before the spec was typed: rows already queued by a
# running server must still run after an upgrade.
STORED_REVIEW: dict[str, Any] = {
    "kind": "review",
    "owner": "Codertocat",
    "repo": "Hello-World",
    "pr_number": 2,
    "mode": "normal",
    "trigger": "push",
    "installation_id": 1,
    "commenter": None,
    "comment_id": None,
}
STORED_COMMAND: dict[str, Any] = {
    "kind": "command",
    "owner": "chmouel",
    "repo": "scratchmyback",
    "pr_number": 1,
    "mode": "deep",
    "trigger": "comment:840508083",
    "installation_id": None,
    "commenter": "alice",
    "comment_id": 840508083,
}


def test_a_review_decision_becomes_a_review_job() -> None:
    decision = ReviewDecision(
        "PR #2 opened", PullTarget("Codertocat", "Hello-World", 2, 1), "h" * 40, "b" * 40, "x"
    )
    spec = JobSpec.from_decision(decision)
    expected = JobSpec(JobKind.REVIEW, "Codertocat", "Hello-World", 2, Mode.NORMAL, Trigger(), 1)
    assert spec == expected
    assert (spec.repository, spec.tenant) == ("Codertocat/Hello-World", "1")
    assert spec.to_payload() == STORED_REVIEW


def test_a_command_decision_becomes_a_command_job() -> None:
    decision = CommandDecision(
        "/review deep by alice on PR #1",
        PullTarget("chmouel", "scratchmyback", 1),
        mode=Mode.DEEP,
        comment_id=840508083,
        commenter="alice",
        author="chmouel",
    )
    spec = JobSpec.from_decision(decision)
    assert (spec.kind, spec.mode, spec.commenter) == (JobKind.COMMAND, Mode.DEEP, "alice")
    assert (spec.trigger.comment_id, spec.tenant) == (840508083, "chmouel/scratchmyback")
    assert spec.to_payload() == STORED_COMMAND


@pytest.mark.parametrize("stored", [STORED_REVIEW, STORED_COMMAND])
def test_a_stored_payload_reads_back_and_writes_the_same_json(stored: dict[str, Any]) -> None:
    spec = JobSpec.from_payload(json.loads(json.dumps(stored)))
    assert spec.kind.value == stored["kind"] and spec.mode.value == stored["mode"]
    assert json.dumps(spec.to_payload()) == json.dumps(stored)


@pytest.mark.parametrize(
    ("change", "field"),
    [({"kind": "rebase"}, "kind"), ({"mode": "fast"}, "mode"), ({"trigger": "cron"}, "trigger")],
)
def test_a_damaged_payload_is_a_clear_error(change: dict[str, Any], field: str) -> None:
    with pytest.raises(TieredReviewError, match=f"queued job payload: .*{field}"):
        JobSpec.from_payload({**STORED_REVIEW, **change})
