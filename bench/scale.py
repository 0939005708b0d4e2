"""Several `serve` processes on one PostgreSQL: throughput against one process, and exactly once.

    python bench/scale.py [--db DSN] [--jobs 500] [--procs 4] [--latency 0.5] [--in-flight 20]

`--db` (default: `TIERED_REVIEW_TEST_PG`; `bash .ci/postgres python bench/scale.py` starts a
throwaway server) names a PostgreSQL database; each run works in a fresh schema of it, dropped
afterwards. Each run starts fresh loopback fakes in this process: GitHub with `--jobs` open PRs
(a small three-file diff each, spread over 50 installations so that the per-installation limit
does not bind), and the Anthropic API answering every request after a fixed `--latency`. Then
it starts the `serve` processes (`python -m app serve`, each with its default worker
concurrency) and sends one signed `pull_request.opened` delivery per PR, round-robin over the
processes as a load balancer would, `--in-flight` at a time; every tenth is then redelivered
(same X-GitHub-Delivery) to the next process. The run ends when the queue is empty.

Throughput is jobs done / (last job done - first delivery sent), from the jobs' own times. The
baseline is the same load on one process. Prints, per run, the time, CPU use and how the jobs
spread over the processes; then jobs done exactly once (one job, done on its first attempt, one
review and one summary comment per PR), duplicates (extra jobs, reviews or comments), the
throughput ratio, `nproc` and `uname -m`, and the CPU ceiling: the cores over the CPU seconds
one job costs the servers and the fakes, which bounds the ratio on a small machine. Exits
non-zero when a correctness check fails; a ratio below the goal is reported, not an error.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HOOKS = ROOT / "tests" / "fixtures" / "github-webhooks"
sys.path.insert(0, str(ROOT))

import httpx2  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from app.store.db import make_engine, migrate  # noqa: E402
from app.store.queue import JobQueue, JobState  # noqa: E402
from app.store.schema import jobs  # noqa: E402
from bench.webhook_load import head_sha, pr_diff  # noqa: E402
from tests.dbs import PG_ENV, Databases  # noqa: E402
from tests.fakes import anthropic_fake  # noqa: E402
from tests.fakes.github_fake import github_fake  # noqa: E402
from tests.review.test_engine import reviewer  # noqa: E402
from tests.review.test_pull_request import pr_files  # noqa: E402
from tests.serve_process import ServeProcess, sign  # noqa: E402

HOOK = HOOKS / "pull_request.opened.json"
SECRET = b"bench-scale-secret"
OWNER = "bench-org"
BOT_LOGIN = "tiered-review[bot]"
INSTALLATIONS = 50
REDELIVER_EVERY = 10
GOAL_RATIO = 3.0
LOAD_TIMEOUT_S = 300.0
DRAIN_TIMEOUT_S = 900.0
REQUEST_TIMEOUT_S = 30.0
# Only what the servers need from this environment: no provider keys, no proxies.
PASS_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TIKTOKEN_CACHE_DIR")


def installation(n: int) -> int:
    """PR `n`'s installation (and tenant): 50 of them, interleaved."""
    return 1000 + n % INSTALLATIONS


def repo_name(n: int) -> str:
    return f"service-{installation(n)}"


def opened_body(template: dict[str, Any], n: int) -> bytes:
    """The real `pull_request.opened` payload, moved to PR `n` of its installation's repository."""
    data = copy.deepcopy(template)
    data["number"] = n
    data["installation"] = {"id": installation(n), "node_id": f"bench-{installation(n)}"}
    pr = data["pull_request"]
    pr["number"] = n
    pr["head"]["sha"] = head_sha(n)
    pr["base"]["sha"] = "b" * 40
    for repo in (data["repository"], pr["head"]["repo"], pr["base"]["repo"]):
        repo["name"] = repo_name(n)
        repo["full_name"] = f"{OWNER}/{repo_name(n)}"
        repo["owner"]["login"] = OWNER
    return json.dumps(data).encode()


# --- one run -------------------------------------------------------------------------------


