"""Jobs out: which job a claim takes, under which lease, and the per-tenant running limit.

On SQLite a claim runs in a write transaction that holds the database's one write lock, so
claimers never interleave. On PostgreSQL (READ COMMITTED) they run side by side: each locks its
candidate row with `FOR UPDATE SKIP LOCKED` and skips the others' rows, and an advisory lock per
tenant orders the few claims that read the running count before they write.
"""

from __future__ import annotations

from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from app.store.db import serialize
from app.store.job import Job, JobState, job_from_row
from app.store.schema import jobs

LOST_LEASE_ERROR = "lease expired on the final attempt: the worker died or stalled"
# A claim that finds its candidate's tenant already at its running limit (another process took
# a job of that tenant since the candidate was read) looks past that tenant this many times.
CLAIM_TRIES = 3


def claim_in(
    conn: Connection, owner: str, now: float, lease_s: float, limit: int | None, *, sweep: bool
) -> Job | None:
    """Take the oldest runnable job in `conn`'s write transaction (see JobQueue.claim).

    With `sweep`, first mark failed the jobs whose lease expired on their last attempt. They
    are never runnable, so the sweep only tidies their state: callers run it now and then, not
    on every poll.
    """
    if sweep:
        _fail_exhausted_leases(conn, now)
    full: set[str] = set()
    for _ in range(CLAIM_TRIES):
        found = conn.execute(_skip_locked(_candidate(now, limit, full), conn)).first()
        if found is None:
            return None
        if limit is None or _tenant_has_room(conn, found.tenant, now, limit):
            return _take(conn, found.id, owner, now, lease_s)
        full.add(found.tenant)
    return None


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
    abandoned = sa.and_(
        table.c.state == JobState.RUNNING,
        table.c.lease_expires_at < now,
        table.c.attempts < table.c.max_attempts,  # else the sweep fails it: see above
    )
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
    return None if row is None else job_from_row(row)
