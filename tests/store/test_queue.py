"""The durable job queue's contract, on a SQLite file and on PostgreSQL alike.

Every test that takes `db_url` (or `engine`, `queue`) runs once per engine: see tests/dbs.py.
Migrations, dedupe, supersede, leases, retries, the per-tenant limit, and concurrent claimers,
enqueuers and migrators in threads (several connections) and in processes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine
from sqlalchemy.pool import QueuePool

from app.errors import ConfigError
from app.store.db import (
    current_revision,
    database_url,
    head_revision,
    make_engine,
    migrate,
    open_database,
)
from app.store.queue import (
    LOST_LEASE_ERROR,
    PUSH_TRIGGER,
    SWEEP_EVERY_S,
    EnqueueReason,
    EnqueueResult,
    JobQueue,
    JobState,
    comment_trigger,
)
from app.store.schema import JOB_STATES, deliveries, jobs, metadata
from tests.conftest import need
from tests.dbs import PG_ENV, Databases

ROOT = Path(__file__).resolve().parents[2]
SHA_A = "a" * 40
SHA_B = "b" * 40
# Well in the past, so child processes on the real clock see every job as available.
T0 = 1_000_000_000.0


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def queue(engine: Engine, clock: Clock) -> JobQueue:
    return JobQueue(engine, clock, max_attempts=3, backoff_base_s=10.0, backoff_max_s=25.0)


def push(
    queue: JobQueue,
    delivery: str,
    *,
    sha: str = SHA_A,
    pr: int = 7,
    mode: str = "standard",
    trigger: str = PUSH_TRIGGER,
    tenant: str = "inst-1",
) -> EnqueueResult:
    return queue.enqueue(
        delivery_id=delivery,
        event="pull_request" if trigger == PUSH_TRIGGER else "issue_comment",
        kind="review",
        tenant=tenant,
        repository="octo/widgets",
        pr_number=pr,
        head_sha=sha,
        mode=mode,
        trigger=trigger,
        payload={"action": "synchronize", "number": pr, "head": sha},
    )


# --- database URL, engine and migrations ---------------------------------------------------


def test_database_url_follows_tiered_review_db(tmp_path: Path) -> None:
    default = f"sqlite:///{tmp_path / 'tiered-review.db'}"
    assert database_url(None, tmp_path) == default
    assert database_url("  ", tmp_path) == default
    assert database_url(str(tmp_path / "q.db"), tmp_path) == f"sqlite:///{tmp_path / 'q.db'}"
    assert database_url("rel/q.db", tmp_path) == "sqlite:///rel/q.db"
    assert database_url("sqlite:///x.db", tmp_path) == "sqlite:///x.db"
    # Plain DSNs, as users paste them, are driven by psycopg 3 (the driver we ship).
    for dsn, url in (
        ("postgresql://u:p@db.internal:5432/rv", "postgresql+psycopg://u:p@db.internal:5432/rv"),
        ("postgres://u@h/d?sslmode=require", "postgresql+psycopg://u@h/d?sslmode=require"),
        ("postgresql+psycopg://h/d", "postgresql+psycopg://h/d"),
    ):
        assert database_url(dsn, tmp_path) == url
    with pytest.raises(ConfigError, match="mysql"):
        database_url("mysql://h/d", tmp_path)
    with pytest.raises(ConfigError, match="psycopg2"):
        database_url("postgresql+psycopg2://h/d", tmp_path)


def test_postgresql_engines_read_committed_with_a_bounded_pool(tmp_path: Path) -> None:
    dsn = os.environ.get(PG_ENV)
    need(bool(dsn), f"{PG_ENV} is unset: no PostgreSQL to test on (.ci/postgres starts one)")
    with Databases("postgresql", tmp_path, dsn) as databases:
        # make_engine itself turns a plain DSN into psycopg 3, as database_url does.
        engine = make_engine(databases().replace("postgresql+psycopg://", "postgresql://", 1))
        try:
            assert engine.dialect.driver == "psycopg"
            assert isinstance(engine.pool, QueuePool) and engine.pool.size() == 5
            with engine.connect() as conn:
                show = conn.exec_driver_sql
                assert show("SHOW transaction_isolation").scalar() == "read committed"
                assert show("SHOW application_name").scalar() == "tiered-review"
        finally:
            engine.dispose()


def test_migrate_fresh_file_then_rerun_is_a_no_op(tmp_path: Path) -> None:
    engine = make_engine(database_url(str(tmp_path / "new" / "state" / "q.db"), tmp_path))
    try:
        assert current_revision(engine) is None
        migrate(engine)
        migrate(engine)
        assert current_revision(engine) == head_revision() is not None
        with engine.connect() as conn:
            pragma = conn.exec_driver_sql
            assert pragma("PRAGMA journal_mode").scalar() == "wal"
            assert pragma("PRAGMA foreign_keys").scalar() == 1
            assert pragma("PRAGMA busy_timeout").scalar() == 5000
    finally:
        engine.dispose()


_MIGRATOR = """
migrate(engine)  # a fresh database: they all try to create the tables at once
sys.stdout.write(str(current_revision(engine)))
engine.dispose()
"""


def test_migrations_run_once_when_processes_start_together(db_url: str, tmp_path: Path) -> None:
    revisions = _together(_MIGRATOR, db_url, ["m1", "m2", "m3"], tmp_path)
    assert revisions == [str(head_revision())] * 3


def _shape(engine: Engine) -> dict[str, object]:
    """Every table's columns, keys, indexes and CHECKs, as the database reports them."""
    inspector = sa.inspect(engine)
    shape: dict[str, object] = {}
    for table in sorted(set(inspector.get_table_names()) - {"alembic_version"}):
        shape[table] = (
            [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)],
            inspector.get_pk_constraint(table),
            sorted(inspector.get_unique_constraints(table), key=lambda u: str(u["name"])),
            sorted(
                ((i["name"], i["column_names"], i["unique"]) for i in inspector.get_indexes(table)),
                key=str,
            ),
            sorted(inspector.get_foreign_keys(table), key=lambda f: str(f["name"])),
            sorted(inspector.get_check_constraints(table), key=lambda c: str(c["name"])),
        )
    return shape