@dataclass
class Run:
    """What one run measured."""

    procs: int
    jobs: int
    elapsed_s: float = 0.0
    done_once: int = 0
    duplicates: int = 0
    states: Counter[str] = field(default_factory=Counter)
    attempts: Counter[int] = field(default_factory=Counter)
    per_process: list[int] = field(default_factory=list)
    metric_jobs: list[int] = field(default_factory=list)
    serve_cpu_s: float = 0.0
    bench_cpu_s: float = 0.0
    machine_busy: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def throughput(self) -> float:
        return self.done_once / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def cpu_per_job_s(self) -> float:
        """CPU seconds per job of the servers and of the fakes that answer them."""
        return (self.serve_cpu_s + self.bench_cpu_s) / max(1, self.done_once)


def headers(delivery_id: str, body: bytes) -> dict[str, str]:
    return {
        "X-GitHub-Event": "pull_request",
        "X-GitHub-Delivery": delivery_id,
        "X-Hub-Signature-256": sign(body, SECRET),
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/bench",
    }


async def deliver_all(
    urls: list[str], bodies: dict[int, bytes], in_flight: int
) -> list[tuple[int, str, int, dict[str, Any]]]:
    """Each PR's delivery to `urls` round-robin; every tenth again to the next process.

    Returns (pr, kind, status, answer) per request; a redelivery waits for its original's 202.
    """
    gate = asyncio.Semaphore(in_flight)
    limits = httpx2.Limits(max_connections=in_flight, max_keepalive_connections=in_flight)
    async with httpx2.AsyncClient(
        timeout=REQUEST_TIMEOUT_S, limits=limits, trust_env=False
    ) as client:

        async def post(url: str, pr: int, kind: str) -> tuple[int, str, int, dict[str, Any]]:
            body = bodies[pr]
            async with gate:
                response = await client.post(
                    f"{url}/webhook", content=body, headers=headers(f"scale-{pr:05d}", body)
                )
            try:
                answer = response.json()
            except ValueError:
                answer = {}
            return pr, kind, response.status_code, answer

        async def one(i: int, pr: int) -> list[tuple[int, str, int, dict[str, Any]]]:
            sent = [await post(urls[i % len(urls)], pr, "original")]
            if pr % REDELIVER_EVERY == 0:
                sent.append(await post(urls[(i + 1) % len(urls)], pr, "redelivery"))
            return sent

        batches = await asyncio.gather(*(one(i, pr) for i, pr in enumerate(sorted(bodies))))
    return [item for batch in batches for item in batch]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine so far, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def jobs_metric(url: str) -> int:
    """How many jobs this process says it ran (its `tiered_review_job_seconds` count)."""
    text = httpx2.get(f"{url}/metrics", timeout=10, trust_env=False).text
    return int(
        sum(
            sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == "tiered_review_job_seconds_count"
        )
    )


def run_once(procs: int, count: int, db_url: str, args: argparse.Namespace, logs: Path) -> Run:
    """Start the fakes and `procs` servers on a fresh schema, deliver, drain, check."""
    run = Run(procs, count)
    template = json.loads(HOOK.read_text("utf-8"))
    bodies = {n: opened_body(template, n) for n in range(1, count + 1)}
    engine = make_engine(db_url)
    servers: list[ServeProcess] = []
    spies: list[subprocess.Popen[bytes] | None] = []
    try:
        migrate(engine)
        with (
            github_fake() as (gh_url, gh),
            anthropic_fake(responder=reviewer, latency=args.latency) as (llm_url, _llm),
        ):
            for n in range(1, count + 1):
                if n <= INSTALLATIONS:
                    gh.add_repo(OWNER, repo_name(n))
                gh.open_pr(
                    OWNER,
                    repo_name(n),
                    n,
                    title=f"Add handler {n}",
                    body=f"Adds handler {n} and its routes.",
                    base_sha="b" * 40,
                    head_sha=head_sha(n),
                    files=pr_files(pr_diff(n)),
                    user="Codertocat",
                )
            env = {name: os.environ[name] for name in PASS_THROUGH if os.environ.get(name)}
            env |= {
                "GITHUB_TOKEN": "ghs_bench",
                "GITHUB_API_URL": gh_url,
                "GITHUB_WEBHOOK_SECRET": SECRET.decode(),
                "TIERED_REVIEW_DB": db_url,
                "ANTHROPIC_API_KEY": "bench-anthropic",
                "ANTHROPIC_BASE_URL": llm_url,
                "TIERED_REVIEW_GITHUB_THROTTLE": "false",
                "TIERED_REVIEW_LLM_MAX_RETRIES": "0",
                "TIERED_REVIEW_BOT_LOGIN": BOT_LOGIN,
            }
            (logs / f"procs-{procs}").mkdir()
            servers = [ServeProcess(env, logs / f"procs-{procs}") for _ in range(procs)]
            for server in servers:
                server.launch()
            for server in servers:
                server.wait_healthy(60)
            spies = [profile(s, args.profile, f"procs-{procs}") for s in servers]

            serve_cpu = sum(cpu_seconds(s.proc.pid) for s in servers if s.proc)
            bench_cpu = time.process_time()
            busy0, total0 = machine_ticks()
            started = time.time()
            sent = asyncio.run(
                asyncio.wait_for(
                    deliver_all([s.url for s in servers], bodies, args.in_flight), LOAD_TIMEOUT_S
                )
            )
            drained = drain(JobQueue(engine), servers)
            busy1, total1 = machine_ticks()
            run.bench_cpu_s = time.process_time() - bench_cpu
            run.serve_cpu_s = sum(cpu_seconds(s.proc.pid) for s in servers if s.proc) - serve_cpu
            run.machine_busy = (busy1 - busy0) / max(1, total1 - total0)
            run.metric_jobs = [jobs_metric(s.url) for s in servers]
            if not drained:
                run.problems.append(f"the queue did not drain within {DRAIN_TIMEOUT_S:.0f} s")
            check(run, engine, gh, sent, started)
    finally:
        for server in servers:
            server.stop()
        for spy in spies:
            if spy is not None:
                spy.wait(30)
        engine.dispose()
    return run


