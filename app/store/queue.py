"""The durable job queue: webhook deliveries in, leased review jobs out.

A webhook is acknowledged only after `enqueue` commits, so a job survives any crash after the
202. Workers `claim` a job under a lease and `heartbeat` while they run; a worker killed mid-job
stops heartbeating, its lease expires, and the next `claim` takes the job over. Every write is
one short transaction; every time comes from the injected clock (UTC epoch seconds).

On SQLite every write transaction holds the database's one write lock, so writers never
interleave. On PostgreSQL (READ COMMITTED) claimers run side by side: each locks its candidate
row with `FOR UPDATE SKIP LOCKED` and skips the others' rows, and an advisory lock per PR
(enqueue) or per tenant (the running limit) orders the few decisions that read before they write.
"""

from __future__ import annotations

import enum
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, RowMapping
from sqlalchemy.exc import IntegrityError

from app.store.db import serialize, write_transaction
from app.store.schema import deliveries, jobs

PUSH_TRIGGER = "push"
DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_BACKOFF_BASE_S = 30.0
DEFAULT_BACKOFF_MAX_S = 900.0
LOST_LEASE_ERROR = "lease expired on the final attempt: the worker died or stalled"
# A claim that finds its candidate's tenant already at its running limit (another process took
# a job of that tenant since the candidate was read) looks past that tenant this many times.
CLAIM_TRIES = 3


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
        payload: Mapping[str, Any],
    ) -> EnqueueResult:
        """Record a delivery and its job in one transaction, deduplicating and superseding."""
        job_values = {
            "kind": kind,
            "tenant": tenant,
            "repository": repository,
            "pr_number": pr_number,
            "head_sha": head_sha,
            "mode": mode,
            "trigger": trigger,
            "idempotency_key": idempotency_key(repository, pr_number, head_sha, mode, trigger),
            "payload": json.dumps(payload, sort_keys=True, separators=(",", ":")),
        }
        # SQLite's BEGIN IMMEDIATE serializes enqueues, so the lookups below always see the
        # winner; on PostgreSQL `_enqueue` takes its PR's lock for the same effect. Should a
        # unique constraint still fire (a writer that does not take the lock), roll back and look
        # again: the constraint, not the lock, is what keeps one job per key.
        for attempt in range(2):
            try:
                with write_transaction(self._engine) as conn:
                    return self._enqueue(conn, self._clock(), delivery_id, event, job_values)
            except IntegrityError:
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def _enqueue(
        self,
        conn: Connection,
        now: float,
        delivery_id: str,
        event: str,
        job_values: dict[str, Any],
    ) -> EnqueueResult:
        # Deliveries of one PR (redeliveries, pushes that supersede each other) decide in turn.
        serialize(conn, f"tiered-review:pr:{job_values['repository']}#{job_values['pr_number']}")
        prior = conn.execute(
            sa.select(deliveries.c.job_id).where(deliveries.c.delivery_id == delivery_id)
        ).first()
        if prior is not None and prior.job_id is not None:
            return EnqueueResult(prior.job_id, False, EnqueueReason.REDELIVERY)

        existing = conn.execute(
            sa.select(jobs.c.id, jobs.c.state).where(
                jobs.c.idempotency_key == job_values["idempotency_key"]
            )
        ).first()
        is_push = job_values["trigger"] == PUSH_TRIGGER
        if existing is None:
            job_id: int = conn.execute(
                sa.insert(jobs)
                .values(
                    **job_values,
                    state=JobState.QUEUED,
                    attempts=0,
                    max_attempts=self._max_attempts,
                    available_at=now,
                    created_at=now,
                    updated_at=now,
                )
                .returning(jobs.c.id)
            ).scalar_one()
            reason = EnqueueReason.CREATED
        elif is_push and existing.state == JobState.SUPERSEDED:
            # A force-push back to an earlier head: its job never ran, and it is the head now.
            job_id = existing.id
            conn.execute(
                sa.update(jobs)
                .where(jobs.c.id == job_id)
                .values(
                    state=JobState.QUEUED,
                    payload=job_values["payload"],
                    attempts=0,
                    available_at=now,
                    lease_expires_at=None,
                    updated_at=now,
                    last_error=None,
                )
            )
            reason = EnqueueReason.REQUEUED
        else:
            job_id = existing.id
            reason = EnqueueReason.DUPLICATE

        if is_push and reason is not EnqueueReason.DUPLICATE:
            _supersede(conn, now, job_id, job_values)
        delivery = {"event": event, "received_at": now, "job_id": job_id, "outcome": reason}
        if prior is None:
            conn.execute(sa.insert(deliveries).values(delivery_id=delivery_id, **delivery))
        else:
            conn.execute(
                sa.update(deliveries)
                .where(deliveries.c.delivery_id == delivery_id)
                .values(**delivery)
            )
        return EnqueueResult(job_id, reason is not EnqueueReason.DUPLICATE, reason)

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
        with write_transaction(self._engine) as conn:
            _fail_exhausted_leases(conn, now)
            full: set[str] = set()
            for _ in range(CLAIM_TRIES):
                stmt = _skip_locked(_candidate(now, max_running_per_tenant, full), conn)
                found = conn.execute(stmt).first()
                if found is None:
                    return None
                limit = max_running_per_tenant
                if limit is None or _tenant_has_room(conn, found.tenant, now, limit):
                    return _take(conn, found.id, owner, now, lease_s)
                full.add(found.tenant)
        return None

    def heartbeat(self, job_id: int, owner: str, lease_s: float) -> bool:
        """Extend the lease to now + `lease_s`; False when `owner` no longer holds the job."""
        now = self._clock()
        with write_transaction(self._engine) as conn:
            result = conn.execute(
                sa.update(jobs)
                .where(_owned(job_id, owner))
                .values(lease_expires_at=now + lease_s, updated_at=now)
            )
            return result.rowcount == 1

    def complete(self, job_id: int, owner: str) -> bool:
        """Mark the job done; False (and no change) when `owner` lost it to another worker."""
        now = self._clock()
        with write_transaction(self._engine) as conn:
            result = conn.execute(
                sa.update(jobs)
                .where(_owned(job_id, owner))
                .values(state=JobState.DONE, lease_expires_at=None, updated_at=now)
            )
            return result.rowcount == 1

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
        return _job(row)

    def delivery(self, delivery_id: str) -> Delivery | None:
        """The recorded delivery with this X-GitHub-Delivery id, if any."""
        with self._engine.connect() as conn:
            row = (
                conn.execute(sa.select(deliveries).where(deliveries.c.delivery_id == delivery_id))
                .mappings()
                .first()
            )
        return None if row is None else Delivery(**row)