def _ddl(engine: Engine) -> list[tuple[str, str, str | None]]:
    query = (
        "SELECT type, name, sql FROM sqlite_master "
        "WHERE tbl_name != 'alembic_version' ORDER BY type, name"
    )
    with engine.connect() as conn:
        # Whitespace aside: SQLite keeps an ADD COLUMN's text as written, on the last column's line.
        rows = conn.exec_driver_sql(query).all()
        return [(t, n, " ".join(s.split()) if s else s) for t, n, s in rows]


def test_migrated_schema_equals_metadata(engine: Engine, fresh_db: Databases) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
    # compare_metadata ignores CHECK constraints (and AUTOINCREMENT): compare what the database
    # reports, and on SQLite the DDL itself, with a database made from the metadata directly.
    reference = make_engine(fresh_db())
    try:
        metadata.create_all(reference)
        assert _shape(engine) == _shape(reference)
        assert "jobs" in _shape(engine)
        if fresh_db.engine == "sqlite":
            assert _ddl(engine) == _ddl(reference)
    finally:
        reference.dispose()


def test_job_states_agree_with_the_schema() -> None:
    assert tuple(JobState) == JOB_STATES


# --- enqueue and dedupe -----------------------------------------------------------------------


def test_enqueue_claim_complete(queue: JobQueue, clock: Clock) -> None:
    result = push(queue, "d-1")
    assert result == EnqueueResult(result.job_id, True, EnqueueReason.CREATED)

    job = queue.claim("w1", 60.0)
    assert job is not None and job.id == result.job_id
    assert (job.state, job.attempts, job.lease_owner) == (JobState.RUNNING, 1, "w1")
    assert job.lease_expires_at == T0 + 60.0
    assert job.payload == {"action": "synchronize", "number": 7, "head": SHA_A}
    assert job.idempotency_key == f"octo/widgets|7|{SHA_A}|standard|push"
    assert queue.claim("w2", 60.0) is None

    clock.advance(5)
    assert queue.complete(job.id, "w1")
    done = queue.get(job.id)
    assert (done.state, done.updated_at, done.lease_expires_at) == (JobState.DONE, T0 + 5, None)
    assert queue.depth() == {
        JobState.QUEUED: 0,
        JobState.RUNNING: 0,
        JobState.DONE: 1,
        JobState.FAILED: 0,
        JobState.SUPERSEDED: 0,
    }
    delivery = queue.delivery("d-1")
    assert delivery is not None
    assert (delivery.event, delivery.job_id, delivery.outcome) == (
        "pull_request",
        job.id,
        "created",
    )
    assert queue.delivery("d-unknown") is None
    with pytest.raises(KeyError):
        queue.get(job.id + 1)


