"""Ack latency of the App's webhook edge under load, and exactly-once jobs behind it.

    python bench/webhook_load.py [--deliveries 200] [--in-flight 20] [--role all|web]

The App runs as its own process (`python -m app serve` on 127.0.0.1, a temporary SQLite
queue) against the loopback fakes of GitHub and the Anthropic API, which run in this process.
With `--role web` the same load then runs again on a fresh queue and fresh fakes against the
split topology: one `serve --role web` process taking the deliveries and two
`serve --role worker` processes reviewing meanwhile; both figures print side by side.
One repository holds one PR per delivery, each a small three-file diff (three model requests).
The deliveries are the real `pull_request.opened` payload, edited per PR (number, head SHA,
repository) and signed with HMAC-SHA256 over the exact bytes; at most `--in-flight` are on the
wire at once. Each original delivery is followed, once acknowledged, by either a redelivery
(same X-GitHub-Delivery id) or a second delivery of the same push (new id, same head) for a
few PRs: neither may create a job or a review.

Ack latency is the wall time from sending a delivery to reading its 202, timed by a client in a
process of its own (not beside the fakes, whose threads would delay its clock). Goal:
p99 <= 50 ms. Prints the machine, the latencies, the jobs and reviews, and last
`exactly_once=yes|no`; exits non-zero when any check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import hashlib
import hmac
import json
import math
import multiprocessing
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HOOKS = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "github-webhooks"
sys.path.insert(0, str(ROOT))

import httpx2  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from app.store.db import make_engine  # noqa: E402
from app.store.queue import JobQueue, JobState  # noqa: E402
from app.store.schema import deliveries, jobs  # noqa: E402
from tests.fakes import anthropic_fake  # noqa: E402
from tests.fakes.github_fake import github_fake  # noqa: E402
from tests.review.test_engine import reviewer  # noqa: E402
from tests.review.test_pull_request import pr_files  # noqa: E402

HOOK = HOOKS / "pull_request.opened.json"
HANDLER = re.compile(r"handler_(\d+)\b")  # every model request names its PR's handler
PING = HOOKS / "ping.json"
SECRET = b"bench-webhook-secret"
OWNER, REPO = "bench-org", "bench-service"
BOT_LOGIN = "tiered-review[bot]"
GOAL_P99_MS = 50.0
STARTUP_TIMEOUT_S = 30.0
LOAD_TIMEOUT_S = 120.0
DRAIN_TIMEOUT_S = 300.0
STOP_TIMEOUT_S = 15.0
REQUEST_TIMEOUT_S = 10.0  # GitHub's own budget for a webhook answer
REDELIVERIES = 20
DUPLICATE_PUSHES = 20
# Only what the server needs from this environment: no provider keys, no proxies.
PASS_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TIKTOKEN_CACHE_DIR", "SYSTEMROOT")


# --- the PRs ---------------------------------------------------------------------------------


def _new_file(path: str, lines: list[str]) -> str:
    body = "".join(f"+{line}\n" for line in lines)
    return (
        f"diff --git a/{path} b/{path}\nnew file mode 100644\n--- /dev/null\n+++ b/{path}\n"
        f"@@ -0,0 +1,{len(lines)} @@\n{body}"
    )


def pr_diff(n: int) -> str:
    """A small PR: a new handler module, its test, and two routes added to an existing file."""
    handler = [
        f'"""Handler {n}: parse a request and store its first item."""',
        "",
        "import json",
        "",
        "",
        f"def parse_{n}(raw):",
        "    data = json.loads(raw)",
        "    if data['size'] > 100:",
        "        return None",
        "    return data['items'][0]",
        "",
        "",
        f"def store_{n}(db, item):",
        "    query = \"INSERT INTO items VALUES ('%s')\" % item",
        "    db.execute(query)",
        "    return True",
    ]
    test = [
        f"from app.handler_{n} import parse_{n}",
        "",
        "",
        f"def test_parse_{n}():",
        f'    assert parse_{n}(\'{{"size": 1, "items": [{n}]}}\') == {n}',
    ]
    routes = (
        "diff --git a/app/routes.py b/app/routes.py\n"
        "index 1111111..2222222 100644\n"
        "--- a/app/routes.py\n"
        "+++ b/app/routes.py\n"
        "@@ -10,6 +10,8 @@ from app import handlers\n"
        " \n"
        " ROUTES = {\n"
        '     "/health": handlers.health,\n'
        f'+    "/items/{n}": handlers.handler_{n}.parse_{n},\n'
        f'+    "/store/{n}": handlers.handler_{n}.store_{n},\n'
        '     "/metrics": handlers.metrics,\n'
        " }\n"
        " \n"
    )
    return (
        _new_file(f"app/handler_{n}.py", handler)
        + _new_file(f"tests/test_handler_{n}.py", test)
        + routes
    )


def head_sha(n: int) -> str:
    return hashlib.sha1(f"bench-head-{n}".encode()).hexdigest()


# --- deliveries ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Delivery:
    pr: int
    delivery_id: str
    body: bytes
    kind: str  # "original", "redelivery" or "duplicate"


@dataclass
class Ack:
    delivery: Delivery
    status: int | None = None  # None: no answer (error or timeout)
    ms: float = 0.0
    answer: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def sign(body: bytes) -> str:
    return "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()


def opened_body(template: dict[str, Any], n: int) -> bytes:
    """The real `pull_request.opened` payload, moved to PR `n` of the bench repository."""
    data = copy.deepcopy(template)
    data["number"] = n
    pr = data["pull_request"]
    pr["number"] = n
    pr["head"]["sha"] = head_sha(n)
    pr["base"]["sha"] = "b" * 40
    for repo in (data["repository"], pr["head"]["repo"], pr["base"]["repo"]):
        if isinstance(repo, dict):
            repo["name"] = REPO
            repo["full_name"] = f"{OWNER}/{REPO}"
            repo["owner"]["login"] = OWNER
    return json.dumps(data).encode()


def plan_deliveries(count: int) -> tuple[list[Delivery], list[Delivery]]:
    """The originals, and the redeliveries and duplicate pushes that follow some of them."""
    template = json.loads(HOOK.read_text("utf-8"))
    originals = [
        Delivery(n, f"bench-{n:04d}", opened_body(template, n), "original")
        for n in range(1, count + 1)
    ]
    redeliveries = [
        Delivery(d.pr, d.delivery_id, d.body, "redelivery") for d in originals[:REDELIVERIES]
    ]
    duplicates = [
        Delivery(d.pr, f"{d.delivery_id}-again", d.body, "duplicate")
        for d in originals[REDELIVERIES : REDELIVERIES + DUPLICATE_PUSHES]
    ]
    return originals, redeliveries + duplicates


def headers(event: str, delivery_id: str, body: bytes) -> dict[str, str]:
    return {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery_id,
        "X-Hub-Signature-256": sign(body),
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/bench",
    }


async def send(client: httpx2.AsyncClient, url: str, delivery: Delivery) -> Ack:
    ack = Ack(delivery)
    started = time.perf_counter()
    try:
        response = await client.post(
            url,
            content=delivery.body,
            headers=headers("pull_request", delivery.delivery_id, delivery.body),
        )
        ack.ms = (time.perf_counter() - started) * 1000
        ack.status = response.status_code
        try:
            ack.answer = response.json()
        except ValueError:
            ack.answer = {}
    except httpx2.HTTPError as exc:
        ack.ms = (time.perf_counter() - started) * 1000
        ack.error = f"{type(exc).__name__}: {exc}"
    return ack


async def load(
    base_url: str, originals: list[Delivery], followers: list[Delivery], in_flight: int
) -> list[Ack]:
    """Send every delivery, at most `in_flight` at once; a follower waits for its original."""
    url = f"{base_url}/webhook"
    gate = asyncio.Semaphore(in_flight)
    acked = {d.pr: asyncio.Event() for d in originals}
    limits = httpx2.Limits(max_connections=in_flight, max_keepalive_connections=in_flight)
    async with httpx2.AsyncClient(
        timeout=REQUEST_TIMEOUT_S, limits=limits, trust_env=False
    ) as client:
        # One signed ping first: the route's first call pays for lazy imports, not a delivery.
        ping = PING.read_bytes()
        warm = await client.post(url, content=ping, headers=headers("ping", "bench-warmup", ping))
        if warm.status_code != 200:
            raise RuntimeError(f"the signed warm-up ping was answered {warm.status_code}")

        async def one(delivery: Delivery) -> Ack:
            if delivery.kind != "original":
                await acked[delivery.pr].wait()
            async with gate:
                ack = await send(client, url, delivery)
            if delivery.kind == "original":
                acked[delivery.pr].set()
            return ack

        # Followers are interleaved so that they arrive while the load is still running.
        order: list[Delivery] = []
        follow = iter(followers)
        step = max(1, len(originals) // max(1, len(followers)))
        for i, delivery in enumerate(originals):
            order.append(delivery)
            if i % step == step - 1:
                order.extend(d for d in [next(follow, None)] if d is not None)
        order.extend(follow)
        tasks = [asyncio.create_task(one(d)) for d in order]
        try:
            return list(await asyncio.wait_for(asyncio.gather(*tasks), LOAD_TIMEOUT_S))
        except TimeoutError:
            for task in tasks:
                task.cancel()
            raise


def _load_sync(
    base_url: str, originals: list[Delivery], followers: list[Delivery], in_flight: int
) -> tuple[list[Ack], float]:
    started = time.perf_counter()
    acks = asyncio.run(load(base_url, originals, followers, in_flight))
    return acks, time.perf_counter() - started


def load_apart(
    base_url: str, originals: list[Delivery], followers: list[Delivery], in_flight: int
) -> tuple[list[Ack], float]:
    """`load` in a process of its own (the fakes here would hold up its clock), and its time.

    The fakes answer the workers' GitHub and model calls meanwhile; in this process they would
    share the GIL with the client that times the acks, and add their work to its latencies.
    """
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=spawn) as child:
        return child.submit(_load_sync, base_url, originals, followers, in_flight).result()


# --- the App process -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def server_env(gh_url: str, llm_url: str, db: Path) -> dict[str, str]:
    env = {name: os.environ[name] for name in PASS_THROUGH if os.environ.get(name)}
    env.update(
        {
            "GITHUB_TOKEN": "ghs_bench",
            "GITHUB_API_URL": gh_url,
            "GITHUB_WEBHOOK_SECRET": SECRET.decode(),
            "TIERED_REVIEW_DB": str(db),
            "ANTHROPIC_API_KEY": "bench-anthropic",
            "ANTHROPIC_BASE_URL": llm_url,
            "TIERED_REVIEW_GITHUB_THROTTLE": "false",
            "TIERED_REVIEW_LLM_MAX_RETRIES": "0",
            "TIERED_REVIEW_BOT_LOGIN": BOT_LOGIN,
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


def start_server(
    env: dict[str, str], port: int, log_path: Path, role: str = "all"
) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(port)]
    if role == "worker" and WORKER_NICE:  # see --worker-nice
        command = ["nice", "-n", str(WORKER_NICE), *command]
    with log_path.open("ab") as log_file:
        return subprocess.Popen(
            [*command, "--role", role],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )


def profile(proc: subprocess.Popen[bytes], name: str) -> subprocess.Popen[bytes] | None:
    """With --profile: py-spy samples the process's CPU until it exits, then writes its stacks."""
    if PROFILE_DIR is None:
        return None
    out = PROFILE_DIR / f"{name}.txt"
    command = ["py-spy", "record", "--format", "raw", "--nonblocking", "--pid", str(proc.pid)]
    return subprocess.Popen(
        [*command, "-o", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def wait_healthy(proc: subprocess.Popen[bytes], base_url: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the App exited during startup (status {proc.returncode})")
        try:
            if httpx2.get(f"{base_url}/healthz", timeout=2, trust_env=False).status_code == 200:
                return
        except httpx2.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the App did not answer /healthz within {STARTUP_TIMEOUT_S:.0f} s")


def stop_server(proc: subprocess.Popen[bytes]) -> int | None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(STOP_TIMEOUT_S)
    return proc.returncode


# --- checks ----------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile; NaN when there are no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def drain(
    queue: JobQueue, procs: list[subprocess.Popen[bytes]]
) -> tuple[dict[JobState, int], float]:
    """Wait until no job is queued or running (or the time bound, or a process exits)."""
    started = time.monotonic()
    while True:
        depth = queue.depth()
        if depth[JobState.QUEUED] == 0 and depth[JobState.RUNNING] == 0:
            return depth, time.monotonic() - started
        exited = any(p.poll() is not None for p in procs)
        if time.monotonic() - started > DRAIN_TIMEOUT_S or exited:
            return depth, time.monotonic() - started
        time.sleep(0.25)


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text("utf-8", "replace").splitlines()[-lines:])
    except OSError:
        return ""


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deliveries", type=int, default=200)
    parser.add_argument("--in-flight", type=int, default=20)
    parser.add_argument(
        "--role",
        choices=["all", "web"],
        default="all",
        help="web: also run the load against one web process and two worker processes",
    )
    parser.add_argument(
        "--worker-nice",
        type=int,
        default=0,
        metavar="N",
        help="start the worker processes under `nice -n N` (docs/scale.md: one machine)",
    )
    parser.add_argument(
        "--profile", type=Path, metavar="DIR", help="run each process under py-spy into DIR"
    )
    args = parser.parse_args()
    global PROFILE_DIR, WORKER_NICE
    PROFILE_DIR = args.profile
    WORKER_NICE = args.worker_nice
    if not HOOK.is_file():
        print(f"missing fixture: tests/fixtures/github-webhooks/{HOOK.name}", file=sys.stderr)
        return 2
    if args.deliveries < REDELIVERIES + DUPLICATE_PUSHES or args.in_flight < 1:
        parser.error(f"need --deliveries >= {REDELIVERIES + DUPLICATE_PUSHES} and --in-flight >= 1")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()} ({platform.python_implementation()}); "
        f"load average before: {os.getloadavg()[0]:.2f}"
    )
    topologies = ["all", "web"] if args.role == "web" else ["all"]
    results: dict[str, tuple[int, float]] = {}
    for topology in topologies:
        workdir = Path(tempfile.mkdtemp(prefix="webhook-load-"))
        try:
            print(f"--- topology {TOPOLOGIES[topology]}")
            results[topology] = run(args.deliveries, args.in_flight, workdir, topology)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    print(
        "summary: "
        + "; ".join(f"{TOPOLOGIES[t]}: ack_p99_ms={p99:.1f}" for t, (_, p99) in results.items())
        + f"; load average after: {os.getloadavg()[0]:.2f}"
    )
    return max(code for code, _ in results.values())


