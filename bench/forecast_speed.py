"""How much the forecast adds to planning: git reads and aggregation over in-process plans.

    python bench/forecast_speed.py REPO [--last N] [--repeat R]

Each timed run is a fresh Python process, so no memo (token counts, compiled patterns, `re`'s
cache, tiktoken's internals) survives from one run to the next on either side:

- forecast: `forecast_repository` as the CLI runs it (one `git log -p` stream, decode, plan,
  reduce, aggregate), timed from the first git call to the finished forecast;
- plan: the same changes' diff texts and whole files (both sides of each parsed code file, as
  `plan` in a repository reads them), read from git and decoded before the clock starts, then
  `build_plan` on each with the same inputs and PR titles.

Both load the tokenizer and inputs before timing. Prints the medians, PRs per second, the CPU
time of each side (the forecast's includes git's), and last `ratio=R` (forecast wall time per
PR / plan wall time per PR; goal <= 1.2). On a shared machine the wall times swing with other
work; `cpu_ratio` does not, and says what the replay costs in work.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.forecast.command import (  # noqa: E402
    change_inputs,
    forecast_inputs,
    forecast_repository,
)
from app.forecast.core import pr_title  # noqa: E402
from app.local.blobs import BlobReader  # noqa: E402
from app.local.history import Window, changes, repository_root  # noqa: E402
from app.plan.packing import PullRequestInfo  # noqa: E402
from app.plan.planner import build_plan  # noqa: E402


def child(side: str, repo: Path, last: int | None) -> dict[str, float]:
    """One timed run in this (fresh) process."""
    root = repository_root(repo)
    window = Window(last=last)
    inputs = forecast_inputs(root, None)
    if inputs.counter.name != "o200k_base":
        raise SystemExit("tiktoken's o200k files are not loadable: set TIKTOKEN_CACHE_DIR")
    work = []
    if side == "plan":
        with BlobReader(root) as reader:
            for change in changes(root, window):
                title = pr_title(change.subject, change.body)
                titled = replace(inputs, pr=PullRequestInfo(title))
                work.append(change_inputs(reader, change, titled))
    re.purge()
    gc.collect()
    cpu, kids = time.process_time(), _children_cpu()
    started = time.perf_counter()
    if side == "plan":
        for text, pr_inputs in work:
            build_plan(text, pr_inputs)
        prs = len(work)
    else:
        prs = len(forecast_repository(root, window, inputs).prs)
    seconds = time.perf_counter() - started
    # CPU seconds: this process plus the git it ran (reaped); steadier than wall time when
    # other work shares the machine.
    used = time.process_time() - cpu + _children_cpu() - kids
    return {"seconds": seconds, "cpu": used, "prs": prs}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_child(side: str, repo: Path, last: int | None) -> dict[str, float]:
    args = [sys.executable, __file__, str(repo), "--child", side]
    if last is not None:
        args += ["--last", str(last)]
    done = subprocess.run(args, capture_output=True, check=True, timeout=3600)
    result: dict[str, float] = json.loads(done.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("repo", type=Path)
    parser.add_argument("--last", type=int)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--child", choices=["forecast", "plan"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.repo, args.last)))
        return
    git = subprocess.run(["git", "--version"], capture_output=True, text=True, check=True)
    nproc = subprocess.run(["nproc"], capture_output=True, text=True, check=True).stdout.strip()
    print(
        f"machine: {platform.machine()} (uname -m), nproc {nproc}, "
        f"Python {platform.python_version()}, {git.stdout.strip()}, "
        f"load average {os.getloadavg()[0]:.2f} before"
    )
    times: dict[str, list[float]] = {"forecast": [], "plan": []}
    cpu: dict[str, list[float]] = {"forecast": [], "plan": []}
    prs = 0
    for i in range(args.repeat):
        order = ("forecast", "plan") if i % 2 == 0 else ("plan", "forecast")
        for side in order:  # alternate, so neither side always runs on a warmer machine
            result = run_child(side, args.repo, args.last)
            times[side].append(result["seconds"])
            cpu[side].append(result["cpu"])
            prs = int(result["prs"])
    if prs == 0:
        raise SystemExit("no PRs in range")
    forecast, plan = statistics.median(times["forecast"]), statistics.median(times["plan"])
    print(f"PRs: {prs} ({args.repeat} fresh processes per side; median of each)")
    for side, values in times.items():
        spread = ", ".join(f"{v * 1000:.0f}" for v in values)
        print(f"{side:8s}: median {statistics.median(values) * 1000:.1f} ms  [{spread}] ms")
    print(f"forecast: {prs / forecast:.1f} PRs/s, {forecast / prs * 1000:.2f} ms/PR")
    print(f"plan:     {prs / plan:.1f} PRs/s, {plan / prs * 1000:.2f} ms/PR")
    cpu_ratio = statistics.median(cpu["forecast"]) / statistics.median(cpu["plan"])
    print(
        f"cpu: forecast {statistics.median(cpu['forecast']) * 1000:.1f} ms (with git's), "
        f"plan {statistics.median(cpu['plan']) * 1000:.1f} ms: cpu_ratio={cpu_ratio:.3f}"
    )
    best = min(times["forecast"]) / min(times["plan"])
    print(
        f"fastest runs: forecast {min(times['forecast']) * 1000:.1f} ms, plan "
        f"{min(times['plan']) * 1000:.1f} ms: best_ratio={best:.3f} (least disturbed)"
    )
    print(f"load average {os.getloadavg()[0]:.2f} after (other work on the machine skews both)")
    print(f"ratio={forecast / plan:.3f} (forecast per PR / in-process plan per PR; goal <= 1.2)")


if __name__ == "__main__":
    main()