def test_redelivery_returns_the_same_job(queue: JobQueue) -> None:
    first = push(queue, "d-1")
    again = push(queue, "d-1")
    assert again == EnqueueResult(first.job_id, False, EnqueueReason.REDELIVERY)
    assert queue.depth()[JobState.QUEUED] == 1


def test_same_push_twice_is_one_job(queue: JobQueue) -> None:
    first = push(queue, "d-1")
    second = push(queue, "d-2")
    assert second == EnqueueResult(first.job_id, False, EnqueueReason.DUPLICATE)
    delivery = queue.delivery("d-2")
    assert delivery is not None and (delivery.job_id, delivery.outcome) == (
        first.job_id,
        "duplicate",
    )
    assert queue.depth()[JobState.QUEUED] == 1


def test_review_comment_forces_a_fresh_job(queue: JobQueue) -> None:
    pushed = push(queue, "d-1")
    job = queue.claim("w1", 60.0)
    assert job is not None and queue.complete(job.id, "w1")

    asked = push(queue, "d-2", trigger=comment_trigger(901))
    assert asked.created and asked.job_id != pushed.job_id
    # The same comment seen again under a new delivery id is still that one job.
    assert push(queue, "d-3", trigger=comment_trigger(901)).reason is EnqueueReason.DUPLICATE
    assert push(queue, "d-4", trigger=comment_trigger(902)).created
    # An explicit request is never superseded by a later push.
    push(queue, "d-5", sha=SHA_B)
    assert queue.get(asked.job_id).state is JobState.QUEUED


def test_concurrent_enqueues_of_one_push_make_one_job(db_url: str, clock: Clock) -> None:
    def deliver(worker: int) -> list[EnqueueResult]:
        engine = make_engine(db_url)
        try:
            queue = JobQueue(engine, clock)
            return [push(queue, f"d-{worker}-{i}") for i in range(25)]
        finally:
            engine.dispose()

    setup = make_engine(db_url)
    migrate(setup)
    setup.dispose()
    with ThreadPoolExecutor(4) as pool:
        results = [r for batch in pool.map(deliver, range(4)) for r in batch]
    assert sum(r.created for r in results) == 1
    assert len({r.job_id for r in results}) == 1


# --- supersede --------------------------------------------------------------------------------


def test_new_push_supersedes_queued_older_push(queue: JobQueue) -> None:
    old = push(queue, "d-1", sha=SHA_A)
    other_mode = push(queue, "d-2", sha=SHA_A, mode="deep")
    other_pr = push(queue, "d-3", sha=SHA_A, pr=8)
    new = push(queue, "d-4", sha=SHA_B)

    superseded = queue.get(old.job_id)
    assert superseded.state is JobState.SUPERSEDED
    assert superseded.last_error == f"superseded by job {new.job_id}"
    assert queue.get(other_mode.job_id).state is JobState.QUEUED
    assert queue.get(other_pr.job_id).state is JobState.QUEUED
    assert queue.get(new.job_id).state is JobState.QUEUED


def test_new_push_leaves_a_running_review_alone(queue: JobQueue) -> None:
    old = push(queue, "d-1", sha=SHA_A)
    running = queue.claim("w1", 60.0)
    assert running is not None and running.id == old.job_id
    push(queue, "d-2", sha=SHA_B)
    assert queue.get(old.job_id).state is JobState.RUNNING
    assert queue.complete(old.job_id, "w1")


def test_push_back_to_a_superseded_head_requeues_it(queue: JobQueue) -> None:
    first = push(queue, "d-1", sha=SHA_A)
    second = push(queue, "d-2", sha=SHA_B)
    back = push(queue, "d-3", sha=SHA_A)
    assert back == EnqueueResult(first.job_id, True, EnqueueReason.REQUEUED)
    assert queue.get(first.job_id).state is JobState.QUEUED
    assert queue.get(second.job_id).state is JobState.SUPERSEDED


# --- leases -----------------------------------------------------------------------------------


def test_expired_lease_makes_a_crashed_workers_job_claimable(queue: JobQueue, clock: Clock) -> None:
    job_id = push(queue, "d-1").job_id
    assert queue.claim("crashed", 60.0) is not None
    clock.advance(60)
    assert queue.claim("w2", 60.0) is None  # the lease still holds at its last instant

    clock.advance(1)
    taken = queue.claim("w2", 60.0)
    assert taken is not None and taken.id == job_id
    assert (taken.attempts, taken.lease_owner) == (2, "w2")

    # The first worker comes back from a long pause: it no longer owns anything.
    assert not queue.heartbeat(job_id, "crashed", 60.0)
    assert not queue.complete(job_id, "crashed")
    assert not queue.fail(job_id, "crashed", "boom", retry=True)
    assert queue.get(job_id).lease_owner == "w2"
    assert queue.complete(job_id, "w2")


