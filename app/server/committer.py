"""The web edge's group commit: deliveries that arrive together are committed together.

An ack must wait until its job is durably stored, and on SQLite that is an fsync per commit
(2-3 ms on a shared disk) under the database's one write lock; one commit per delivery made
the acks queue behind each other. Here one writer thread commits, in one transaction, every
job that arrived while the previous commit ran, and each delivery's 202 still waits for the
commit that holds its job (`JobQueue.enqueue_batch`).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from app.store.queue import EnqueueResult, NewJob

MAX_BATCH = 64  # bounds one transaction's work, and so the wait of the first in line


class BatchQueue(Protocol):
    """The part of the job queue the committer uses."""

    def enqueue_batch(self, batch: list[NewJob]) -> list[EnqueueResult | Exception]: ...


class GroupCommitter:
    """Hands jobs to one writer thread in batches; used from one event loop."""

    def __init__(self, queue: BatchQueue) -> None:
        self._queue = queue
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="enqueue")
        self._pending: list[tuple[NewJob, asyncio.Future[EnqueueResult]]] = []
        self._flushing: asyncio.Task[None] | None = None

    async def enqueue(self, job: NewJob) -> EnqueueResult:
        """Commit `job` (with whatever else is waiting) and return what the queue made of it."""
        future: asyncio.Future[EnqueueResult] = asyncio.get_running_loop().create_future()
        self._pending.append((job, future))
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending:
            batch = self._pending[:MAX_BATCH]
            del self._pending[:MAX_BATCH]
            jobs = [job for job, _ in batch]
            try:
                results = await loop.run_in_executor(self._writer, self._queue.enqueue_batch, jobs)
            except Exception as exc:  # the batch call itself broke: every waiter hears of it
                results = [exc] * len(batch)
            for (_, future), result in zip(batch, results, strict=True):
                if future.done():  # its request went away; the job is stored all the same
                    continue
                if isinstance(result, Exception):
                    future.set_exception(result)
                else:
                    future.set_result(result)
