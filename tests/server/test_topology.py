"""docs/compose.yaml: the split topology, checked against the CLI and settings, then run as plain
processes (one web edge, two workers) on one database, deliveries pushed through it.

Docker is not needed: the Compose file's commands are the ones the test starts, with the host
and port moved to loopback.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
import yaml

from app.cli import _parser
from app.settings import Settings
from app.store.db import make_engine, migrate
from app.store.queue import JobQueue, JobState
from tests.conftest import ROOT
from tests.fakes import anthropic_fake
from tests.review.test_engine import reviewer
from tests.serve_process import free_port
from tests.server.test_http import OWNER, REPO, SECRET
from tests.server.test_roles import deliver, metric, open_pr

COMPOSE = ROOT / "docs" / "compose.yaml"
APP_SERVICES = ("web", "worker-1", "worker-2")
PRS = 12


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text("utf-8"))
    return data


def test_the_compose_file_starts_postgresql_one_web_and_two_workers() -> None:
    services = compose()["services"]
    assert sorted(services) == ["postgres", *APP_SERVICES]
    roles = {}
    settings = {field.alias for field in Settings.model_fields.values()}
    for name in APP_SERVICES:
        service = services[name]
        command = service["command"]
        assert command[0] == "tiered-review"
        args = _parser().parse_args(command[1:])  # the real CLI accepts every flag
        assert (args.command, args.host, args.port) == ("serve", "0.0.0.0", 8000)
        roles[name] = args.role
        env = service["environment"]
        assert set(env) <= settings, set(env) - settings  # every variable is a setting
        db = env["TIERED_REVIEW_DB"]
        assert db.startswith("postgresql://") and "@postgres:5432/" in db
        assert db.endswith("/" + services["postgres"]["environment"]["POSTGRES_DB"])
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert "GITHUB_WEBHOOK_SECRET" in env and "GITHUB_APP_ID" in env
    assert roles == {"web": "web", "worker-1": "worker", "worker-2": "worker"}
    # Only the web edge is reachable from outside; workers keep their probes to themselves.
    assert services["web"]["ports"] == ["8000:8000"]
    assert not any("ports" in services[name] for name in ("worker-1", "worker-2"))
    # A stopped worker gets its drain time, and more, before the runtime kills it.
    for name in ("worker-1", "worker-2"):
        grace = int(services[name]["stop_grace_period"].removesuffix("s"))
        assert grace > float(services[name]["environment"]["TIERED_REVIEW_DRAIN_S"])
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"]


class Process:
    """One Compose service's command as a loopback child process."""

    def __init__(self, command: list[str], env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        argv = [sys.executable, "-m", "app", *command[1:]]
        argv[argv.index("--host") + 1] = "127.0.0.1"
        argv[argv.index("--port") + 1] = str(self.port)
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out
            )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"exited during startup ({self.proc.returncode})"
            try:
                if httpx2.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx2.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"not ready within {timeout:.0f} s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


@pytest.fixture
def topology(
    db_url: str, tmp_path: Path, counter: object
) -> Iterator[tuple[Any, JobQueue, dict[str, Process]]]:
    from tests.fakes.github_fake import github_fake

    services = compose()["services"]
    with github_fake() as (gh_url, gh), anthropic_fake(responder=reviewer) as (llm_url, llm):
        llm.latency = 0.2  # reviews overlap, so both workers take some
        gh.add_repo(OWNER, REPO)
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "GITHUB_TOKEN": "ghs_test",
            "GITHUB_API_URL": gh_url,
            "GITHUB_WEBHOOK_SECRET": SECRET.decode(),
            "TIERED_REVIEW_DB": db_url,
            "ANTHROPIC_API_KEY": "k",
            "ANTHROPIC_BASE_URL": llm_url,
            "TIERED_REVIEW_GITHUB_THROTTLE": "false",
            "TIERED_REVIEW_LLM_MAX_RETRIES": "0",
        }
        engine = make_engine(db_url)
        processes: dict[str, Process] = {}
        try:
            migrate(engine)
            for name in APP_SERVICES:
                worker_env = {
                    k: v
                    for k, v in services[name]["environment"].items()
                    if k.startswith("TIERED_REVIEW_") and k != "TIERED_REVIEW_DB"
                }
                processes[name] = Process(
                    services[name]["command"], {**env, **worker_env}, tmp_path / f"{name}.log"
                )
            for process in processes.values():
                process.wait_ready()
            yield gh, JobQueue(engine), processes
        finally:
            for process in processes.values():
                process.stop()
            engine.dispose()


def test_the_compose_topology_as_processes_reviews_each_delivery_once(
    topology: tuple[Any, JobQueue, dict[str, Process]],
) -> None:
    gh, queue, processes = topology
    web = processes["web"]
    bodies = {n: open_pr(gh, n) for n in range(1, PRS + 1)}
    answers = {n: deliver(web, body, f"t-{n}") for n, body in bodies.items()}
    assert all(a["created"] for a in answers.values())
    again = deliver(web, bodies[1], "t-1")
    assert again == {"job_id": answers[1]["job_id"], "created": False, "reason": "redelivery"}
    deadline = time.monotonic() + 120
    while True:
        depth = queue.depth()
        if depth[JobState.DONE] == PRS:
            break
        assert time.monotonic() < deadline, f"not drained: {dict(depth)}"
        time.sleep(0.1)
    for n, answer in answers.items():
        job = queue.get(answer["job_id"])
        assert (job.state, job.attempts) == (JobState.DONE, 1)
        assert len(gh.reviews(OWNER, REPO, n)) == 1
    ran = [metric(processes[w], "tiered_review_job_seconds_count") for w in APP_SERVICES[1:]]
    assert sum(ran) == PRS
    assert metric(web, "tiered_review_job_seconds_count") == 0