def test_heartbeat_extends_the_lease(queue: JobQueue, clock: Clock) -> None:
    job_id = push(queue, "d-1").job_id
    assert queue.claim("w1", 60.0) is not None
    clock.advance(50)
    assert queue.heartbeat(job_id, "w1", 60.0)
    clock.advance(50)
    assert queue.claim("w2", 60.0) is None
    clock.advance(11)
    taken = queue.claim("w2", 60.0)
    assert taken is not None and taken.id == job_id


def test_worker_lost_on_the_final_attempt_fails_the_job(queue: JobQueue, clock: Clock) -> None:
    job_id = push(queue, "d-1").job_id
    for _ in range(3):
        assert queue.claim("doomed", 10.0) is not None
        clock.advance(11)
    assert queue.claim("w2", 10.0) is None
    failed = queue.get(job_id)
    assert (failed.state, failed.attempts, failed.last_error) == (
        JobState.FAILED,
        3,
        LOST_LEASE_ERROR,
    )


def test_an_exhausted_lease_is_never_claimed_between_sweeps(queue: JobQueue, clock: Clock) -> None:
    job_id = push(queue, "d-1").job_id
    for _ in range(3):  # the first claim sweeps; the next sweep is SWEEP_EVERY_S later
        assert queue.claim("doomed", 0.5) is not None
        clock.advance(1)
    assert SWEEP_EVERY_S > 3
    assert queue.claim("w2", 0.5) is None  # no sweep yet, and still not runnable
    assert queue.get(job_id).state == JobState.RUNNING
    clock.advance(SWEEP_EVERY_S)
    assert queue.claim("w2", 0.5) is None
    assert queue.get(job_id).state == JobState.FAILED


# --- retries ----------------------------------------------------------------------------------


def test_retries_back_off_then_fail_with_the_reason(queue: JobQueue, clock: Clock) -> None:
    job_id = push(queue, "d-1").job_id
    for attempt, delay in ((1, 10.0), (2, 20.0)):
        job = queue.claim("w1", 60.0)
        assert job is not None and job.attempts == attempt
        assert queue.fail(job_id, "w1", f"HTTP 502 on attempt {attempt}", retry=True)
        retried = queue.get(job_id)
        assert retried.state is JobState.QUEUED
        assert retried.available_at == clock.now + delay
        assert retried.last_error == f"HTTP 502 on attempt {attempt}"
        clock.advance(delay - 1)
        assert queue.claim("w1", 60.0) is None
        clock.advance(1)

    job = queue.claim("w1", 60.0)
    assert job is not None and job.attempts == 3
    assert queue.fail(job_id, "w1", "HTTP 502 on attempt 3", retry=True)
    failed = queue.get(job_id)
    assert (failed.state, failed.last_error) == (JobState.FAILED, "HTTP 502 on attempt 3")
    clock.advance(3600)
    assert queue.claim("w1", 60.0) is None


def test_backoff_is_capped_and_retry_false_fails_at_once(engine: Engine, clock: Clock) -> None:
    queue = JobQueue(engine, clock, max_attempts=5, backoff_base_s=10.0, backoff_max_s=25.0)
    job_id = push(queue, "d-1").job_id
    for _ in range(3):
        clock.advance(100)
        assert queue.claim("w1", 60.0) is not None
        assert queue.fail(job_id, "w1", "timeout", retry=True)
    assert queue.get(job_id).available_at == clock.now + 25.0  # 10 * 2**2 = 40, capped

    clock.advance(100)
    assert queue.claim("w1", 60.0) is not None
    assert queue.fail(job_id, "w1", "422: the diff is too large", retry=False)
    failed = queue.get(job_id)
    assert (failed.state, failed.attempts) == (JobState.FAILED, 4)


# --- fairness ---------------------------------------------------------------------------------