def _supersede(conn: Connection, now: float, job_id: int, job_values: Mapping[str, Any]) -> None:
    # A newer head makes queued reviews of older heads of the same PR and mode pointless. A
    # running one is left alone: its worker holds a lease and will finish or fail on its own.
    conn.execute(
        sa.update(jobs)
        .where(
            jobs.c.repository == job_values["repository"],
            jobs.c.pr_number == job_values["pr_number"],
            jobs.c.mode == job_values["mode"],
            jobs.c.trigger == PUSH_TRIGGER,
            jobs.c.state == JobState.QUEUED,
            jobs.c.id != job_id,
        )
        .values(state=JobState.SUPERSEDED, updated_at=now, last_error=f"superseded by job {job_id}")
    )


def _fail_exhausted_leases(conn: Connection, now: float) -> None:
    # A job whose worker died on its last attempt must not be run again: it may be the job
    # that kills workers (out of memory, a hang), and retrying it forever would starve the rest.
    # Rows another claimer is failing right now are skipped, not waited for: it does the same.
    stale = jobs.alias("stale")
    exhausted = sa.select(stale.c.id).where(
        stale.c.state == JobState.RUNNING,
        stale.c.lease_expires_at < now,
        stale.c.attempts >= stale.c.max_attempts,
    )
    conn.execute(
        sa.update(jobs)
        .where(jobs.c.id.in_(_skip_locked(exhausted, conn)))
        .values(
            state=JobState.FAILED,
            lease_expires_at=None,
            updated_at=now,
            last_error=LOST_LEASE_ERROR,
        )
    )


