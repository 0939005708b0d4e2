"""The App survives SIGKILL: a job acknowledged, or half done, ends with exactly one review."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from app.store.db import make_engine
from app.store.queue import JobQueue
from tests.conftest import ROOT
from tests.fakes import anthropic_fake
from tests.review.test_engine import reviewer
from tests.serve_process import ServeProcess as Server
from tests.server.test_http import (
    NUMBER,
    OWNER,
    REPO,
    SECRET,
    open_fixture_pr,
    payload,
    sign,
)


@pytest.fixture
def world(tmp_path: Path, counter: object) -> Iterator[tuple[Server, Any, JobQueue]]:
    from tests.fakes.github_fake import github_fake

    with github_fake() as (gh_url, gh), anthropic_fake(responder=reviewer) as (llm_url, _llm):
        open_fixture_pr(gh)
        db = tmp_path / "queue.db"
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "GITHUB_TOKEN": "ghs_test",
            "GITHUB_API_URL": gh_url,
            "GITHUB_WEBHOOK_SECRET": SECRET.decode(),
            "TIERED_REVIEW_DB": str(db),
            "ANTHROPIC_API_KEY": "k",
            "ANTHROPIC_BASE_URL": llm_url,
            "TIERED_REVIEW_GITHUB_THROTTLE": "false",
            "TIERED_REVIEW_LLM_MAX_RETRIES": "0",
            "TIERED_REVIEW_LEASE_S": "2",
            "TIERED_REVIEW_WORKERS": "1",
        }
        server = Server(env)
        engine = make_engine(f"sqlite:///{db}")
        try:
            yield server, gh, JobQueue(engine)
        finally:
            server.stop()
            engine.dispose()


def _deliver(server: Server, delivery: str) -> int:
    raw = json.dumps(payload("pull_request.opened.json")).encode()
    response = httpx2.post(
        f"{server.url}/webhook",
        content=raw,
        timeout=10,
        headers={
            "X-GitHub-Event": "pull_request",
            "X-GitHub-Delivery": delivery,
            "X-Hub-Signature-256": sign(raw),
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 202
    job_id: int = response.json()["job_id"]
    return job_id


def _wait_done(queue: JobQueue, job_id: int, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if str(queue.get(job_id).state) == "done":
            return
        time.sleep(0.2)
    job = queue.get(job_id)
    raise AssertionError(f"job {job_id}: {job.state} {job.last_error}")


def test_killed_right_after_the_202(world: tuple[Server, Any, JobQueue]) -> None:
    server, gh, queue = world
    server.start()
    job = _deliver(server, "crash-1")
    server.kill()  # the job row was committed before the answer
    server.start()
    _wait_done(queue, job)
    assert len(gh.reviews(OWNER, REPO, NUMBER)) == 1
    assert len(gh.issue_comments(OWNER, REPO, NUMBER)) == 1


def test_killed_after_the_review_post_before_the_job_is_done(
    world: tuple[Server, Any, JobQueue],
) -> None:
    server, gh, queue = world
    # The sticky comment's POST fails for a while, so the job is still running (backing off)
    # after its review landed: the kill falls in that window.
    gh.fail_next("POST", r"/issues/\d+/comments$", status=502, apply=False, times=3)
    server.start()
    job = _deliver(server, "crash-2")
    deadline = time.monotonic() + 60
    while not gh.reviews(OWNER, REPO, NUMBER):
        assert time.monotonic() < deadline, "the review was never posted"
        time.sleep(0.05)
    assert str(queue.get(job).state) == "running"
    server.kill()
    server.start()
    _wait_done(queue, job)  # taken again once the dead process's lease expired
    assert len(gh.reviews(OWNER, REPO, NUMBER)) == 1  # the job marker stopped a second post
    assert len(gh.issue_comments(OWNER, REPO, NUMBER)) == 1
    assert queue.get(job).attempts == 2