def test_per_tenant_running_limit(queue: JobQueue, clock: Clock) -> None:
    a1, a2, a3 = (push(queue, f"d-a{pr}", pr=pr, tenant="A").job_id for pr in (1, 2, 3))
    b1 = push(queue, "d-b1", pr=4, tenant="B").job_id

    def claim() -> int | None:
        job = queue.claim("w", 60.0, max_running_per_tenant=2)
        return None if job is None else job.id

    assert [claim(), claim(), claim(), claim()] == [a1, a2, b1, None]
    assert queue.complete(a1, "w")
    assert claim() == a3
    # A lease that has expired no longer counts against its tenant.
    clock.advance(61)
    assert claim() == a2


# --- concurrency ------------------------------------------------------------------------------


def _fill(db_url: str, count: int) -> list[int]:
    engine = make_engine(db_url)
    try:
        migrate(engine)
        queue = JobQueue(engine, Clock())
        return [push(queue, f"d-{i}", pr=i).job_id for i in range(count)]
    finally:
        engine.dispose()


def test_threads_never_claim_the_same_job(db_url: str) -> None:
    job_ids = _fill(db_url, 200)
    start = threading.Barrier(4)

    def work(worker: int) -> list[int]:
        engine = make_engine(db_url)
        try:
            queue = JobQueue(engine)
            owner = f"thread-{worker}"
            claimed = []
            start.wait()
            while (job := queue.claim(owner, 60.0)) is not None:
                claimed.append(job.id)
                time.sleep(0.005)  # the review itself: lets the others in between claims
                assert queue.complete(job.id, owner)
            return claimed
        finally:
            engine.dispose()

    with ThreadPoolExecutor(4) as pool:
        per_thread = list(pool.map(work, range(4)))
    claimed = [job_id for ids in per_thread for job_id in ids]
    assert sorted(claimed) == job_ids
    # Proof that they really competed: SQLite's lock is not fair, so not necessarily all four.
    assert sum(bool(ids) for ids in per_thread) >= 2, [len(ids) for ids in per_thread]
    _assert_each_ran_once(db_url)


# Children import what they need and connect, line up on files in a barrier folder, then all
# start at the same moment. Each runs `body` with URL, OWNER and `engine` set and writes its
# answer to stdout.
_PREAMBLE = """
import json, sys, time
from pathlib import Path

import alembic.command
from app.store.db import current_revision, make_engine, migrate
from app.store.queue import JobQueue

URL, OWNER, barrier = sys.argv[1], sys.argv[2], Path(sys.argv[3])
engine = make_engine(URL)
engine.connect().close()
(barrier / OWNER).touch()
deadline = time.monotonic() + 30
while not (barrier / "go").exists():
    if time.monotonic() > deadline:
        sys.exit("no start signal")
    time.sleep(0.002)
"""


def _together(body: str, db_url: str, owners: list[str], tmp_path: Path) -> list[str]:
    """Run `body` in one child process per owner, all at once; their outputs, in order."""
    barrier = tmp_path / f"barrier-{time.monotonic_ns()}"
    barrier.mkdir()
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _PREAMBLE + body, db_url, owner, str(barrier)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for owner in owners
    ]
    try:
        deadline = time.monotonic() + 30
        while not all((barrier / owner).exists() for owner in owners):
            assert all(child.poll() is None for child in children), "a child died early"
            assert time.monotonic() < deadline, "children never got ready"
            time.sleep(0.01)
        (barrier / "go").touch()
        outputs = [child.communicate(timeout=60) for child in children]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.communicate()
    for child, (_, err) in zip(children, outputs, strict=True):
        assert child.returncode == 0, err
    return [out for out, _ in outputs]


# Each child claims until the queue is empty and writes the ids it took as JSON.
_CLAIMER_LOOP = """
queue = JobQueue(engine)
claimed = []
while (job := queue.claim(OWNER, 60.0)) is not None:
    claimed.append(job.id)
    time.sleep(0.005)
    if not queue.complete(job.id, OWNER):
        sys.exit(f"lost job {job.id}")
engine.dispose()
sys.stdout.write(json.dumps(claimed))
"""


def test_processes_never_claim_the_same_job(db_url: str, tmp_path: Path) -> None:
    job_ids = _fill(db_url, 200)
    outputs = _together(_CLAIMER_LOOP, db_url, [f"process-{n}" for n in range(3)], tmp_path)
    per_process = [json.loads(out) for out in outputs]
    assert sorted(job_id for ids in per_process for job_id in ids) == job_ids
    assert sum(bool(ids) for ids in per_process) >= 2, [len(ids) for ids in per_process]
    _assert_each_ran_once(db_url)


