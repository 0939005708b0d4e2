"""The worker pool: claims jobs from the durable queue, runs them, keeps their leases alive.

Each job runs on its own event loop in a thread, so a review's blocking GitHub calls never hold
up the server's loop (and so the webhook's 10-second answer). A job is only marked done after it
finished; a process killed in between leaves a lease that expires, and the job runs again, where
the review's job marker stops a second post.
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


class QueueLike(Protocol):
    """The part of the job queue the workers use."""

    def claim(
        self, owner: str, lease_s: float, *, max_running_per_tenant: int | None = None
    ) -> Any: ...

    def heartbeat(self, job_id: int, owner: str, lease_s: float) -> bool: ...

    def complete(self, job_id: int, owner: str) -> Any: ...

    def fail(self, job_id: int, owner: str, error: str, *, retry: bool) -> Any: ...


@dataclass(frozen=True, slots=True)
class PoolOptions:
    """How many jobs run at once, per installation, and how long a lease lasts."""

    workers: int = 4
    per_tenant: int = 2
    lease_s: float = 300.0
    poll_s: float = 0.5


async def run_pool(
    queue: QueueLike,
    handle: Callable[[Any], Coroutine[Any, Any, str]],
    owner: str,
    options: PoolOptions,
    stop: asyncio.Event,
    on_done: Callable[[Any, str, float], None] | None = None,
) -> None:
    """Run `options.workers` workers until `stop` is set.

    Jobs run in a pool of their own: on the loop's default executor they would hold its few
    threads for minutes, and the webhook's short database calls would queue behind them.
    """
    with ThreadPoolExecutor(options.workers, thread_name_prefix="job") as jobs:
        await asyncio.gather(
            *(
                _worker(queue, handle, f"{owner}/{i}", options, stop, on_done, jobs)
                for i in range(options.workers)
            )
        )


async def _worker(
    queue: QueueLike,
    handle: Callable[[Any], Coroutine[Any, Any, str]],
    owner: str,
    options: PoolOptions,
    stop: asyncio.Event,
    on_done: Callable[[Any, str, float], None] | None,
    jobs: ThreadPoolExecutor,
) -> None:
    while not stop.is_set():
        job = await asyncio.to_thread(
            queue.claim, owner, options.lease_s, max_running_per_tenant=options.per_tenant
        )
        if job is None:
            try:
                await asyncio.wait_for(stop.wait(), options.poll_s)
            except TimeoutError:
                pass
            continue
        await _run_one(queue, handle, owner, options, job, on_done, jobs)


async def _run_one(
    queue: QueueLike,
    handle: Callable[[Any], Coroutine[Any, Any, str]],
    owner: str,
    options: PoolOptions,
    job: Any,
    on_done: Callable[[Any, str, float], None] | None,
    jobs: ThreadPoolExecutor,
) -> None:
    started = time.perf_counter()
    beat = asyncio.create_task(_heartbeat(queue, job.id, owner, options.lease_s))
    with log_context(job_id=job.id, repository=job.repository, pr=job.pr_number):
        outcome: str
        try:
            loop = asyncio.get_running_loop()
            outcome = await loop.run_in_executor(jobs, asyncio.run, handle(job))
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
