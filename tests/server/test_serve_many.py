"""Several `serve` processes on one database share the work: one job, one review, and metrics
that are right per process.

Each test runs on a SQLite file and on PostgreSQL (`db_url`, see tests/dbs.py), with real
`tiered-review serve` child processes against the loopback fakes of GitHub and Anthropic.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.store.db import make_engine, migrate
from app.store.ledger_read import read_ledgers
from app.store.queue import JobQueue, JobState
from tests.fakes import FakeLLM, anthropic_fake
from tests.review.test_engine import reviewer
from tests.serve_process import ServeProcess, sign
from tests.server.test_http import NUMBER, OWNER, REPO, SECRET, open_fixture_pr, payload

LEASE_S = 2.0


@dataclass
class Fleet:
    """Two App processes on one database, the fakes behind them, and the queue they share."""

    a: ServeProcess
    b: ServeProcess
    gh: Any
    llm: FakeLLM
    queue: JobQueue
    db_url: str

    @property
    def servers(self) -> tuple[ServeProcess, ServeProcess]:
        return (self.a, self.b)


@pytest.fixture
def fleet(db_url: str, tmp_path: Path, counter: object) -> Iterator[Fleet]:
    from tests.fakes.github_fake import github_fake

    with github_fake() as (gh_url, gh), anthropic_fake(responder=reviewer) as (llm_url, llm):
        open_fixture_pr(gh)
        env = {
            **os.environ,
            "GITHUB_TOKEN": "ghs_test",
            "GITHUB_API_URL": gh_url,
            "GITHUB_WEBHOOK_SECRET": SECRET.decode(),
            "TIERED_REVIEW_DB": db_url,
            "ANTHROPIC_API_KEY": "k",
            "ANTHROPIC_BASE_URL": llm_url,
            "TIERED_REVIEW_GITHUB_THROTTLE": "false",
            "TIERED_REVIEW_LLM_MAX_RETRIES": "0",
            "TIERED_REVIEW_LEASE_S": str(LEASE_S),
            "TIERED_REVIEW_WORKERS": "1",
        }
        a, b = ServeProcess(env, tmp_path), ServeProcess(env, tmp_path)
        engine = make_engine(db_url)
        try:
            migrate(engine)
            yield Fleet(a, b, gh, llm, JobQueue(engine), db_url)
        finally:
            a.stop()
            b.stop()
            engine.dispose()


def _deliver(server: ServeProcess, delivery: str) -> dict[str, Any]:
    raw = json.dumps(payload("pull_request.opened.json")).encode()
    response = httpx2.post(
        f"{server.url}/webhook",
        content=raw,
        timeout=10,
        headers={
            "X-GitHub-Event": "pull_request",
            "X-GitHub-Delivery": delivery,
            "X-Hub-Signature-256": sign(raw, SECRET),
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 202, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _wait(queue: JobQueue, job_id: int, state: JobState, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while str(queue.get(job_id).state) != state:
        job = queue.get(job_id)
        assert time.monotonic() < deadline, f"job {job_id}: {job.state} {job.last_error}"
        time.sleep(0.05)


def _metric(server: ServeProcess, name: str, **labels: str) -> float:
    """The sum of the `/metrics` samples named `name` with these labels (0 when none)."""
    text = httpx2.get(f"{server.url}/metrics", timeout=10).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    )


def test_a_redelivery_to_another_process_is_the_same_job_and_one_review(fleet: Fleet) -> None:
    fleet.a.launch()
    fleet.b.launch()
    fleet.a.wait_healthy()
    fleet.b.wait_healthy()
    fleet.llm.latency = 0.3  # the redeliveries arrive while the review is running
    first = _deliver(fleet.a, "d-1")
    again = _deliver(fleet.b, "d-1")  # GitHub's redelivery keeps the id; the balancer picks B
    same_push = _deliver(fleet.b, "d-2")  # a second delivery of the same push
    job = first["job_id"]
    assert first == {"job_id": job, "created": True, "reason": "created"}
    assert again == {"job_id": job, "created": False, "reason": "redelivery"}
    assert same_push == {"job_id": job, "created": False, "reason": "duplicate"}
    _wait(fleet.queue, job, JobState.DONE)
    assert len(fleet.gh.reviews(OWNER, REPO, NUMBER)) == 1
    assert len(fleet.gh.issue_comments(OWNER, REPO, NUMBER)) == 1
    assert fleet.queue.get(job).attempts == 1
    # The ledger has the one review and its requests, on this engine too.
    ledger = read_ledgers([fleet.db_url])
    assert [(r.source, r.repository, r.pr_number) for r in ledger.reviews] == [
        ("serve", f"{OWNER}/{REPO}", NUMBER)
    ]
    assert ledger.requests and all(q.review_uid == ledger.reviews[0].uid for q in ledger.requests)

    # Counters are per process: each counts what it saw, and they add up across the fleet.
    delivered = "tiered_review_deliveries_total"
    assert _metric(fleet.a, delivered, event="pull_request", outcome="queued") == 1
    assert _metric(fleet.a, delivered, event="pull_request", outcome="redelivery") == 0
    assert _metric(fleet.b, delivered, event="pull_request", outcome="redelivery") == 1
    assert _metric(fleet.b, delivered, event="pull_request", outcome="duplicate") == 1
    ran = [_metric(s, "tiered_review_job_seconds_count", outcome="done") for s in fleet.servers]
    assert sorted(ran) == [0, 1]  # one process ran it, the other did not
    # The queue depth is read from the database: every process reports the same, shared figure.
    for server in fleet.servers:
        assert _metric(server, "tiered_review_queue_depth", state="done") == 1
        assert _metric(server, "tiered_review_queue_depth", state="queued") == 0


def test_a_process_killed_mid_job_is_replaced_by_another_after_its_lease(fleet: Fleet) -> None:
    # A is still waiting for the model when it dies, however slowly B starts on a loaded machine:
    # the kill cuts the wait short, so a longer latency costs little.
    fleet.llm.latency = 12.0
    fleet.a.start()  # alone, so A is the one that claims the job
    job = _deliver(fleet.a, "d-kill")["job_id"]
    _wait(fleet.queue, job, JobState.RUNNING)
    fleet.b.start()  # B polls meanwhile, but A's lease is alive and heartbeating
    assert str(fleet.queue.get(job).state) == "running"
    assert fleet.queue.get(job).attempts == 1
    assert fleet.gh.reviews(OWNER, REPO, NUMBER) == []  # mid-job: nothing posted yet
    owner = fleet.queue.get(job).lease_owner
    fleet.a.kill()
    killed = time.monotonic()
    fleet.llm.latency = 0.0
    _wait(fleet.queue, job, JobState.DONE)
    taken = fleet.queue.get(job)
    assert taken.attempts == 2 and taken.lease_owner != owner
    assert time.monotonic() - killed >= LEASE_S * 0.5  # B waited for the lease to run out
    assert len(fleet.gh.reviews(OWNER, REPO, NUMBER)) == 1
    assert len(fleet.gh.issue_comments(OWNER, REPO, NUMBER)) == 1
