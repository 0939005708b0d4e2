"""The worker pool: claims jobs from the durable queue, runs them, keeps their leases alive.

Each job runs on its own event loop in a thread, so a review's blocking GitHub calls never hold
up the server's loop (and so the webhook's 10-second answer). A job is only marked done after it
finished; a process killed in between leaves a lease that expires, and the job runs again, where
the review's job marker stops a second post.

Stopping is graceful: no new claims, the running jobs get `drain_s` to finish, and those still
running then are cancelled and returned to the queue for another worker.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from app.server.logs import log_context

log = logging.getLogger(__name__)
# After the cancel, how long a job's thread may take to reach its next await and stop.
CANCEL_GRACE_S = 10.0


class QueueLike(Protocol):
    """The part of the job queue the workers use."""

    def claim(
        self, owner: str, lease_s: float, *, max_running_per_tenant: int | None = None
    ) -> Any: ...

    def heartbeat(self, job_id: int, owner: str, lease_s: float) -> bool: ...

    def complete(self, job_id: int, owner: str) -> Any: ...

    def fail(self, job_id: int, owner: str, error: str, *, retry: bool) -> Any: ...

    def release(self, job_id: int, owner: str) -> Any: ...


@dataclass(frozen=True, slots=True)
class PoolOptions:
    """How many jobs run at once, per installation, how long a lease lasts and a drain waits."""

    workers: int = 4
    per_tenant: int = 2
    lease_s: float = 300.0
    poll_s: float = 0.5
    drain_s: float = 25.0


class JobCancelled(Exception):
    """The pool cancelled a running job at shutdown."""


class _Running:
    """A job's own event loop and task, so that the pool can cancel it from another thread."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.task: asyncio.Task[str] | None = None
        self.cancelled = False

    def run(self, job: Coroutine[Any, Any, str]) -> str:
        """Run `job` to its end on a new loop in this thread (the pool's executor calls this)."""

        async def main() -> str:
            if self.cancelled:  # cancelled before its thread started
                job.close()
                raise JobCancelled
            self.task = asyncio.ensure_future(job)
            self.loop = asyncio.get_running_loop()
            try:
                return await self.task
            except asyncio.CancelledError:
                raise JobCancelled from None

        return asyncio.run(main())

    def cancel(self) -> None:
        """Ask the job to stop at its next await; thread-safe."""
        self.cancelled = True
        if self.loop is not None and self.task is not None:
            self.loop.call_soon_threadsafe(self.task.cancel)


async def run_pool(
    queue: QueueLike,
    handle: Callable[[Any], Coroutine[Any, Any, str]],
    owner: str,
    options: PoolOptions,
    stop: asyncio.Event,
    on_done: Callable[[Any, str, float], None] | None = None,
) -> None:
    """Run `options.workers` workers until `stop` is set, then drain (see the module doc).

    Jobs run in a pool of their own: on the loop's default executor they would hold its few
    threads for minutes, and the webhook's short database calls would queue behind them.
    """
    running: dict[int, _Running] = {}
    with ThreadPoolExecutor(options.workers, thread_name_prefix="job") as jobs:
        workers = asyncio.gather(
            *(
                _worker(queue, handle, f"{owner}/{i}", options, stop, on_done, jobs, running)
                for i in range(options.workers)
            )
        )
        await stop.wait()
        try:
            await asyncio.wait_for(asyncio.shield(workers), options.drain_s)
        except TimeoutError:
            log.warning("stopping: %d job(s) still running, returning them", len(running))
            for job in running.values():
                job.cancel()
            try:
                await asyncio.wait_for(workers, CANCEL_GRACE_S)
            except TimeoutError:
                log.error("a job did not stop within %.0f s of its cancel", CANCEL_GRACE_S)


async def _worker(
    queue: QueueLike,
    handle: Callable[[Any], Coroutine[Any, Any, str]],
    owner: str,
    options: PoolOptions,
    stop: asyncio.Event,
    on_done: Callable[[Any, str, float], None] | None,
    jobs: ThreadPoolExecutor,
    running: dict[int, _Running],
) -> None:
    while not stop.is_set():
        job = await asyncio.to_thread(
            queue.claim, owner, options.lease_s, max_running_per_tenant=options.per_tenant
        )
        if job is not None and stop.is_set():  # claimed while stopping: not ours to start
            await asyncio.to_thread(queue.release, job.id, owner)
            return
        if job is None:
            try:
                await asyncio.wait_for(stop.wait(), options.poll_s)
            except TimeoutError:
                pass
            continue
        slot = running[job.id] = _Running()
        try:
            await _run_one(queue, handle, owner, options, job, on_done, jobs, slot)
        finally:
            del running[job.id]


async def _run_one(
    queue: QueueLike,
    handle: Callable[[Any], Coroutine[Any, Any, str]],
    owner: str,
    options: PoolOptions,
    job: Any,
    on_done: Callable[[Any, str, float], None] | None,
    jobs: ThreadPoolExecutor,
    slot: _Running,
) -> None:
    started = time.perf_counter()
    beat = asyncio.create_task(_heartbeat(queue, job.id, owner, options.lease_s))
    with log_context(job_id=job.id, repository=job.repository, pr=job.pr_number):
        outcome: str
        try:
            loop = asyncio.get_running_loop()
            outcome = await loop.run_in_executor(jobs, slot.run, handle(job))
        except JobCancelled:
            # Our own cancel at shutdown (see run_pool): another worker takes the job over.
            await asyncio.to_thread(queue.release, job.id, owner)
            log.info("job %s returned to the queue at shutdown", job.id)
            outcome = "released"
        except Exception as exc:  # a failed job is retried with backoff, then recorded
            log.exception("job %s failed (attempt %s)", job.id, job.attempts)
            await asyncio.to_thread(
                queue.fail, job.id, owner, f"{type(exc).__name__}: {exc}", retry=True
            )
            outcome = "failed"
        else:
            await asyncio.to_thread(queue.complete, job.id, owner)
            log.info("job %s done: %s", job.id, outcome)
        finally:
            beat.cancel()
    if on_done is not None:
        on_done(job, outcome, time.perf_counter() - started)


async def _heartbeat(queue: QueueLike, job_id: int, owner: str, lease_s: float) -> None:
    """Extend the lease at a third of its length while the job runs."""
    while True:
        await asyncio.sleep(lease_s / 3)
        if not await asyncio.to_thread(queue.heartbeat, job_id, owner, lease_s):
            log.warning("job %s: lease lost", job_id)
            return