PROFILE_DIR: Path | None = None  # --profile
WORKER_NICE = 0  # --worker-nice


# What `--role` starts: the name printed, and the `serve --role` of each process (web first).
TOPOLOGIES = {"all": "one process (--role all)", "web": "--role web + 2 x --role worker"}
ROLES = {"all": ["all"], "web": ["web", "worker", "worker"]}


def run(count: int, in_flight: int, workdir: Path, topology: str = "all") -> tuple[int, float]:
    """One load against one topology: prints its figures, returns (exit code, ack p99 ms)."""
    originals, followers = plan_deliveries(count)
    problems: list[str] = []
    db = workdir / "queue.db"
    log_path = workdir / "server.log"
    procs: list[subprocess.Popen[bytes]] = []
    spies: list[subprocess.Popen[bytes] | None] = []
    codes: list[int | None] = []
    try:
        with (
            github_fake() as (gh_url, gh),
            anthropic_fake(responder=reviewer) as (llm_url, llm),
        ):
            gh.add_repo(OWNER, REPO)
            for n in range(1, count + 1):
                gh.open_pr(
                    OWNER,
                    REPO,
                    n,
                    title=f"Add handler {n}",
                    body=f"Adds handler {n} and its routes.",
                    base_sha="b" * 40,
                    head_sha=head_sha(n),
                    files=pr_files(pr_diff(n)),
                    user="Codertocat",
                )
            env = server_env(gh_url, llm_url, db)
            ports = [free_port() for _ in ROLES[topology]]
            for role, port in zip(ROLES[topology], ports, strict=True):
                procs.append(start_server(env, port, log_path, role))
                # One at a time: the first migrates the new database, the rest find it ready.
                wait_healthy(procs[-1], f"http://127.0.0.1:{port}")
                spies.append(profile(procs[-1], f"{topology}-{role}-{port}"))
            base_url = f"http://127.0.0.1:{ports[0]}"

            acks, load_s = load_apart(base_url, originals, followers, in_flight)

            engine = make_engine(f"sqlite:///{db}")
            try:
                queue = JobQueue(engine)
                depth, drain_s = drain(queue, procs)
                with engine.connect() as conn:
                    job_rows = conn.execute(sa.select(jobs.c.id, jobs.c.pr_number)).all()
                    delivery_count = conn.execute(
                        sa.select(sa.func.count()).select_from(deliveries)
                    ).scalar_one()
                states: Counter[str] = Counter()
                attempts: Counter[int] = Counter()
                first_acks = [a for a in acks if a.delivery.kind == "original"]
                job_ids = {a.answer.get("job_id") for a in first_acks}
                for job_id in sorted(i for i in job_ids if isinstance(i, int)):
                    job = queue.get(job_id)
                    states[str(job.state)] += 1
                    attempts[job.attempts] += 1
            finally:
                engine.dispose()
            reviews = [len(gh.reviews(OWNER, REPO, n)) for n in range(1, count + 1)]
            summaries = [
                sum(1 for c in gh.issue_comments(OWNER, REPO, n) if c["user"] == BOT_LOGIN)
                for n in range(1, count + 1)
            ]
            model_calls: Counter[int] = Counter()
            for entry in llm.log.entries:
                named = {int(m) for m in HANDLER.findall(entry.body.decode("utf-8", "replace"))}
                model_calls[named.pop() if len(named) == 1 else 0] += 1
            per_pr_calls = [model_calls[n] for n in range(1, count + 1)]
            gh_calls = len(gh.requests)
            gh_invalid = len(gh.invalid)
            gh_errors = gh.response_errors
            codes = [stop_server(p) for p in procs]  # before the fakes go away
    except TimeoutError:
        problems.append(f"the load did not finish within {LOAD_TIMEOUT_S:.0f} s")
        acks = []
    finally:
        codes = [stop_server(p) for p in procs]
        for spy in spies:
            if spy is not None:
                spy.wait(STOP_TIMEOUT_S)

    if not acks:
        print("\n".join(problems), file=sys.stderr)
        print(tail(log_path), file=sys.stderr)
        print("exactly_once=no")
        return 1, math.nan

    first = [a for a in acks if a.delivery.kind == "original"]
    again = [a for a in acks if a.delivery.kind != "original"]
    statuses = Counter(str(a.status) if a.status is not None else "error" for a in acks)
    latencies = [a.ms for a in first if a.status is not None]
    follower_ms = [a.ms for a in again if a.status is not None]
    original_job = {a.delivery.pr: a.answer.get("job_id") for a in first}
    created_again = [
        a
        for a in again
        if a.answer.get("created") is not False
        or a.answer.get("job_id") != original_job[a.delivery.pr]
        or a.answer.get("reason") != a.delivery.kind
    ]

    if any(a.status != 202 for a in acks):
        bad = [a for a in acks if a.status != 202][:3]
        problems.append(
            "not every delivery was answered 202: "
            + "; ".join(f"{a.delivery.delivery_id}: {a.status} {a.error or a.answer}" for a in bad)
        )
    if len(job_ids) != count or not all(a.answer.get("created") for a in first):
        problems.append(f"{len(job_ids)} distinct jobs for {count} deliveries")
    if len(job_rows) != count:
        problems.append(f"{len(job_rows)} job rows in the queue, expected {count}")
    if delivery_count != count + DUPLICATE_PUSHES:
        problems.append(
            f"{delivery_count} delivery rows, expected {count + DUPLICATE_PUSHES} "
            "(redeliveries reuse their id)"
        )
    if depth[JobState.QUEUED] or depth[JobState.RUNNING]:
        problems.append(f"the queue did not drain within {DRAIN_TIMEOUT_S:.0f} s: {dict(depth)}")
    if states.get(str(JobState.DONE), 0) != count:
        problems.append(f"job states: {dict(states)}")
    if set(attempts) != {1}:
        problems.append(f"job attempts: {dict(attempts)}")
    if min(reviews) != 1 or max(reviews) != 1:
        problems.append(f"reviews per PR: min {min(reviews)}, max {max(reviews)}")
    if min(summaries) != 1 or max(summaries) != 1:
        problems.append(f"summary comments per PR: min {min(summaries)}, max {max(summaries)}")
    if created_again:
        problems.append(f"{len(created_again)} redeliveries or duplicate pushes created work")
    if model_calls[0] or min(per_pr_calls) != max(per_pr_calls) or not min(per_pr_calls):
        problems.append(
            f"model requests per PR: min {min(per_pr_calls)}, max {max(per_pr_calls)}, "
            f"{model_calls[0]} not attributable to one PR"
        )
    if gh_errors or gh_invalid:
        problems.append(
            f"fake GitHub: {gh_invalid} requests outside its OpenAPI, "
            f"{len(gh_errors)} responses off the schema"
        )
    if any(code not in (0, -signal.SIGTERM) for code in codes):
        problems.append(f"the App's processes exited with {codes}")

    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    print(
        f"deliveries: {len(first)} originals, {in_flight} in flight, "
        f"+ {REDELIVERIES} redeliveries and {DUPLICATE_PUSHES} duplicate pushes; "
        f"load took {load_s:.2f} s"
    )
    print("statuses: " + ", ".join(f"{s} x{n}" for s, n in sorted(statuses.items())))
    print(f"ack_p50_ms={p50:.1f}")
    print(f"ack_p99_ms={p99:.1f} (goal <= {GOAL_P99_MS:.0f})")
    print(f"ack_max_ms={max(latencies, default=math.nan):.1f}")
    if follower_ms:
        print(f"followers ack_p50_ms={percentile(follower_ms, 50):.1f} max={max(follower_ms):.1f}")
    print(
        f"jobs: {states.get(str(JobState.DONE), 0)} done of {len(job_ids)} distinct "
        f"({dict(states)}); attempts {dict(attempts)}; queue drained in {drain_s:.1f} s "
        f"after the load"
    )
    print(
        f"model requests: {sum(model_calls.values())}; per PR min {min(per_pr_calls)}, "
        f"max {max(per_pr_calls)}; GitHub API requests: {gh_calls} ({gh_invalid} invalid)"
    )
    print(f"reviews per PR: min {min(reviews)}, max {max(reviews)}")
    print(f"summary comments per PR: min {min(summaries)}, max {max(summaries)}")
    print(f"duplicates created: {len(created_again)} (of {len(again)} redeliveries/duplicates)")
    print(f"p99_goal_met={'yes' if p99 <= GOAL_P99_MS else 'no'}")
    for problem in problems:
        print(f"FAIL: {problem}", file=sys.stderr)
    if problems:
        print(tail(log_path), file=sys.stderr)
    print(f"exactly_once={'no' if problems else 'yes'}")
    return (1 if problems else 0), p99


if __name__ == "__main__":
    sys.exit(main())
