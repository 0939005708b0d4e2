"""The durable job queue: webhook deliveries in, leased review jobs out.

A webhook is acknowledged only after `enqueue` commits, so a job survives any crash after the
202. Workers `claim` a job under a lease and `heartbeat` while they run; a worker killed mid-job
stops heartbeating, its lease expires, and the next `claim` takes the job over; a worker that
stops gracefully `release`s what it could not finish. Every write is one short transaction;
every time comes from the injected clock (UTC epoch seconds).

The values live in `job`, the ack path in `enqueue`, the claim's SQL in `claim`. On SQLite
every write transaction holds the database's one write lock, so writers never interleave; on
PostgreSQL row locks and advisory locks (`db.serialize`) order the decisions that read before
they write.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from app.store.claim import CLAIM_TRIES, LOST_LEASE_ERROR, claim_in
from app.store.db import write_transaction
from app.store.enqueue import enqueue_in
from app.store.job import (
    PUSH_TRIGGER,
    Delivery,
    EnqueueReason,
    EnqueueResult,
    Job,
    JobState,
    NewJob,
    comment_trigger,
    idempotency_key,
    job_from_row,
)
from app.store.schema import deliveries, jobs

__all__ = [
    "CLAIM_TRIES",
    "DEFAULT_MAX_ATTEMPTS",
    "LOST_LEASE_ERROR",
    "PUSH_TRIGGER",
    "RELEASED_NOTE",
    "SWEEP_EVERY_S",
    "Delivery",
    "EnqueueReason",
    "EnqueueResult",
    "Job",
    "JobQueue",
    "JobState",
    "NewJob",
    "comment_trigger",
    "idempotency_key",
]

DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_BACKOFF_BASE_S = 30.0
DEFAULT_BACKOFF_MAX_S = 900.0
# How often claims mark failed the jobs whose lease ran out on their last attempt (seconds).
SWEEP_EVERY_S = 5.0
RELEASED_NOTE = "returned to the queue when its worker stopped"


class JobQueue:
    """Jobs in a database table, claimed under leases; safe across threads and processes."""

    def __init__(
        self,
        engine: Engine,
        clock: Callable[[], float] = time.time,
        *,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        backoff_base_s: float = DEFAULT_BACKOFF_BASE_S,
        backoff_max_s: float = DEFAULT_BACKOFF_MAX_S,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._engine = engine
        self._clock = clock
        self._max_attempts = max_attempts
        self._backoff_base_s = backoff_base_s
        self._backoff_max_s = backoff_max_s
        self._next_sweep = -math.inf  # when a claim next fails the exhausted leases

    def enqueue(
        self,
        *,
        delivery_id: str,
        event: str,
        kind: str,
        tenant: str,
        repository: str,
        pr_number: int,
        head_sha: str,
        mode: str,
        trigger: str,
        payload: Mapping[str, Any] | str,
    ) -> EnqueueResult:
        """Record a delivery and its job in one transaction, deduplicating and superseding.

        `payload` is the job's JSON object, or its JSON text when the caller has it already.
        """
        if not isinstance(payload, str):
            payload = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        job = NewJob(
            delivery_id,
            event,
            kind,
            tenant,
            repository,
            pr_number,
            head_sha,
            mode,
            trigger,
            payload,
        )
        # SQLite's BEGIN IMMEDIATE serializes enqueues, so the lookups always see the winner;
        # on PostgreSQL `enqueue_in` takes its PR's lock for the same effect. Should a unique
        # constraint still fire (a writer that does not take the lock), roll back and look
        # again: the constraint, not the lock, is what keeps one job per key.
        for attempt in range(2):
            try:
                with write_transaction(self._engine) as conn:
                    return enqueue_in(conn, job.params(self._max_attempts, self._clock()))
            except IntegrityError:
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def enqueue_batch(self, batch: Sequence[NewJob]) -> list[EnqueueResult | Exception]:
        """`enqueue` each job, all in one transaction: one commit (and fsync) for the batch.

        The web edge's group commit: a delivery's 202 waits for its batch to commit. Should
        the batch fail, each job is enqueued on its own, and gets its own result or error.
        Jobs are recorded in the order of their PR's lock (stable: a PR's deliveries keep
        their order), so that two web processes' batches cannot deadlock on PostgreSQL.
        """
        order = sorted(range(len(batch)), key=lambda i: (batch[i].repository, batch[i].pr_number))
        results: list[EnqueueResult | Exception | None] = [None] * len(batch)
        try:
            with write_transaction(self._engine) as conn:
                now = self._clock()
                for i in order:
                    results[i] = enqueue_in(conn, batch[i].params(self._max_attempts, now))
        except Exception:  # noqa: BLE001 - retried one by one below, where each error is kept
            for i in order:
                try:
                    results[i] = self._enqueue_one(batch[i])
                except Exception as exc:  # noqa: BLE001 - handed to that delivery's caller
                    results[i] = exc
        return [r for r in results if r is not None]

    def _enqueue_one(self, job: NewJob) -> EnqueueResult:
        return self.enqueue(**{name: getattr(job, name) for name in NewJob.__slots__})

    def claim(
        self, owner: str, lease_s: float, *, max_running_per_tenant: int | None = None
    ) -> Job | None:
        """Take the oldest runnable job under a lease, or None when there is nothing to do.

        Runnable: queued and past its backoff, or running under an expired lease (its worker
        died). `max_running_per_tenant` skips tenants that already have that many live leases.
        """
        if lease_s <= 0:
            raise ValueError("lease_s must be positive")
        if max_running_per_tenant is not None and max_running_per_tenant < 1:
            raise ValueError("max_running_per_tenant must be at least 1")
        now = self._clock()
        sweep = now >= self._next_sweep
        if sweep:  # a race between threads only sweeps twice
            self._next_sweep = now + SWEEP_EVERY_S
        with write_transaction(self._engine) as conn:
            return claim_in(conn, owner, now, lease_s, max_running_per_tenant, sweep=sweep)

    def heartbeat(self, job_id: int, owner: str, lease_s: float) -> bool:
        """Extend the lease to now + `lease_s`; False when `owner` no longer holds the job."""
        now = self._clock()
        return self._update_owned(job_id, owner, lease_expires_at=now + lease_s, updated_at=now)

    def complete(self, job_id: int, owner: str) -> bool:
        """Mark the job done; False (and no change) when `owner` lost it to another worker."""
        now = self._clock()
        return self._update_owned(
            job_id, owner, state=JobState.DONE, lease_expires_at=None, updated_at=now
        )

    def release(self, job_id: int, owner: str) -> bool:
        """Put a job its worker stopped before finishing back on the queue, runnable now.

        The interrupted attempt is not counted: the job did not fail, its worker was stopped.
        False (and no change) when `owner` no longer holds the job.
        """
        now = self._clock()
        return self._update_owned(
            job_id,
            owner,
            state=JobState.QUEUED,
            attempts=jobs.c.attempts - 1,  # a running job's claim counted at least one
            available_at=now,
            lease_expires_at=None,
            updated_at=now,
            last_error=RELEASED_NOTE,
        )

    def fail(self, job_id: int, owner: str, error: str, *, retry: bool) -> bool:
        """Record a failed attempt: back off and requeue if `retry` and attempts remain.

        The delay is `backoff_base_s * 2**(attempts - 1)`, capped at `backoff_max_s`. Without a
        retry, or after `max_attempts`, the job ends `failed` with `error` as its reason.
        Returns False (and changes nothing) when `owner` lost the job to another worker.
        """
        now = self._clock()
        with write_transaction(self._engine) as conn:
            row = conn.execute(
                sa.select(jobs.c.attempts, jobs.c.max_attempts).where(_owned(job_id, owner))
            ).first()
            if row is None:
                return False
            if retry and row.attempts < row.max_attempts:
                delay = self._backoff_base_s * 2 ** (row.attempts - 1)
                values: dict[str, Any] = {
                    "state": JobState.QUEUED,
                    "available_at": now + min(delay, self._backoff_max_s),
                }
            else:
                values = {"state": JobState.FAILED}
            conn.execute(
                sa.update(jobs)
                .where(jobs.c.id == job_id)
                .values(**values, lease_expires_at=None, updated_at=now, last_error=error)
            )
            return True

    def depth(self) -> dict[JobState, int]:
        """How many jobs are in each state, every state present (for /metrics and /healthz)."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                sa.select(jobs.c.state, sa.func.count()).group_by(jobs.c.state)
            ).all()
        counts = dict.fromkeys(JobState, 0)
        counts.update({JobState(state): count for state, count in rows})
        return counts

    def get(self, job_id: int) -> Job:
        """The job with this id; KeyError when there is none."""
        with self._engine.connect() as conn:
            row = conn.execute(sa.select(jobs).where(jobs.c.id == job_id)).mappings().first()
        if row is None:
            raise KeyError(job_id)
        return job_from_row(row)

    def delivery(self, delivery_id: str) -> Delivery | None:
        """The recorded delivery with this X-GitHub-Delivery id, if any."""
        with self._engine.connect() as conn:
            row = (
                conn.execute(sa.select(deliveries).where(deliveries.c.delivery_id == delivery_id))
                .mappings()
                .first()
            )
        return None if row is None else Delivery(**row)

    def _update_owned(self, job_id: int, owner: str, **values: Any) -> bool:
        with write_transaction(self._engine) as conn:
            result = conn.execute(sa.update(jobs).where(_owned(job_id, owner)).values(**values))
            return result.rowcount == 1


def _owned(job_id: int, owner: str) -> sa.ColumnElement[bool]:
    # Owned means running under this owner's name. An expired lease that nobody has taken over
    # yet still counts: the work is valid and no other worker is doing it.
    return sa.and_(
        jobs.c.id == job_id, jobs.c.state == JobState.RUNNING, jobs.c.lease_owner == owner
    )
