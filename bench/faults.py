"""Fault campaign: PRs through `serve` while the providers, GitHub and the App itself fail.

    python bench/faults.py [--prs 50] [--kills 3] [--llm-fail 0.2] [--github-fail 0.05]
                           [--seed 1] [--timeout 600] [--max-attempts N] [--keep]

The App runs as its own process (`python -m app serve` on 127.0.0.1, a SQLite file) against
loopback fakes of GitHub and of the Anthropic and OpenAI APIs that run in this process with
seeded chaos: each model call fails with probability `--llm-fail` (429 with retry-after, 500, a
stall past the App's timeout, a 200 whose text is not the findings JSON, a 200 whose body is not
JSON), each GitHub call with probability `--github-fail` (502 before applying, a 2-5 s answer, a
write applied but answered 502). The App is SIGKILLed `--kills` times while jobs run and
restarted on the same database; deliveries that got no 2xx are redelivered with the same id, and
a few acknowledged ones are sent again. The fakes' state is the ground truth. To keep the run
short the App gets 8-second leases (default 300) and a 5-second LLM timeout (default 120).

Goals: every PR with exactly one review (one sticky summary, at most one bot review per head
SHA), 0 duplicated, 0 lost (no review, or a job not done), 0 crashes (exits we did not cause,
unhandled errors in the App's logs). Exits non-zero when a goal is missed.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fault_campaign import HOOK, CampaignOptions, run_campaign  # noqa: E402
from tests.fault_results import CampaignResult  # noqa: E402


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not within [0, 1]")
    return value


def parse_args(argv: list[str] | None = None) -> tuple[CampaignOptions, bool]:
    """The campaign's options from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prs", type=int, default=50)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--llm-fail", type=_fraction, default=0.2)
    parser.add_argument("--github-fail", type=_fraction, default=0.05)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds for the whole run")
    parser.add_argument(
        "--max-attempts", type=int, default=None, help="runs of a job (default: the App's)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the App's logs and database")
    args = parser.parse_args(argv)
    if args.prs < 1 or args.kills < 0 or args.timeout <= 0 or (args.max_attempts or 1) < 1:
        parser.error("need --prs >= 1, --kills >= 0, --timeout > 0 and --max-attempts >= 1")
    options = CampaignOptions(
        prs=args.prs,
        kills=args.kills,
        llm_fail=args.llm_fail,
        github_fail=args.github_fail,
        seed=args.seed,
        timeout_s=args.timeout,
        max_attempts=args.max_attempts,
    )
    return options, args.keep


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{kind} {n}" for kind, n in counts.items()) or "none"


def report(result: CampaignResult) -> list[str]:
    """The figures, one per line; the four goal lines last."""
    opts, tallies = result.options, result.tallies
    n = len(tallies)
    posted = sum(t.reviews > 0 for t in tallies)
    attempts: dict[int, int] = {}
    for t in tallies:
        attempts[t.attempts] = attempts.get(t.attempts, 0) + 1
    lines = [
        f"machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        f"campaign: {opts.prs} PRs, {opts.kills} kills, llm fail {opts.llm_fail:.0%}, "
        f"github fail {opts.github_fail:.0%}, seed {opts.seed}",
        f"app: {opts.workers} workers, max attempts {opts.max_attempts or 'default'}, "
        f"lease {opts.lease_s:g} s, LLM timeout "
        f"{opts.llm_timeout_s:g} s (SDK retries: default), GitHub slow answers "
        f"{opts.slow_s[0]:g}-{opts.slow_s[1]:g} s",
        f"wall time: {result.wall_s:.1f} s" + (" (TIMED OUT)" if result.timed_out else ""),
        f"requests: {_counts(result.requests)}",
        f"faults injected: llm {sum(result.llm_faults.values())} ({_counts(result.llm_faults)}); "
        f"github {sum(result.github_faults.values())} ({_counts(result.github_faults)})",
        f"github writes applied but answered 502 (with the 2 scripted ones): "
        f"{_counts(result.applied_502)}",
    ]
    lines += [f"kill {i}: {k}" for i, k in enumerate(result.kills, 1)]
    lines += [
        f"deliveries: {n} PRs, {result.deliveries_failed} attempts without a 2xx, "
        f"{result.redelivered} redelivered; {result.dedupe_checked} acknowledged ones sent "
        f"again, {len(result.dedupe_broken)} not deduplicated",
        "job attempts per PR: " + ", ".join(f"{k}: {v}" for k, v in sorted(attempts.items())),
        f"failed job attempts (retried): {sum(result.job_failures.values())}; "
        f"lost leases: {result.lease_lost}",
    ]
    lines += [f"  {count} x {reason}" for reason, count in result.job_failures.most_common()]
    lines += [
        f"PRs with a bot review (inline findings): {posted}/{n}; "
        f"partial reviews (a request failed, noted in the summary): "
        f"{sum(t.partial for t in tallies)}",
        f"findings the summary calls posted but no comment holds: {result.missing_findings}; "
        f"other bot comments: {sum(t.other_bot_comments for t in tallies)}",
    ]
    lines += [f"github refused: {r}" for r in result.github_refused[:5]]
    lines += [f"unhandled: {u}" for u in result.unhandled[:10]]
    if result.unexpected_exits or not result.final_clean:
        lines.append(f"exits: unexpected {result.unexpected_exits}, final {result.final_exit}")
    for t in tallies:
        if not t.exactly_one or t.lost:
            lines.append(
                f"  {t.pr.repository}#{t.pr.number}: {t.summaries} summaries, reviews by head "
                f"{t.reviews_by_sha}, jobs {t.job_states}"
            )
    lines += [
        f"PRs with exactly one review: {result.exactly_one}/{n} (goal {n}/{n})",
        f"duplicated reviews: {result.duplicated} (goal 0)",
        f"lost jobs: {result.lost} (goal 0)",
        f"crashes: {result.crashes} (goal 0)",
        f"goals met: {'yes' if result.goals_met else 'no'}",
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    """Run the campaign in a temporary folder and print its figures."""
    opts, keep = parse_args(argv)
    if not HOOK.is_file():
        print(f"missing fixture: tests/fixtures/github-webhooks/{HOOK.name}", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="faults-"))
    try:
        result = run_campaign(opts, workdir)
        print("\n".join(report(result)))
        return 0 if result.goals_met else 1
    finally:
        if keep:
            print(f"logs and database kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
