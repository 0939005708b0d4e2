"""The eval's scripted sloppy model over several seeds: where its intended findings end up.

    python bench/sloppy_eval.py [--seeds 10] [--behaviour sloppy]

`tiered-review eval --model-behaviour sloppy` is seed 0 of this. Each seed draws the model's
mistakes anew (same rates), over the bundled cases, routed as shipped. Prints the machine, one
line per seed, and the totals: intended findings, inline on the intended line, kept elsewhere,
lost, repair turns per request, failed requests and cost.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.evals.command import bundled_cases, run_eval  # noqa: E402
from app.evals.core import load_cases  # noqa: E402
from app.evals.output import eval_json  # noqa: E402
from app.evals.sloppy import Behaviour  # noqa: E402
from app.plan.planner import PlanInputs  # noqa: E402
from app.plan.tokens import load_counter  # noqa: E402
from app.resources import load_catalog, load_config, load_prompts  # noqa: E402
from app.settings import Settings  # noqa: E402
from app.store.db import open_database  # noqa: E402

KEYS = ("intended_findings", "inline_on_intended_line", "kept_elsewhere", "lost")


def main() -> None:
    """Run the seeds and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--behaviour", choices=[b.value for b in Behaviour], default="sloppy")
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    config = load_config(None)
    base = PlanInputs(
        config=config,
        catalog=load_catalog(config),
        prompts=load_prompts(),
        counter=load_counter()[0],
        today=dt.date.today(),
    )
    cases = load_cases(bundled_cases())
    totals = dict.fromkeys(KEYS, 0)
    repairs = requests = failed = 0
    cost = 0.0
    dropped: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as folder:
        for seed in range(args.seeds):
            engine = open_database(str(Path(folder) / f"seed{seed}.db"))
            try:
                run = run_eval(
                    cases,
                    ("routed",),
                    base,
                    Settings.from_env({}),
                    engine,
                    time.time(),
                    Behaviour(args.behaviour),
                    seed,
                )
            finally:
                engine.dispose()
            doc = eval_json(run)["model_behaviour"]
            for r in run.runs:
                for o in r.result.requests:
                    for reason in o.dropped:
                        kind = reason.split(": ", 1)[1].split(":")[0]
                        dropped[kind] = dropped.get(kind, 0) + 1
            print(f"seed={seed} " + " ".join(f"{k}={doc[k]}" for k in (*KEYS, "repair_turns")))
            for key in KEYS:
                totals[key] += doc[key]
            repairs += doc["repair_turns"]
            requests += doc["requests"]
            failed += doc["failed_requests"]
            cost += doc["cost_usd"]
    meant = totals["intended_findings"]
    print(" ".join(f"{k}={v}" for k, v in totals.items()))
    print(f"inline_share={totals['inline_on_intended_line'] / meant:.4f}")
    print(f"repairs_per_request={repairs / requests:.4f} failed_requests={failed}")
    print(f"cost_usd_per_run={cost / args.seeds:.4f}")
    print(
        "dropped findings by reason: " + ", ".join(f"{k}={v}" for k, v in sorted(dropped.items()))
    )


if __name__ == "__main__":
    main()