def profile(server: ServeProcess, folder: Path | None, name: str) -> subprocess.Popen[bytes] | None:
    """With --profile: py-spy samples the server's CPU until it exits, then writes its stacks."""
    if folder is None or server.proc is None:
        return None
    out = folder / f"{name}-{server.port}.txt"
    return subprocess.Popen(
        ["py-spy", "record", "--format", "raw", "--nonblocking", "--pid", str(server.proc.pid)]
        + ["-o", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def drain(queue: JobQueue, servers: list[ServeProcess]) -> bool:
    """Wait until nothing is queued or running; False on the time bound or a dead server."""
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while time.monotonic() < deadline:
        depth = queue.depth()
        if depth[JobState.QUEUED] == 0 and depth[JobState.RUNNING] == 0:
            return True
        if not all(s.alive() for s in servers):
            return False
        time.sleep(0.2)
    return False


def check(
    run: Run,
    engine: sa.Engine,
    gh: Any,
    sent: list[tuple[int, str, int, dict[str, Any]]],
    started: float,
) -> None:
    """Count jobs done exactly once and every kind of duplicate; note what went wrong."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(jobs.c.pr_number, jobs.c.state, jobs.c.attempts, jobs.c.lease_owner)
        ).all()
        last_done = conn.execute(
            sa.select(sa.func.max(jobs.c.updated_at)).where(jobs.c.state == JobState.DONE)
        ).scalar()
    run.elapsed_s = (last_done or started) - started
    run.states = Counter(str(r.state) for r in rows)
    run.attempts = Counter(r.attempts for r in rows)
    # The owner is `serve-<process id>/<worker>`: how the jobs spread over the processes.
    owners = Counter((r.lease_owner or "?").split("/")[0] for r in rows)
    run.per_process = sorted(owners.values(), reverse=True)
    job_of = Counter(r.pr_number for r in rows)
    bad_status = [(pr, kind, status) for pr, kind, status, _ in sent if status != 202]
    created_again = [a for _, kind, _, a in sent if kind == "redelivery" and a.get("created")]
    ok = {r.pr_number for r in rows if r.state == JobState.DONE and r.attempts == 1}
    for pr in range(1, run.jobs + 1):
        reviews = len(gh.reviews(OWNER, repo_name(pr), pr))
        comments = sum(
            1 for c in gh.issue_comments(OWNER, repo_name(pr), pr) if c["user"] == BOT_LOGIN
        )
        run.duplicates += max(0, reviews - 1) + max(0, comments - 1) + max(0, job_of[pr] - 1)
        if pr in ok and reviews == 1 and comments == 1 and job_of[pr] == 1:
            run.done_once += 1
    run.duplicates += len(created_again)
    if bad_status:
        run.problems.append(f"{len(bad_status)} deliveries not answered 202: {bad_status[:3]}")
    if run.done_once != run.jobs:
        run.problems.append(f"{run.done_once} of {run.jobs} jobs done exactly once")
    if run.duplicates:
        run.problems.append(f"{run.duplicates} duplicates")
    if sum(run.metric_jobs) != len(rows):
        run.problems.append(f"per-process job metrics {run.metric_jobs} != {len(rows)} jobs")


def report(run: Run) -> None:
    print(
        f"procs={run.procs}: {run.done_once}/{run.jobs} jobs done exactly once in "
        f"{run.elapsed_s:.1f} s = {run.throughput:.2f} jobs/s; states {dict(run.states)}, "
        f"attempts {dict(run.attempts)}, duplicates {run.duplicates}"
    )
    print(
        f"  jobs per process (queue): {run.per_process}; per process (/metrics): "
        f"{run.metric_jobs}, sum {sum(run.metric_jobs)}"
    )
    print(
        f"  cpu: serve processes {run.serve_cpu_s:.1f} s, this process (fakes, load) "
        f"{run.bench_cpu_s:.1f} s; machine busy {run.machine_busy:.0%} of "
        f"{len(os.sched_getaffinity(0))} cores over the run"
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default=os.environ.get(PG_ENV), help=f"a PostgreSQL DSN ({PG_ENV})")
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--procs", type=int, default=4)
    parser.add_argument("--latency", type=float, default=0.5, help="seconds per model request")
    parser.add_argument("--in-flight", type=int, default=20)
    parser.add_argument(
        "--profile", type=Path, metavar="DIR", help="sample each server with py-spy into DIR"
    )
    args = parser.parse_args()
    if not args.db:
        parser.error(f"pass --db DSN or set {PG_ENV} (bash .ci/postgres python {sys.argv[0]})")
    if not HOOK.is_file():
        print(f"missing fixture: tests/fixtures/github-webhooks/{HOOK.name}", file=sys.stderr)
        return 2
    if args.jobs < 1 or args.procs < 1 or args.in_flight < 1:
        parser.error("--jobs, --procs and --in-flight must be at least 1")

    workdir = Path(tempfile.mkdtemp(prefix="scale-"))
    runs: list[Run] = []
    try:
        with Databases("postgresql", workdir, args.db) as fresh:
            for procs in sorted({1, args.procs}):
                runs.append(run_once(procs, args.jobs, fresh(), args, workdir))
                report(runs[-1])
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    base, scaled = runs[0], runs[-1]
    ratio = scaled.throughput / base.throughput if base.throughput else 0.0
    problems = [f"procs={r.procs}: {p}" for r in runs for p in r.problems]
    print(f"postgresql: {sa.make_url(args.db).render_as_string(hide_password=True)}")
    print(
        f"load: {args.jobs} PRs in {INSTALLATIONS} installations, model latency "
        f"{args.latency * 1000:.0f} ms, default workers per process, {args.in_flight} in flight"
    )
    print(f"jobs_done_exactly_once={scaled.done_once} (goal {args.jobs})")
    print(f"duplicates={scaled.duplicates} (goal 0)")
    print(f"throughput_1={base.throughput:.2f} jobs/s")
    print(f"throughput_{scaled.procs}={scaled.throughput:.2f} jobs/s")
    print(f"ratio={ratio:.2f} (goal >= {GOAL_RATIO:.0f})")
    nproc = len(os.sched_getaffinity(0))
    # What this machine could do at most: its cores over the CPU one job costs (servers + fakes).
    ceiling = nproc / scaled.cpu_per_job_s if scaled.cpu_per_job_s else 0.0
    print(
        f"cpu_per_job_ms={scaled.cpu_per_job_s * 1000:.0f} (servers and fakes); "
        f"cpu_ceiling={ceiling:.2f} jobs/s on {nproc} cores = "
        f"{ceiling / base.throughput if base.throughput else 0.0:.2f}x the baseline"
    )
    print(f"nproc={nproc} uname_m={platform.machine()}")
    print(f"ratio_goal_met={'yes' if ratio >= GOAL_RATIO else 'no'}")
    for problem in problems:
        print(f"FAIL: {problem}", file=sys.stderr)
    print(f"exactly_once={'no' if problems else 'yes'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
