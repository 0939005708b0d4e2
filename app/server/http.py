"""The GitHub App's web edge: verified webhooks in, jobs committed to the queue, 202 out.

Nothing slow happens here: the signature is checked over the raw bytes, the delivery is
classified, and the job row is committed before the answer, inside GitHub's 10-second budget.
Workers (`worker.py`) do the reviews, in this process or in others (`serve --role`); every
process answers `/healthz`, `/readyz` and `/metrics`, and only the web edge `/webhook`.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from app.errors import WebhookError
from app.gh.decision import JobDecision, ReviewDecision
from app.gh.webhooks import SkipRules, classify, parse_json, verify_signature
from app.server.committer import GroupCommitter
from app.server.edge import BodyProblem, EdgeLimits, event_label, read_body
from app.server.job_spec import JobSpec
from app.server.logs import log_context
from app.server.metrics import Metrics
from app.server.readiness import Readiness
from app.server.worker import PoolOptions, run_pool
from app.store.queue import JobQueue, NewJob

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ServerParts:
    """What the app is built from; constructed once at the edge."""

    secret: bytes
    queue: JobQueue
    rules: SkipRules
    handle: Callable[[Any], Coroutine[Any, Any, str]]
    metrics: Metrics
    pool: PoolOptions
    run_workers: bool = True
    health: Callable[[], bool] = lambda: True
    accept_webhooks: bool = True
    role: str = "all"
    ready: Callable[[], Readiness] = lambda: Readiness({})
    limits: EdgeLimits = EdgeLimits()


def create_app(parts: ServerParts) -> FastAPI:
    """The FastAPI app: `POST /webhook` (web edge), `GET /healthz`, `/readyz`, `/metrics`."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        owner = f"serve-{uuid.uuid4().hex[:8]}"
        task = None
        if parts.run_workers:
            task = asyncio.create_task(
                run_pool(
                    parts.queue, parts.handle, owner, parts.pool, stop, _observer(parts.metrics)
                )
            )
        try:
            yield
        finally:
            stop.set()
            if task is not None:
                await task

    app = FastAPI(title="tiered-review", lifespan=lifespan)
    parts.metrics.role.labels(parts.role).set(1)
    if parts.accept_webhooks:
        # One thread commits webhook jobs, in batches: see committer.py.
        writer = GroupCommitter(parts.queue)

        @app.post("/webhook")
        async def webhook(request: Request) -> Response:
            event = request.headers.get("x-github-event", "")
            delivery = request.headers.get("x-github-delivery") or f"local-{uuid.uuid4()}"
            with log_context(delivery_id=delivery, event=event):
                return await _webhook(parts, request, event, delivery, writer)

    @app.get("/healthz")
    async def healthz() -> Response:
        try:
            ok = await asyncio.to_thread(parts.health)
            depth = await asyncio.to_thread(parts.queue.depth)
        except Exception as exc:  # the database is down: say so, do not crash
            log.warning("health check failed: %s", exc)
            return JSONResponse({"status": "error", "error": type(exc).__name__}, 503)
        return JSONResponse({"status": "ok" if ok else "error", "queue": depth}, 200 if ok else 503)

    @app.get("/readyz")
    async def readyz() -> Response:
        # Readiness, not liveness: 503 while the App cannot work (database, key, token mint).
        state = await asyncio.to_thread(parts.ready)
        body = {"status": "ready" if state.ready else "not ready", "checks": state.checks}
        return JSONResponse(body, 200 if state.ready else 503)

    @app.get("/metrics")
    async def metrics() -> Response:
        depth = await asyncio.to_thread(parts.queue.depth)
        for state, count in depth.items():
            parts.metrics.queue_depth.labels(str(state)).set(count)
        return Response(parts.metrics.render(), media_type="text/plain; version=0.0.4")

    return app


async def _webhook(
    parts: ServerParts, request: Request, event: str, delivery: str, writer: GroupCommitter
) -> Response:
    body = await read_body(request, parts.limits)
    if body is BodyProblem.TOO_LARGE:
        return _answer(parts, event, body, 413, "payload over 25 MB")
    if isinstance(body, BodyProblem):  # too slow (408), or the client is gone (never read)
        return _answer(parts, event, body, 408, "the body did not arrive in time")
    if not verify_signature(parts.secret, body, request.headers.get("x-hub-signature-256")):
        return _answer(parts, event, "bad_signature", 401, "invalid or missing signature")
    try:
        decision = classify(event, parse_json(body), parts.rules)
    except WebhookError as exc:
        return _answer(parts, event, "bad_payload", 400, str(exc))
    if not isinstance(decision, JobDecision):
        log.info("delivery %s: %s (%s)", delivery, decision.kind, decision.reason)
        return _answer(parts, event, decision.kind, 200, decision.reason)
    spec = JobSpec.from_decision(decision)
    job = NewJob(
        delivery_id=delivery,
        event=event,
        kind=spec.kind.value,
        tenant=spec.tenant,
        repository=spec.repository,
        pr_number=spec.pr_number,
        head_sha=decision.head_sha if isinstance(decision, ReviewDecision) else "",
        mode=spec.mode.value,
        trigger=str(spec.trigger),
        payload=spec.to_json(),
    )
    result = await writer.enqueue(job)
    outcome = "queued" if result.created else result.reason
    parts.metrics.deliveries.labels(event_label(event), outcome).inc()
    with log_context(repository=spec.repository, pr=spec.pr_number):
        log.info("delivery %s: job %s %s", delivery, result.job_id, outcome)
    return JSONResponse(
        {"job_id": result.job_id, "created": result.created, "reason": result.reason}, 202
    )


def _answer(parts: ServerParts, event: str, outcome: str, status: int, message: str) -> Response:
    parts.metrics.deliveries.labels(event_label(event), outcome).inc()
    # A body left unread (too large, too slow) would otherwise be drained: close instead.
    close = {"Connection": "close"} if status in (408, 413) else None
    return JSONResponse({"outcome": outcome, "message": message}, status, headers=close)


def _observer(metrics: Metrics) -> Callable[[Any, str, float], None]:
    def observe(job: Any, outcome: str, seconds: float) -> None:
        result = "failed" if outcome == "failed" else "done"
        metrics.job_seconds.labels(getattr(job, "kind", "review"), result).observe(seconds)

    return observe