def _runnable(table: sa.FromClause, now: float) -> sa.ColumnElement[bool]:
    queued = sa.and_(table.c.state == JobState.QUEUED, table.c.available_at <= now)
    abandoned = sa.and_(table.c.state == JobState.RUNNING, table.c.lease_expires_at < now)
    return sa.or_(queued, abandoned)


def _candidate(
    now: float, max_running_per_tenant: int | None, full: set[str]
) -> sa.Select[int, str]:
    """The oldest runnable job, outside the tenants found `full`: its id and tenant."""
    # Aliases, so the count below correlates to the candidate and not to itself.
    candidate = jobs.alias("candidate")
    stmt = sa.select(candidate.c.id, candidate.c.tenant).where(_runnable(candidate, now))
    if full:
        stmt = stmt.where(candidate.c.tenant.not_in(sorted(full)))
    if max_running_per_tenant is not None:
        running = _live_leases(jobs.alias("live"), candidate.c.tenant, now).scalar_subquery()
        stmt = stmt.where(running < max_running_per_tenant)
    return stmt.order_by(candidate.c.id).limit(1)


def _live_leases(
    table: sa.FromClause, tenant: sa.ColumnElement[str] | str, now: float
) -> sa.Select[int]:
    """How many unexpired leases `tenant` holds: what the per-tenant running limit counts."""
    return sa.select(sa.func.count()).where(
        table.c.tenant == tenant,
        table.c.state == JobState.RUNNING,
        table.c.lease_expires_at >= now,
    )


_S = TypeVar("_S", bound=sa.Select[*tuple[Any, ...]])


def _skip_locked(stmt: _S, conn: Connection) -> _S:
    """How concurrent claimers stay apart: the dialect-specific half of a claim."""
    if conn.dialect.name == "postgresql":
        # Row locks until commit: other claimers skip these rows instead of waiting for them.
        return stmt.with_for_update(skip_locked=True)
    # SQLite has no row locks; the claim's BEGIN IMMEDIATE made this the only writer.
    return stmt


def _tenant_has_room(conn: Connection, tenant: str, now: float, limit: int) -> bool:
    # The candidate query counted live leases in its own snapshot; on PostgreSQL another claimer
    # may have taken a job of this tenant since. The tenant's lock puts such claimers in line,
    # and a statement after it sees every claim that committed before.
    serialize(conn, f"tiered-review:tenant:{tenant}")
    running: int = conn.execute(_live_leases(jobs, tenant, now)).scalar_one()
    return running < limit


def _take(conn: Connection, job_id: int, owner: str, now: float, lease_s: float) -> Job | None:
    """Lease the (locked) job to `owner`; None should it have stopped being runnable."""
    row = (
        conn.execute(
            sa.update(jobs)
            .where(jobs.c.id == job_id, _runnable(jobs, now))
            .values(
                state=JobState.RUNNING,
                lease_owner=owner,
                lease_expires_at=now + lease_s,
                attempts=jobs.c.attempts + 1,
                updated_at=now,
            )
            .returning(*jobs.c)
        )
        .mappings()
        .first()
    )
    return None if row is None else _job(row)


def _owned(job_id: int, owner: str) -> sa.ColumnElement[bool]:
    # Owned means running under this owner's name. An expired lease that nobody has taken over
    # yet still counts: the work is valid and no other worker is doing it.
    return sa.and_(
        jobs.c.id == job_id, jobs.c.state == JobState.RUNNING, jobs.c.lease_owner == owner
    )


def _job(row: RowMapping) -> Job:
    # Column names are the field names; only the payload and the state need parsing.
    fields = dict(row)
    fields["payload"] = json.loads(fields["payload"])
    fields["state"] = JobState(fields["state"])
    return Job(**fields)
