"""`serve --role web|worker`: the web edge and the workers as separate processes on one database.

The contracts of the split: a web process with no worker keeps acking while its queue grows;
a worker joining later drains it; each role's `/metrics` counts what that role does; a worker
killed mid-job is replaced after its lease; a worker stopped with SIGTERM returns the job it
could not finish to the queue. Each test runs on a SQLite file and on PostgreSQL (`db_url`),
with real `tiered-review serve` child processes against the loopback fakes.
"""

from __future__ import annotations

import copy
import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx2
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.store.db import make_engine, migrate
from app.store.queue import RELEASED_NOTE, JobQueue, JobState
from tests.conftest import EXAMPLE_DIFF
from tests.fakes import FakeLLM, anthropic_fake
from tests.review.test_engine import reviewer
from tests.review.test_pull_request import pr_files
from tests.serve_process import ServeProcess, sign
from tests.server.test_http import OWNER, REPO, SECRET, payload

LEASE_S = 2.0
FIRST_PR = 10
STOPPED = (0, -signal.SIGTERM)  # uvicorn re-raises the signal it handled once it has stopped


@dataclass
class Site:
    """The fakes, the shared queue, and a factory of `serve` processes of any role."""

    gh: Any
    llm: FakeLLM
    queue: JobQueue
    spawn: Callable[..., ServeProcess]


@pytest.fixture
def site(db_url: str, tmp_path: Path, counter: object) -> Iterator[Site]:
    from tests.fakes.github_fake import github_fake

    with github_fake() as (gh_url, gh), anthropic_fake(responder=reviewer) as (llm_url, llm):
        gh.add_repo(OWNER, REPO)
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
        started: list[ServeProcess] = []

        def spawn(role: str, **extra: str) -> ServeProcess:
            server = ServeProcess({**env, **extra}, tmp_path, role=role)
            started.append(server)
            return server

        engine = make_engine(db_url)
        try:
            migrate(engine)
            yield Site(gh, llm, JobQueue(engine), spawn)
        finally:
            for server in started:
                server.stop()
            engine.dispose()


def open_pr(gh: Any, number: int) -> bytes:
    """Open PR `number` on the fake and return its signed-to-be `pull_request.opened` body."""
    data = copy.deepcopy(payload("pull_request.opened.json"))
    head = f"{number:040x}"
    data["number"] = data["pull_request"]["number"] = number
    data["pull_request"]["head"]["sha"] = head
    gh.open_pr(
        OWNER,
        REPO,
        number,
        title=f"Change {number}",
        body="Hi",
        base_sha="b" * 40,
        head_sha=head,
        files=pr_files(EXAMPLE_DIFF.read_text()),
        user="Codertocat",
    )
    return json.dumps(data).encode()


class Reachable(Protocol):
    """A process's base URL: a ServeProcess, or a Compose service run as a process."""

    @property
    def url(self) -> str: ...


