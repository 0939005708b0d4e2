"""The queue's values: a job and its states, a recorded delivery, and what an enqueue did."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import RowMapping

PUSH_TRIGGER = "push"


class JobState(enum.StrEnum):
    """Where a job is in its life; only `queued` and `running` ever change again."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    SUPERSEDED = "superseded"


class EnqueueReason(enum.StrEnum):
    """Why `enqueue` did what it did; also stored as the delivery's outcome."""

    CREATED = "created"
    REDELIVERY = "redelivery"  # the same X-GitHub-Delivery again: nothing new
    DUPLICATE = "duplicate"  # a new delivery for work that already has a job
    REQUEUED = "requeued"  # a push back to a head whose job had been superseded


@dataclass(frozen=True, slots=True)
class Job:
    """One row of `jobs`, with the payload parsed back into a dict."""

    id: int
    kind: str
    tenant: str
    repository: str
    pr_number: int
    head_sha: str
    mode: str
    trigger: str
    idempotency_key: str
    payload: dict[str, Any]
    state: JobState
    attempts: int
    max_attempts: int
    available_at: float
    lease_owner: str | None  # the last worker to claim it, kept after it finishes
    lease_expires_at: float | None  # set only while running
    created_at: float
    updated_at: float
    last_error: str | None


@dataclass(frozen=True, slots=True)
class Delivery:
    """One webhook delivery as recorded, and the job it led to."""

    delivery_id: str
    event: str
    received_at: float
    job_id: int | None
    outcome: str


@dataclass(frozen=True, slots=True)
class NewJob:
    """A delivery and the job it asks for, as the web edge hands it to the queue."""

    delivery_id: str
    event: str
    kind: str
    tenant: str
    repository: str
    pr_number: int
    head_sha: str
    mode: str
    trigger: str
    payload: str  # the job's JSON object, serialised once by the caller

    def params(self, max_attempts: int, now: float) -> dict[str, Any]:
        """The enqueue statements' parameters for this job."""
        key = idempotency_key(
            self.repository, self.pr_number, self.head_sha, self.mode, self.trigger
        )
        values = {name: getattr(self, name) for name in self.__slots__}
        return {**values, "key": key, "max_attempts": max_attempts, "now": now}


@dataclass(frozen=True, slots=True)
class EnqueueResult:
    """The job a delivery maps to; `created` when this call put new work on the queue."""

    job_id: int
    created: bool
    reason: EnqueueReason


def comment_trigger(comment_id: int) -> str:
    """The trigger of a job asked for by a `/review` comment: each comment is its own job."""
    return f"comment:{comment_id}"


def idempotency_key(repository: str, pr_number: int, head_sha: str, mode: str, trigger: str) -> str:
    """The key that makes the same work one job: `repository|pr|head_sha|mode|trigger`."""
    return "|".join((repository, str(pr_number), head_sha, mode, trigger))


def job_from_row(row: RowMapping) -> Job:
    """A `jobs` row as a Job: column names are the field names; payload and state are parsed."""
    fields = dict(row)
    fields["payload"] = json.loads(fields["payload"])
    fields["state"] = JobState(fields["state"])
    return Job(**fields)
