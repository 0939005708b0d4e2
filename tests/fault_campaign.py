"""The fault campaign: PRs through a real `serve` process while everything around it fails.

The fakes of GitHub and of both LLM APIs run in this process with seeded chaos and hold the
ground truth (what was actually posted); the App runs as a child process on a SQLite file and is
SIGKILLed `kills` times at spread-out moments, each time while a job is running, then restarted on
the same database. GitHub does not retry a failed delivery: like an operator (or the App's
redelivery endpoint) would, every delivery that got no 2xx is sent again with the same
`X-GitHub-Delivery` id once the App is back, and a few acknowledged ones are sent again to prove
the dedupe. At the end every PR must carry exactly one review, none twice, none lost, no crash.
"""

from __future__ import annotations

import json
import math
import os
import random
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import sqlalchemy as sa

from app.store.db import make_engine
from app.store.queue import JobState
from app.store.schema import jobs
from tests.conftest import HOOKS
from tests.fakes import anthropic_fake, openai_fake
from tests.fakes.github_fake import github_fake
from tests.fault_prs import FaultPR, build_prs, open_prs, opened_body
from tests.fault_results import (
    BOT_LOGIN,
    CampaignResult,
    applied_502,
    merge_counts,
    scan_logs,
    stopped_cleanly,
    tally_prs,
)
from tests.review.test_engine import reviewer
from tests.serve_process import ServeProcess, sign

HOOK = HOOKS / "pull_request.opened.json"
SECRET = b"fault-campaign-secret"
REQUEST_TIMEOUT_S = 10.0  # GitHub's own budget for a webhook answer
# Only what the App needs from this environment: no provider keys, no proxies.
PASS_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TIKTOKEN_CACHE_DIR", "SYSTEMROOT")


@dataclass(frozen=True, slots=True)
class CampaignOptions:
    """The campaign's size, failure rates and the App's knobs."""

    prs: int = 50
    kills: int = 3
    llm_fail: float = 0.2
    github_fail: float = 0.05
    seed: int = 1
    timeout_s: float = 600.0  # the whole run, start to drained queue
    interval_s: float = 0.4  # between first deliveries, so kills land while work arrives
    redeliver_acked: int = 5  # acknowledged deliveries sent again to prove the dedupe
    slow_s: tuple[float, float] = (2.0, 5.0)  # GitHub's slow answers
    llm_timeout_s: float = 5.0  # the App's LLM read timeout; chaos stalls 3x longer
    lease_s: float = 8.0
    workers: int = 4
    max_attempts: int | None = None  # None: the App's default
    # On top of the random faults, the first review and the first summary POST are applied but
    # answered 502, so every run meets the two writes a blind retry would double.
    scripted_writes: bool = True


class _Deliveries:
    """Signed deliveries of the PRs and the answers each attempt got; thread-safe."""

    def __init__(self, url: str, prs: list[FaultPR]) -> None:
        template = json.loads(HOOK.read_text("utf-8"))
        self.url = f"{url}/webhook"
        self.prs = prs
        self.bodies = {pr.delivery_id: opened_body(template, pr) for pr in prs}
        self.answers: dict[str, list[dict[str, Any] | None]] = {pr.delivery_id: [] for pr in prs}
        self.sent = 0
        self.redelivered = 0
        self._lock = threading.Lock()
        self._client = httpx2.Client(timeout=REQUEST_TIMEOUT_S, trust_env=False)

    def send(self, delivery_id: str) -> dict[str, Any] | None:
        """Post the delivery; its 2xx answer, or None (refused, dropped, or not 2xx)."""
        body = self.bodies[delivery_id]
        headers = {
            "X-GitHub-Event": "pull_request",
            "X-GitHub-Delivery": delivery_id,
            "X-Hub-Signature-256": sign(body, SECRET),
            "Content-Type": "application/json",
            "User-Agent": "GitHub-Hookshot/faults",
        }
        answer: dict[str, Any] | None = None
        try:
            response = self._client.post(self.url, content=body, headers=headers)
            if 200 <= response.status_code < 300:
                answer = response.json()
        except (httpx2.HTTPError, ValueError):
            answer = None
        with self._lock:
            self.answers[delivery_id].append(answer)
        return answer

    def first_pass(self, interval_s: float, stop: threading.Event) -> None:
        """Every PR's delivery once, paced."""
        for pr in self.prs:
            if stop.is_set():
                return
            self.send(pr.delivery_id)
            with self._lock:
                self.sent += 1
            time.sleep(interval_s)

    def pending(self) -> list[str]:
        """Deliveries sent whose latest attempt got no 2xx."""
        with self._lock:
            return [d for d, tries in self.answers.items() if tries and tries[-1] is None]

    def redeliver_failed(self) -> None:
        """Send again, with the same id, every delivery whose last attempt failed."""
        for delivery_id in self.pending():
            self.send(delivery_id)
            with self._lock:
                self.redelivered += 1

    def acked(self, delivery_id: str) -> dict[str, Any] | None:
        """The first 2xx answer of a delivery."""
        with self._lock:
            return next((a for a in self.answers[delivery_id] if a is not None), None)

    def failed_attempts(self) -> int:
        """Attempts that got no 2xx."""
        with self._lock:
            return sum(a is None for tries in self.answers.values() for a in tries)

    def all_acked(self) -> bool:
        """Every PR's delivery acknowledged at least once."""
        return all(self.acked(pr.delivery_id) is not None for pr in self.prs)

    def close(self) -> None:
        """Release the HTTP client."""
        self._client.close()


