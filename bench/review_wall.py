"""Wall time of a 40-request review against the loopback fakes at a fixed 200 ms latency.

    python bench/review_wall.py [--latency 0.2] [--requests 40]

The PR: 38 generated files (docs, tests and ordinary code) packed one chunk per request
(`requests.max_chunks: 1`), plus the summary and the cross-cutting request: 40 requests on three
models. Concurrency is the shipped
default. Prints, last:
  schedule_ratio=  wall time / ideal schedule; the ideal for one model is
                   latency x (1 + ceil((n - 1) / concurrency)), and models run side by side
  cache_read_share= cache-read tokens / cacheable prefix tokens sent after the first request of
                   each (model, prefix)
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import math
import os
import platform
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.plan.config import build_config  # noqa: E402
from app.plan.planner import PlanInputs, build_plan  # noqa: E402
from app.plan.tokens import load_counter  # noqa: E402
from app.providers.registry import build_provider  # noqa: E402
from app.resources import default_config_data, load_catalog, load_prompts  # noqa: E402
from app.review.engine import EngineOptions, run_review  # noqa: E402
from app.review.result import ReviewResult  # noqa: E402
from app.settings import Settings  # noqa: E402
from tests.fakes import anthropic_fake  # noqa: E402


def new_file(path: str, items: list[str]) -> str:
    lines = [line for item in items for line in item.split("\n")]
    body = "".join(f"+{line}\n" for line in lines)
    return (
        f"diff --git a/{path} b/{path}\nnew file mode 100644\n--- /dev/null\n+++ b/{path}\n"
        f"@@ -0,0 +1,{len(lines)} @@\n{body}"
    )


def make_diff(files: int) -> str:
    parts = []
    for i in range(files):
        if i % 3 == 0:
            parts.append(
                new_file(f"docs/page{i}.md", [f"Paragraph {j} of page {i}." for j in range(30)])
            )
        elif i % 3 == 1:
            parts.append(
                new_file(
                    f"tests/test_mod{i}.py",
                    [f"def test_{i}_{j}():\n    assert compute({j}) == {j * 2}" for j in range(15)],
                )
            )
        else:
            parts.append(
                new_file(
                    f"pkg/mod{i}.py",
                    [
                        f"def compute_{i}_{j}(value):\n    return value * {j} + {i}"
                        for j in range(20)
                    ],
                )
            )
    return "".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()
    counter, warning = load_counter()
    if warning:
        raise SystemExit(warning)
    config = build_config(default_config_data(), {"requests": {"max_chunks": 1}}, "bench")
    defaults = Settings.from_env({})
    inputs = PlanInputs(config, load_catalog(config), load_prompts(), counter, dt.date.today())
    # 38 files: 38 review requests, the summary, and (30+ files) one cross-cutting request.
    plan = build_plan(make_diff(args.requests - 2), inputs)
    with anthropic_fake(latency=args.latency) as (url, state):
        settings = Settings.from_env({"ANTHROPIC_API_KEY": "bench", "ANTHROPIC_BASE_URL": url})

        async def go() -> tuple[float, ReviewResult]:
            provider = build_provider("anthropic", settings)
            try:
                started = time.perf_counter()
                result = await run_review(
                    plan,
                    {"anthropic": provider},
                    config,
                    inputs.catalog,
                    EngineOptions("bench/repo", settings.concurrency),
                )
                return time.perf_counter() - started, result
            finally:
                await provider.aclose()

        wall, result = asyncio.run(go())
    per_model = Counter(p.request.route.model.key for p in plan.requests)
    concurrency = defaults.concurrency
    ideal = max(args.latency * (1 + math.ceil((n - 1) / concurrency)) for n in per_model.values())
    outcomes = result.requests
    # cache-read tokens over the prefix tokens (as the provider counted the first request's
    # write) sent after the first request of each (model, prefix): the engine's own figure
    share = result.totals.cache_hit_rate
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(
        f"requests={len(plan.requests)} per model: {dict(sorted(per_model.items()))}; "
        f"concurrency={concurrency} (shipped default); latency={args.latency * 1000:.0f} ms"
    )
    print(f"statuses: {dict(Counter(o.status for o in outcomes))}")
    print(f"wall_s={wall:.3f} ideal_s={ideal:.3f}")
    print(f"cache_read_share={share:.3f}")
    print(f"schedule_ratio={wall / ideal:.3f}")


if __name__ == "__main__":
    main()