def _assert_each_ran_once(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT state, attempts, count(*) FROM jobs GROUP BY state, attempts")
            ).all()
        assert [tuple(row) for row in rows] == [("done", 1, 200)]
    finally:
        engine.dispose()


# --- contract under concurrency: many connections, one database -----------------------------


def _at_once(db_url: str, count: int, act: Callable[[JobQueue, int], object]) -> list[object]:
    """Run `act(queue, i)` in `count` threads at the same moment, each on its own engine."""
    start = threading.Barrier(count)

    def run(i: int) -> object:
        engine = make_engine(db_url)
        try:
            queue = JobQueue(engine, Clock())
            engine.connect().close()  # connected before the start, so that they really overlap
            start.wait()
            return act(queue, i)
        finally:
            engine.dispose()

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def test_running_limit_holds_for_concurrent_claimers(engine: Engine, db_url: str) -> None:
    queue = JobQueue(engine, Clock())
    tenant_of = {push(queue, f"d-a{pr}", pr=pr, tenant="A").job_id: "A" for pr in range(6)}
    tenant_of |= {push(queue, f"d-b{pr}", pr=pr, tenant="B").job_id: "B" for pr in range(6, 9)}

    def claim(q: JobQueue, i: int) -> int | None:
        job = q.claim(f"w{i}", 60.0, max_running_per_tenant=2)
        return None if job is None else job.id

    claimed = [job_id for job_id in _at_once(db_url, 8, claim) if isinstance(job_id, int)]
    assert len(set(claimed)) == len(claimed)
    assert sorted(tenant_of[job_id] for job_id in claimed) == ["A", "A", "B", "B"]
    assert queue.depth()[JobState.RUNNING] == 4


def test_concurrent_pushes_of_new_heads_leave_one_queued(engine: Engine, db_url: str) -> None:
    heads = [f"{i:040x}" for i in range(6)]
    results = _at_once(db_url, 6, lambda q, i: push(q, f"d-{i}", sha=heads[i]))
    assert all(isinstance(r, EnqueueResult) and r.created for r in results)
    # Whichever committed last is the head; every other push's job was superseded.
    with engine.connect() as conn:
        states = sorted(conn.execute(sa.select(jobs.c.state)).scalars())
    assert states == ["queued"] + ["superseded"] * 5


def test_one_delivery_on_many_connections_at_once_is_one_job(engine: Engine, db_url: str) -> None:
    results = _at_once(db_url, 6, lambda q, _: push(q, "d-same"))
    reasons = sorted(r.reason for r in results if isinstance(r, EnqueueResult))
    assert reasons == [EnqueueReason.CREATED] + [EnqueueReason.REDELIVERY] * 5
    assert len({r.job_id for r in results if isinstance(r, EnqueueResult)}) == 1
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(deliveries)).scalar() == 1


# A worker process that claims one job on the real clock, says which, and waits to be killed.
_CLAIMER = """
import sys, time
from app.store.db import make_engine
from app.store.queue import JobQueue

job = JobQueue(make_engine(sys.argv[1])).claim("doomed", float(sys.argv[2]))
sys.stdout.write(f"{job.id if job else 0}\\n")
sys.stdout.flush()
time.sleep(120)
"""


def test_a_killed_worker_is_replaced_after_its_lease(engine: Engine, db_url: str) -> None:
    lease_s = 2.5
    job_id = push(JobQueue(engine, Clock()), "d-1").job_id
    child = subprocess.Popen(
        [sys.executable, "-c", _CLAIMER, db_url, str(lease_s)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == str(job_id), child.stderr
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.communicate(timeout=10)
    killed = time.time()
    queue = JobQueue(engine)  # the real clock, as the child's
    assert queue.claim("w2", 60.0) is None  # the dead worker's lease still holds
    deadline = killed + lease_s + 5
    while (taken := queue.claim("w2", 60.0)) is None:
        assert time.time() < deadline, "the job was never taken over"
        time.sleep(0.1)
    assert (taken.id, taken.attempts, taken.lease_owner) == (job_id, 2, "w2")
    assert time.time() - killed >= lease_s - 1.0  # not before its lease ran out
    assert not queue.complete(job_id, "doomed")
    assert queue.complete(job_id, "w2")


def test_an_unwritable_database_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the database's folder should be")
    with pytest.raises(ConfigError, match="TIERED_REVIEW_DB: cannot open sqlite:///"):
        open_database(str(blocker / "q.db"))