def server_env(
    opts: CampaignOptions, gh_url: str, a_url: str, o_url: str, db: Path
) -> dict[str, str]:
    """The App's environment: the fakes, the SQLite file, short leases and LLM timeouts."""
    env = {name: os.environ[name] for name in PASS_THROUGH if os.environ.get(name)}
    env.update(
        {
            "GITHUB_TOKEN": "ghs_faults",
            "GITHUB_API_URL": gh_url,
            "GITHUB_WEBHOOK_SECRET": SECRET.decode(),
            "TIERED_REVIEW_DB": str(db),
            "ANTHROPIC_API_KEY": "faults-anthropic",
            "ANTHROPIC_BASE_URL": a_url,
            "OPENAI_API_KEY": "faults-openai",
            "OPENAI_BASE_URL": o_url + "/v1",
            "TIERED_REVIEW_GITHUB_THROTTLE": "false",
            "TIERED_REVIEW_LLM_TIMEOUT_S": f"{opts.llm_timeout_s:g}",
            "TIERED_REVIEW_RETRY_AFTER_CAP_S": "5",
            "TIERED_REVIEW_LEASE_S": f"{opts.lease_s:g}",
            "TIERED_REVIEW_WORKERS": str(opts.workers),
            "TIERED_REVIEW_BOT_LOGIN": BOT_LOGIN,
        }
    )
    if opts.max_attempts is not None:
        env["TIERED_REVIEW_MAX_ATTEMPTS"] = str(opts.max_attempts)
    return env


def kill_points(prs: int, kills: int) -> list[int]:
    """Deliveries sent before each kill: 15%, 45% and 75% of them for three kills."""
    return [max(1, math.ceil(prs * 0.9 * (k + 0.5) / kills)) for k in range(kills)]


class _Supervisor:
    """The App process: killed mid-job on schedule, restarted, watched for exits of its own."""

    def __init__(self, server: ServeProcess, engine: sa.Engine, rng: random.Random) -> None:
        self.server = server
        self.engine = engine
        self.rng = rng
        self.kills: list[str] = []
        self.unexpected: list[int] = []

    def _count(self, *where: sa.ColumnElement[bool]) -> int:
        with self.engine.connect() as conn:
            count: int = conn.execute(
                sa.select(sa.func.count()).select_from(jobs).where(*where)
            ).scalar_one()
        return count

    def running(self) -> int:
        """Jobs running under a live lease: a worker is on them now."""
        return self._count(jobs.c.state == JobState.RUNNING, jobs.c.lease_expires_at > time.time())

    def drained(self) -> bool:
        """No job queued (or backing off) and none running."""
        return self._count(jobs.c.state.in_([JobState.QUEUED, JobState.RUNNING])) == 0

    def check(self) -> None:
        """Restart the App if it exited on its own (a crash), recording its status."""
        if self.server.alive():
            return
        assert self.server.proc is not None
        self.unexpected.append(self.server.proc.returncode)
        self.server.launch()
        self.server.wait_healthy()

    def kill_mid_job(self, sent: int, wait_s: float = 15.0) -> None:
        """SIGKILL once a job is running (or after `wait_s`), stay down a moment, restart."""
        deadline = time.monotonic() + wait_s
        while self.running() == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        running = self.running()
        self.server.kill()
        down = self.rng.uniform(0.2, 1.0)
        self.kills.append(f"after {sent} deliveries, {running} jobs running, down {down:.1f} s")
        time.sleep(down)  # deliveries sent meanwhile are refused: they will be redelivered
        self.server.launch()
        self.server.wait_healthy()


