"""The App service assembled from settings: `serve` runs it, `replay` feeds it one saved payload."""

from __future__ import annotations

import asyncio
import enum
import gc
import importlib.util
import json
import logging
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.engine import Engine

from app.errors import TieredReviewError, WebhookError
from app.gh.app_auth import InstallationTokens
from app.gh.client import GitHubClient
from app.gh.decision import JobDecision
from app.gh.webhooks import classify, parse_json
from app.plan.tokens import load_counter
from app.providers.registry import available, build_provider
from app.resources import default_config_data, load_prompts
from app.server.edge import EdgeLimits, edge_protocol
from app.server.http import ServerParts, create_app
from app.server.job_spec import JobSpec
from app.server.jobs import JobRunner, skip_rules
from app.server.logs import configure_json_logging
from app.server.metrics import Metrics
from app.server.readiness import NO_CREDENTIALS, app_private_key, readiness, require_credentials
from app.server.worker import PoolOptions
from app.settings import Settings
from app.store.db import open_database
from app.store.queue import JobQueue

log = logging.getLogger(__name__)


class Role(enum.StrEnum):
    """What a `serve` process does: everything, only the web edge, or only the workers."""

    ALL = "all"  # one process: webhooks in, reviews out (the default)
    WEB = "web"  # verifies, enqueues and answers; runs no job
    WORKER = "worker"  # claims and runs jobs; answers only /healthz, /readyz and /metrics


def client_factory(settings: Settings) -> tuple[Any, InstallationTokens | None]:
    """A GitHub client per job: an installation token for the App, else GITHUB_TOKEN."""
    tokens: InstallationTokens | None = None
    key = app_private_key(settings)
    if settings.github_app_id is not None and key:
        tokens = InstallationTokens(settings.github_app_id, key, settings.github_api_url)

    def client_for(installation_id: int | None) -> GitHubClient:
        if tokens is not None and installation_id is not None:
            token = tokens.token(installation_id)
        elif settings.github_token is not None:
            token = settings.github_token.get_secret_value()
        else:
            raise TieredReviewError(NO_CREDENTIALS)
        return GitHubClient(token, settings.github_api_url, throttle=settings.github_throttle)

    return client_for, tokens


def runner(
    settings: Settings, ledger: Engine, metrics: Metrics | None = None
) -> tuple[JobRunner, InstallationTokens | None]:
    """The job runner with the token counter and GitHub clients the settings allow.

    Also the App's installation tokens (None with a plain GITHUB_TOKEN), for `/readyz`.
    """
    counter, _ = load_counter()
    client_for, tokens = client_factory(settings)
    return JobRunner(settings, client_for, counter, metrics, ledger=ledger), tokens


def warm_up(settings: Settings) -> None:
    """Pay a worker's one-off costs before it claims a job, not inside its first jobs.

    Importing the model SDKs, building the shared TLS context and reading the prompts cost
    about two seconds of CPU (bench/scale.py's profile); paid lazily, every worker process paid
    them inside the measured run, in the first jobs' threads at once. Clients built here are
    dropped: each job builds its own, on its own event loop.
    """
    load_prompts()
    default_config_data()
    for name in sorted(available(settings)):
        build_provider(name, settings)


def pool_options(settings: Settings) -> PoolOptions:
    """Worker counts and lease length from the settings."""
    return PoolOptions(
        workers=settings.workers,
        per_tenant=settings.per_installation,
        lease_s=settings.lease_s,
        drain_s=settings.drain_s,
    )


def edge_limits(settings: Settings) -> EdgeLimits:
    """The web edge's bounds from the settings."""
    return EdgeLimits(
        header_timeout_s=settings.header_timeout_s,
        body_timeout_s=settings.body_timeout_s,
        connections_per_client=settings.connections_per_client,
    )


def replay(settings: Settings, path: Path, event: str) -> str:
    """Run the webhook handler on a saved payload, then the job it asks for, without a server."""
    try:
        body = path.read_bytes()
    except OSError as exc:
        raise TieredReviewError(f"{path}: cannot read payload: {exc.strerror}") from exc
    try:
        decision = classify(event, parse_json(body), skip_rules(settings))
    except WebhookError as exc:
        raise TieredReviewError(f"{path}: {exc}") from exc
    if not isinstance(decision, JobDecision):
        return json.dumps({"action": decision.kind, "reason": decision.reason})
    spec = JobSpec.from_decision(decision)
    job_runner, _tokens = runner(settings, open_database(settings.database))
    outcome = asyncio.run(job_runner.run(spec))
    return json.dumps({"action": decision.kind, "reason": decision.reason, "outcome": outcome})


def build_server(settings: Settings, *, role: Role = Role.ALL) -> tuple[FastAPI, Engine]:
    """The App, or its `role` part: verified webhooks into the queue, workers running jobs."""
    if settings.github_webhook_secret is None and role is not Role.WORKER:
        raise TieredReviewError(
            "GITHUB_WEBHOOK_SECRET is required: refusing to accept unsigned webhooks"
        )
    secret = settings.github_webhook_secret
    engine = open_database(settings.database)
    queue = JobQueue(engine, max_attempts=settings.max_attempts)
    metrics = Metrics()
    job_runner, tokens = runner(settings, engine, metrics)
    if role is not Role.WEB:
        warm_up(settings)

    def handle(job: Any) -> Coroutine[Any, Any, str]:
        return job_runner.run(JobSpec.from_payload(job.payload))

    def healthy() -> bool:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return True

    parts = ServerParts(
        secret=secret.get_secret_value().encode() if secret is not None else b"",
        queue=queue,
        rules=skip_rules(settings),
        handle=handle,
        metrics=metrics,
        pool=pool_options(settings),
        run_workers=role is not Role.WEB,
        health=healthy,
        accept_webhooks=role is not Role.WORKER,
        role=role.value,
        ready=lambda: readiness(engine, tokens),
        limits=edge_limits(settings),
    )
    return create_app(parts), engine


def serve(settings: Settings, host: str, port: int, role: Role = Role.ALL) -> None:
    """Run the App (or its `role` part) under uvicorn until stopped.

    It exits 2 first, with one line, without usable GitHub credentials (`require_credentials`).
    uvicorn picks uvloop and httptools when they are installed (the `fast` extra), else
    asyncio and h11; both work, the first pair answers webhooks with less CPU.
    """
    import uvicorn

    require_credentials(settings)
    configure_json_logging()
    app, engine = build_server(settings, role=role)
    fast = {name: importlib.util.find_spec(name) is not None for name in ("uvloop", "httptools")}
    log.info(
        "serving role=%s on %s:%d (loop %s, http %s)",
        role.value,
        host,
        port,
        "uvloop" if fast["uvloop"] else "asyncio",
        "httptools" if fast["httptools"] else "h11",
    )
    # Everything imported so far lives as long as the process: keep it out of the collector's
    # full passes, which otherwise stall every in-flight webhook for 80-170 ms (measured).
    gc.freeze()
    try:
        uvicorn.run(
            app,
            host=host,
            port=port,
            loop="auto",
            log_config=None,
            access_log=False,
            # h11 with the edge's bounds ("auto" is h11 too: httptools is not installed).
            http=edge_protocol(edge_limits(settings)),
        )
    finally:
        engine.dispose()