def deliver(server: Reachable, body: bytes, delivery: str) -> dict[str, Any]:
    response = httpx2.post(
        f"{server.url}/webhook",
        content=body,
        timeout=10,
        headers={
            "X-GitHub-Event": "pull_request",
            "X-GitHub-Delivery": delivery,
            "X-Hub-Signature-256": sign(body, SECRET),
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 202, response.text
    answer: dict[str, Any] = response.json()
    return answer


def metric(server: Reachable, name: str, **labels: str) -> float:
    """The sum of `server`'s `/metrics` samples named `name` with these labels (0 when none)."""
    text = httpx2.get(f"{server.url}/metrics", timeout=10).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    )


def wait_state(queue: JobQueue, job_id: int, state: JobState, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while queue.get(job_id).state != state:
        job = queue.get(job_id)
        assert time.monotonic() < deadline, f"job {job_id}: {job.state} {job.last_error}"
        time.sleep(0.05)


def test_a_web_process_without_workers_keeps_acking_and_a_late_worker_drains(site: Site) -> None:
    web = site.spawn("web")
    web.start()
    for probe in ("/healthz", "/readyz"):
        assert httpx2.get(f"{web.url}{probe}", timeout=10).status_code == 200
    jobs = []
    for i in range(4):
        answer = deliver(web, open_pr(site.gh, FIRST_PR + i), f"d-{i}")
        assert answer["created"] is True
        jobs.append(answer["job_id"])
        assert site.queue.depth()[JobState.QUEUED] == i + 1  # the queue grows with each ack
    time.sleep(3 * 0.5)  # three of a worker's poll intervals: nobody takes them
    depth = site.queue.depth()
    assert (depth[JobState.QUEUED], depth[JobState.RUNNING], depth[JobState.DONE]) == (4, 0, 0)
    assert site.gh.reviews(OWNER, REPO, FIRST_PR) == []
    delivered = "tiered_review_deliveries_total"
    assert metric(web, "tiered_review_role", role="web") == 1
    assert metric(web, delivered, event="pull_request", outcome="queued") == 4
    assert metric(web, "tiered_review_queue_depth", state="queued") == 4

    worker = site.spawn("worker")
    worker.start()
    for job in jobs:
        wait_state(site.queue, job, JobState.DONE)
    for i in range(4):
        assert len(site.gh.reviews(OWNER, REPO, FIRST_PR + i)) == 1
    # Each role's /metrics counts its own part: the web the deliveries, the worker the jobs.
    assert metric(worker, "tiered_review_role", role="worker") == 1
    assert metric(worker, "tiered_review_job_seconds_count", outcome="done") == 4
    assert metric(worker, delivered) == 0
    assert metric(web, "tiered_review_job_seconds_count") == 0
    assert metric(web, "tiered_review_role", role="worker") == 0
    for server in (web, worker):  # the depth is the database's, the same from either
        assert metric(server, "tiered_review_queue_depth", state="done") == 4
    assert httpx2.get(f"{worker.url}/readyz", timeout=10).status_code == 200
    # A worker has no webhook route: a delivery sent to it by mistake is refused, not queued.
    refused = httpx2.post(f"{worker.url}/webhook", content=b"{}", timeout=10)
    assert refused.status_code == 404
    assert site.queue.depth()[JobState.DONE] == 4


def test_a_worker_killed_mid_job_is_replaced_after_its_lease(site: Site) -> None:
    web, a, b = site.spawn("web"), site.spawn("worker"), site.spawn("worker")
    web.start()
    a.start()
    # A is still waiting for the model when it dies, however slowly B starts on a loaded machine:
    # the kill cuts the wait short, so a longer latency costs little.
    site.llm.latency = 12.0
    job = deliver(web, open_pr(site.gh, FIRST_PR), "d-kill")["job_id"]
    wait_state(site.queue, job, JobState.RUNNING)
    owner = site.queue.get(job).lease_owner
    b.start()  # B polls meanwhile, but A's lease is alive and heartbeating
    assert site.queue.get(job).state == JobState.RUNNING
    assert site.queue.get(job).lease_owner == owner
    a.kill()
    killed = time.monotonic()
    site.llm.latency = 0.0
    wait_state(site.queue, job, JobState.DONE)
    taken = site.queue.get(job)
    assert taken.attempts == 2 and taken.lease_owner != owner
    assert time.monotonic() - killed >= LEASE_S * 0.5  # B waited for the lease to run out
    assert len(site.gh.reviews(OWNER, REPO, FIRST_PR)) == 1
    assert metric(b, "tiered_review_job_seconds_count", outcome="done") == 1


def test_a_stopped_worker_returns_the_job_it_cannot_finish(site: Site) -> None:
    web = site.spawn("web")
    a = site.spawn("worker", TIERED_REVIEW_DRAIN_S="0.5", TIERED_REVIEW_LEASE_S="300")
    web.start()
    a.start()
    site.llm.latency = 60.0  # far past A's drain time
    job = deliver(web, open_pr(site.gh, FIRST_PR), "d-stop")["job_id"]
    wait_state(site.queue, job, JobState.RUNNING)
    assert a.proc is not None
    a.proc.send_signal(signal.SIGTERM)
    stopped = time.monotonic()
    assert a.proc.wait(30) in STOPPED
    assert time.monotonic() - stopped < 15  # not the 60 s model call, nor the 300 s lease
    back = site.queue.get(job)
    assert (back.state, back.attempts, back.last_error) == (JobState.QUEUED, 0, RELEASED_NOTE)
    assert back.lease_expires_at is None
    assert site.gh.reviews(OWNER, REPO, FIRST_PR) == []

    site.llm.latency = 0.0
    b = site.spawn("worker")
    b.start()  # at once: the job is runnable now, not after a lease
    wait_state(site.queue, job, JobState.DONE, timeout=30)
    assert site.queue.get(job).attempts == 1
    assert len(site.gh.reviews(OWNER, REPO, FIRST_PR)) == 1


def test_a_stopped_worker_first_finishes_a_job_within_its_drain_time(site: Site) -> None:
    web, a = site.spawn("web"), site.spawn("worker", TIERED_REVIEW_DRAIN_S="30")
    web.start()
    a.start()
    site.llm.latency = 1.0
    job = deliver(web, open_pr(site.gh, FIRST_PR), "d-drain")["job_id"]
    wait_state(site.queue, job, JobState.RUNNING)
    assert a.proc is not None
    a.proc.send_signal(signal.SIGTERM)
    assert a.proc.wait(60) in STOPPED
    done = site.queue.get(job)
    assert (done.state, done.attempts) == (JobState.DONE, 1)
    assert len(site.gh.reviews(OWNER, REPO, FIRST_PR)) == 1
