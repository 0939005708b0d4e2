"""Planner overhead against the physical floor: parsing the diff plus one o200k pass over it.

    python bench/plan_overhead.py DIFF            # time a diff as it is
    python bench/plan_overhead.py --lines 10000   # the example diff, repeated under new paths
    python bench/plan_overhead.py --lines 50000 --memory   # also peak memory of one plan

    python bench/plan_overhead.py --lines 10000 --model legacy   # without the parser (before)
    python bench/plan_overhead.py --corpus-diff --lines 10000    # real corpus diffs, no repeats

The example diff repeats one PR: whatever that PR costs (a fragment the parser recovers from
slowly, say) is counted many times. `--corpus-diff` joins real PRs of the labelled corpus instead,
largest first, each at most a tenth of `--lines` so that no single PR dominates, until the total
reaches `--lines`.

Floor and plan run in alternation. Prints the medians, `paired_ratio` (the median of each
adjacent pair's plan/floor, steadier on a loaded machine) and, last, `ratio=R` (median plan /
median floor; goal <= 1.5 at 10,000 lines).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import gzip
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import tiktoken  # noqa: E402
import unidiff  # noqa: E402

from app.plan.config import Mode  # noqa: E402
from app.plan.diff import parse_diff  # noqa: E402
from app.plan.planner import PlanInputs, build_plan  # noqa: E402
from app.plan.tokens import load_counter  # noqa: E402
from app.resources import load_catalog, load_config, load_prompts  # noqa: E402

_HEADER = re.compile(r"^(diff --git a/|--- a/|\+\+\+ b/)(\S+)", re.M)
_GIT_B = re.compile(r"^(diff --git a/\S+ b/)", re.M)  # only the header line's b/ path


def synthetic(lines: int) -> str:
    """The example diff repeated under `copyN/` paths until it has at least `lines` lines."""
    base = (ROOT / "examples" / "pr.diff").read_text()
    per = base.count("\n")
    parts = []
    for i in range(-(-lines // per)):
        parts.append(_HEADER.sub(lambda m, i=i: f"{m.group(1)}copy{i}/{m.group(2)}", base))
        parts[-1] = (
            parts[-1].replace(" b/", f" b/copy{i}/").replace(f" b/copy{i}/copy{i}/", f" b/copy{i}/")
        )
    return "".join(parts)


def corpus_diff(lines: int) -> str:
    """Real corpus diffs, largest first, each at most `lines // 10` lines, under `cN/` paths,
    until at least `lines` lines."""
    found = []
    for path in sorted((ROOT / "bench" / "corpus" / "diffs").glob("*/*.diff.gz")):
        text = gzip.decompress(path.read_bytes()).decode("utf-8", "surrogateescape")
        found.append((text.count("\n"), f"{path.parent.name}/{path.name}", text))
    parts: list[str] = []
    total = 0
    for count, _, text in sorted(found, key=lambda item: (-item[0], item[1])):
        if total >= lines:
            break
        if count > lines // 10:
            continue
        i = len(parts)
        part = _HEADER.sub(lambda m, i=i: f"{m.group(1)}c{i}/{m.group(2)}", text)
        parts.append(_GIT_B.sub(lambda m, i=i: f"{m.group(1)}c{i}/", part))
        total += count
    return "".join(parts)


def _ms(fn: object) -> float:
    assert callable(fn)
    gc.collect()
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def paired_ms(floor: object, plan: object, repeat: int) -> tuple[list[float], list[float]]:
    """Floor and plan timed in alternation, so a shared machine's load drift hits both alike."""
    floors, plans = [], []
    for _ in range(repeat):
        floors.append(_ms(floor))
        plans.append(_ms(plan))
    return floors, plans


def _input(args: argparse.Namespace) -> str:
    if args.diff:
        return str(args.diff.read_text())
    return corpus_diff(args.lines) if args.corpus_diff else synthetic(args.lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("diff", nargs="?", type=Path)
    parser.add_argument("--lines", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--memory", action="store_true", help="peak RSS of one plan (child)")
    parser.add_argument(
        "--corpus-diff",
        action="store_true",
        help="real PRs of bench/corpus joined to --lines instead of the example repeated",
    )
    parser.add_argument(
        "--model",
        choices=["facts", "legacy"],
        default="facts",
        help="the difficulty model: facts (parses code) or legacy (regex line signals)",
    )
    args = parser.parse_args()
    if args.memory:
        text = _input(args)
        child = subprocess.run(
            [sys.executable, __file__, "--child-memory"],
            input=text.encode(),
            check=True,
            capture_output=True,
        )
        sys.stdout.write(child.stdout.decode())
        return
    text = _input(args)
    counter, warning = load_counter()
    if warning:
        raise SystemExit(warning)
    encoding = tiktoken.get_encoding("o200k_base")
    config = load_config(None)
    model = config.difficulty.model.model_copy(update={"kind": args.model})
    config = config.model_copy(
        update={"difficulty": config.difficulty.model_copy(update={"model": model})}
    )
    inputs = PlanInputs(
        config, load_catalog(config), load_prompts(), counter, dt.date.today(), Mode.NORMAL
    )

    def floor() -> None:
        unidiff.PatchSet(text)
        encoding.encode_ordinary(text)

    def plan() -> None:
        # parse_diff keeps the last diff's files for an edge that parses before it plans; each
        # timed plan parses the diff again, as a plan of a new diff does.
        parse_diff.cache_clear()
        build_plan(text, inputs)

    for _ in range(3):  # warm-up
        floor()
        plan()
    floors, plans = paired_ms(floor, plan, args.repeat)
    floor_ms, plan_ms = statistics.median(floors), statistics.median(plans)
    paired = statistics.median(p / f for f, p in zip(floors, plans, strict=True))
    result = build_plan(text, inputs)
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    print(
        f"diff: {text.count(chr(10))} lines, {len(text.encode())} bytes, "
        f"{len(result.chunks)} chunks, {len(result.requests)} requests"
    )
    print(f"floor_ms={floor_ms:.1f} (unidiff.PatchSet + one o200k encode_ordinary pass)")
    print(f"plan_ms={plan_ms:.1f} (build_plan: parse, chunk, label, route, pack, price)")
    source = args.diff or ("corpus diffs" if args.corpus_diff else "example repeated")
    print(f"model={args.model} input={source}")
    print(f"paired_ratio={paired:.2f} (median of plan/floor over adjacent runs)")
    print(f"ratio={plan_ms / floor_ms:.2f}")


def child_memory() -> None:
    text = sys.stdin.read()
    counter, _ = load_counter()
    config = load_config(None)
    inputs = PlanInputs(
        config, load_catalog(config), load_prompts(), counter, dt.date.today(), Mode.NORMAL
    )
    counter.count("warm up the encoder")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    plan = build_plan(text, inputs)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"diff: {text.count(chr(10))} lines, {len(plan.chunks)} chunks, "
        f"{len(plan.requests)} requests"
    )
    print(f"peak_rss_mb={peak:.0f} (process, tokenizer loaded: {before:.0f} before the plan)")


if __name__ == "__main__":
    if sys.argv[1:] == ["--child-memory"]:
        child_memory()
    else:
        main()