def _drive(
    opts: CampaignOptions,
    deliveries: _Deliveries,
    supervisor: _Supervisor,
    feeder: threading.Thread,
    deadline: float,
    rng: random.Random,
) -> bool:
    """Kill on schedule, redeliver failures, wait for the queue to drain; True on timeout."""
    points = kill_points(opts.prs, opts.kills)
    jitters = [rng.uniform(0.0, 1.5) for _ in points]  # so a kill lands at a random moment
    reached: float | None = None
    redelivered_at = 0.0
    while time.monotonic() < deadline:
        supervisor.check()
        done_kills = len(supervisor.kills)
        if done_kills < len(points):
            if deliveries.sent >= points[done_kills] or not feeder.is_alive():
                reached = reached or time.monotonic()
                if time.monotonic() - reached >= jitters[done_kills]:
                    supervisor.kill_mid_job(deliveries.sent)
                    deliveries.redeliver_failed()
                    reached = None
        elif not feeder.is_alive():
            if time.monotonic() - redelivered_at >= 1.0:  # an operator's pace, not a storm
                deliveries.redeliver_failed()
                redelivered_at = time.monotonic()
            if deliveries.all_acked() and supervisor.drained():
                return False
        time.sleep(0.1)
    return True


def _check_dedupe(deliveries: _Deliveries, count: int, rng: random.Random) -> tuple[int, list[str]]:
    """Send acknowledged deliveries again: each must map to its job and create nothing."""
    acked = [pr.delivery_id for pr in deliveries.prs if deliveries.acked(pr.delivery_id)]
    broken = []
    chosen = rng.sample(acked, min(count, len(acked)))
    for delivery_id in chosen:
        first = deliveries.acked(delivery_id) or {}
        again = deliveries.send(delivery_id)
        expected = {"job_id": first.get("job_id"), "created": False, "reason": "redelivery"}
        if again != expected:
            broken.append(f"{delivery_id}: {again} (first answer {first})")
    return len(chosen), broken


def run_campaign(opts: CampaignOptions, workdir: Path) -> CampaignResult:
    """Run the whole campaign in `workdir` (the SQLite file and the App's logs go there)."""
    started = time.monotonic()
    deadline = started + opts.timeout_s
    rng = random.Random(opts.seed)
    prs = build_prs(opts.prs, opts.seed)
    stall = opts.llm_timeout_s * 3
    with (
        github_fake() as (gh_url, gh),
        anthropic_fake(responder=reviewer) as (a_url, anthropic),
        openai_fake(responder=reviewer) as (o_url, openai),
    ):
        open_prs(gh, prs)
        gh.chaos(opts.github_fail, seed=opts.seed, slow_s=opts.slow_s)
        if opts.scripted_writes:
            gh.fail_next("POST", r"/pulls/\d+/reviews$", status=502, apply=True)
            gh.fail_next("POST", r"/issues/\d+/comments$", status=502, apply=True)
        anthropic.faults.chaos(opts.llm_fail, seed=opts.seed, seconds=stall)
        openai.faults.chaos(opts.llm_fail, seed=opts.seed + 1, seconds=stall)
        db = workdir / "queue.db"
        server = ServeProcess(server_env(opts, gh_url, a_url, o_url, db), workdir)
        engine = make_engine(f"sqlite:///{db}")
        deliveries = _Deliveries(server.url, prs)
        stop = threading.Event()
        feeder = threading.Thread(
            target=deliveries.first_pass, args=(opts.interval_s, stop), daemon=True
        )
        supervisor = _Supervisor(server, engine, rng)
        dedupe: tuple[int, list[str]] = (0, [])
        try:
            server.start()
            feeder.start()
            timed_out = _drive(opts, deliveries, supervisor, feeder, deadline, rng)
            if not timed_out:
                dedupe = _check_dedupe(deliveries, opts.redeliver_acked, rng)
        finally:
            stop.set()
            if feeder.is_alive():
                feeder.join(REQUEST_TIMEOUT_S + 1)
            final_exit = server.stop()  # before the fakes go away
            deliveries.close()
        tallies = tally_prs(gh, prs, engine)
        engine.dispose()
        unhandled, failures, lease_lost = scan_logs(server.logs)
        return CampaignResult(
            options=opts,
            tallies=tallies,
            kills=supervisor.kills,
            unexpected_exits=supervisor.unexpected,
            final_exit=final_exit,
            final_clean=stopped_cleanly(final_exit, server.logs),
            unhandled=unhandled,
            job_failures=failures,
            lease_lost=lease_lost,
            deliveries_failed=deliveries.failed_attempts(),
            redelivered=deliveries.redelivered,
            dedupe_checked=dedupe[0],
            dedupe_broken=dedupe[1],
            llm_faults=merge_counts(anthropic.faults.injected(), openai.faults.injected()),
            github_faults=gh.injected(),
            requests={
                "github": len(gh.requests),
                "anthropic": len(anthropic.log),
                "openai": len(openai.log),
            },
            applied_502=applied_502(gh.requests),
            github_refused=[f"{r.method} {r.path}: {r.errors}" for r in gh.invalid]
            + gh.response_errors,
            timed_out=timed_out,
            wall_s=time.monotonic() - started,
        )
