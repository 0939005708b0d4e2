"""One real review against the real providers, when real keys are set (never run in CI).

    ANTHROPIC_API_KEY=... python bench/live_smoke.py [--diff examples/pr.diff] [--max-usd 0.50]

Plans the diff, refuses if the worst case exceeds --max-usd, runs the review and prints the
actual cost, the baselines and the cache figures per request.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.plan.planner import PlanInputs, build_plan  # noqa: E402
from app.plan.tokens import load_counter  # noqa: E402
from app.providers.registry import available, build_provider  # noqa: E402
from app.resources import load_catalog, load_config, load_prompts  # noqa: E402
from app.review.engine import EngineOptions, run_review  # noqa: E402
from app.settings import Settings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--diff", type=Path, default=ROOT / "examples" / "pr.diff")
    parser.add_argument("--max-usd", type=float, default=0.50)
    args = parser.parse_args()
    if os.environ.get("CI"):
        raise SystemExit("live_smoke spends real money: not in CI")
    settings = Settings.from_env()
    ready = available(settings)
    config = load_config(None)
    counter, _ = load_counter()
    inputs = PlanInputs(config, load_catalog(config), load_prompts(), counter, dt.date.today())
    plan = build_plan(args.diff.read_text(), inputs)
    needed = {p.request.route.model.provider for p in plan.requests}
    if not needed <= ready:
        print(f"skipped: no credentials for {', '.join(sorted(needed - ready))}")
        return
    if plan.totals.worst_case_usd > args.max_usd:
        raise SystemExit(f"worst case ${plan.totals.worst_case_usd:.4f} > --max-usd {args.max_usd}")

    async def go() -> None:
        providers = {n: build_provider(n, settings) for n in sorted(ready)}
        try:
            result = await run_review(
                plan,
                providers,
                config,
                inputs.catalog,
                EngineOptions("live-smoke", settings.concurrency),
            )
        finally:
            for p in providers.values():
                await p.aclose()
        for o in result.requests:
            print(
                f"{o.id:22} {o.provider}:{o.model:22} {o.status:8}"
                f" fresh={o.usage.fresh_input_tokens}"
                f" write={o.usage.cache_write_tokens} read={o.usage.cache_read_tokens}"
                f" out={o.usage.output_tokens} ${o.cost_usd:.5f} {o.latency_ms:.0f} ms"
            )
        t = result.totals
        print(
            f"cost_usd={t.cost_usd:.5f} all_frontier_usd={t.all_frontier_usd:.5f} "
            f"all_middle_usd={t.all_middle_usd:.5f} savings_pct={t.savings_pct:.1f} "
            f"cache_hit_rate={t.cache_hit_rate:.3f}"
            f" by_provider={dict(t.cache_hit_rate_by_provider)}"
            f" estimate_usd={plan.totals.est_cost_usd:.5f} findings={len(result.findings)}"
        )

    asyncio.run(go())


if __name__ == "__main__":
    main()
