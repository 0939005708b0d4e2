"""Deliveries in: record a delivery and its job in one transaction, deduplicating and superseding.

This is the webhook's ack path, so its statements are compiled once per dialect and run as
plain driver SQL: building and compiling them per call cost about as much as the SQLite
write itself (measured with cProfile). The job payload arrives as JSON text, serialised once
by the caller.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql.compiler import SQLCompiler

from app.store.db import serialize
from app.store.job import PUSH_TRIGGER, EnqueueReason, EnqueueResult, JobState
from app.store.schema import deliveries, jobs

_P = sa.bindparam

_PRIOR = sa.select(deliveries.c.job_id).where(deliveries.c.delivery_id == _P("delivery_id"))
_EXISTING = sa.select(jobs.c.id, jobs.c.state).where(jobs.c.idempotency_key == _P("key"))
_INSERT_JOB = (
    sa.insert(jobs)
    .values(
        kind=_P("kind"),
        tenant=_P("tenant"),
        repository=_P("repository"),
        pr_number=_P("pr_number"),
        head_sha=_P("head_sha"),
        mode=_P("mode"),
        trigger=_P("trigger"),
        idempotency_key=_P("key"),
        payload=_P("payload"),
        state=JobState.QUEUED.value,
        attempts=0,
        max_attempts=_P("max_attempts"),
        available_at=_P("now"),
        created_at=_P("now"),
        updated_at=_P("now"),
    )
    .returning(jobs.c.id)
)
# A force-push back to an earlier head: its job never ran, and it is the head now.
_REQUEUE = (
    sa.update(jobs)
    .where(jobs.c.id == _P("job_id"))
    .values(
        state=JobState.QUEUED.value,
        payload=_P("payload"),
        attempts=0,
        available_at=_P("now"),
        lease_expires_at=None,
        updated_at=_P("now"),
        last_error=None,
    )
)
# A newer head makes queued reviews of older heads of the same PR and mode pointless. A running
# one is left alone: its worker holds a lease and will finish or fail on its own.
_SUPERSEDE = (
    sa.update(jobs)
    .where(
        jobs.c.repository == _P("repository"),
        jobs.c.pr_number == _P("pr_number"),
        jobs.c.mode == _P("mode"),
        jobs.c.trigger == PUSH_TRIGGER,
        jobs.c.state == JobState.QUEUED.value,
        jobs.c.id != _P("job_id"),
    )
    .values(state=JobState.SUPERSEDED.value, updated_at=_P("now"), last_error=_P("why"))
)
_INSERT_DELIVERY = sa.insert(deliveries).values(
    delivery_id=_P("delivery_id"),
    event=_P("event"),
    received_at=_P("now"),
    job_id=_P("job_id"),
    outcome=_P("reason"),
)
_UPDATE_DELIVERY = (
    sa.update(deliveries)
    .where(deliveries.c.delivery_id == _P("delivery_id"))
    .values(event=_P("event"), received_at=_P("now"), job_id=_P("job_id"), outcome=_P("reason"))
)


@dataclass(frozen=True, slots=True)
class _Compiled:
    """One statement as its dialect's SQL text, and how to pass it parameters."""

    sql: str
    defaults: Mapping[str, Any]  # every parameter: the constants' values, None for the rest
    passed: frozenset[str]  # the parameters each call passes
    order: tuple[str, ...] | None  # parameter names in order, for positional drivers

    def params(self, values: Mapping[str, Any]) -> Any:
        merged = {
            name: values[name] if name in self.passed else constant
            for name, constant in self.defaults.items()
        }
        if self.order is None:
            return merged
        return tuple(merged[name] for name in self.order)


@dataclass(frozen=True, slots=True)
class _Statements:
    prior: _Compiled
    existing: _Compiled
    insert_job: _Compiled
    requeue: _Compiled
    supersede: _Compiled
    insert_delivery: _Compiled
    update_delivery: _Compiled


_CACHE: dict[str, _Statements] = {}
_CACHE_LOCK = threading.Lock()


def _compile(stmt: sa.ClauseElement, dialect: Dialect) -> _Compiled:
    compiled = stmt.compile(dialect=dialect)
    assert isinstance(compiled, SQLCompiler)
    order = tuple(compiled.positiontup or ()) if compiled.positional else None
    # The parameters without a value (each call passes them) as None, the constants as they are.
    blanks = {name: None for name, bind in compiled.binds.items() if bind.required}
    defaults = compiled.construct_params(blanks)
    return _Compiled(compiled.string, dict(defaults), frozenset(blanks), order)


def _statements(dialect: Dialect) -> _Statements:
    key = f"{dialect.name}+{dialect.driver}"
    found = _CACHE.get(key)
    if found is None:
        with _CACHE_LOCK:
            found = _CACHE[key] = _Statements(
                *(
                    _compile(s, dialect)
                    for s in (
                        _PRIOR,
                        _EXISTING,
                        _INSERT_JOB,
                        _REQUEUE,
                        _SUPERSEDE,
                        _INSERT_DELIVERY,
                        _UPDATE_DELIVERY,
                    )
                )
            )
    return found


def _run(conn: Connection, stmt: _Compiled, values: Mapping[str, Any]) -> Any:
    return conn.exec_driver_sql(stmt.sql, stmt.params(values))


def enqueue_in(conn: Connection, job: Mapping[str, Any]) -> EnqueueResult:
    """Record the delivery and its job in `conn`'s write transaction (see JobQueue.enqueue).

    `job` holds the statements' parameters: delivery_id, event, now, max_attempts, the job's
    columns and `key`, its idempotency key.
    """
    sql = _statements(conn.dialect)
    # Deliveries of one PR (redeliveries, pushes that supersede each other) decide in turn.
    serialize(conn, f"tiered-review:pr:{job['repository']}#{job['pr_number']}")
    prior = _run(conn, sql.prior, job).first()
    if prior is not None and prior[0] is not None:
        return EnqueueResult(prior[0], False, EnqueueReason.REDELIVERY)

    existing = _run(conn, sql.existing, job).first()
    is_push = job["trigger"] == PUSH_TRIGGER
    if existing is None:
        job_id: int = _run(conn, sql.insert_job, job).scalar_one()
        reason = EnqueueReason.CREATED
    elif is_push and existing[1] == JobState.SUPERSEDED:
        job_id = existing[0]
        _run(conn, sql.requeue, {**job, "job_id": job_id})
        reason = EnqueueReason.REQUEUED
    else:
        job_id = existing[0]
        reason = EnqueueReason.DUPLICATE

    done = {**job, "job_id": job_id, "reason": reason.value}
    if is_push and reason is not EnqueueReason.DUPLICATE:
        _run(conn, sql.supersede, {**done, "why": f"superseded by job {job_id}"})
    _run(conn, sql.update_delivery if prior is not None else sql.insert_delivery, done)
    return EnqueueResult(job_id, reason is not EnqueueReason.DUPLICATE, reason)
