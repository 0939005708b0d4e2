"""The `tiered-review` command line: reads its input, builds the adapters, calls the core."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from app.config import Mode, config_json_schema
from app.diff import decode_diff
from app.errors import TieredReviewError
from app.gitdiff import local_diff
from app.packing import PullRequestInfo
from app.plan import PlanInputs, build_plan
from app.plan_output import plan_json, print_table
from app.resources import load_catalog, load_config, load_prompts
from app.tokens import load_counter

log = logging.getLogger("tiered_review")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tiered-review",
        description="Route each part of a pull request to the cheapest model tier that reviews it "
        "well, and show what it costs.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    plan = sub.add_parser("plan", help="offline: show where each chunk would go and its cost")
    source = plan.add_mutually_exclusive_group()
    source.add_argument("--diff", metavar="PATH|-", help="a unified diff file, or - for stdin")
    source.add_argument("--base", metavar="REF", help="plan the branch against REF's merge base")
    plan.add_argument("--worktree", action="store_true", help="include uncommitted changes")
    plan.add_argument("--config", type=Path, metavar="PATH", help="a tiered-review.yml")
    plan.add_argument("--mode", choices=[m.value for m in Mode], default=Mode.NORMAL.value)
    plan.add_argument("--format", choices=["table", "json"], default="table")
    plan.add_argument("--explain", action="store_true", help="show each chunk's reasons and rule")
    plan.add_argument("--title", default="", help="the PR title the models would see")
    sub.add_parser("config-schema", help="print the JSON schema of .github/tiered-review.yml")
    return parser


def _read_diff(args: argparse.Namespace) -> str:
    if args.diff == "-":
        return decode_diff(sys.stdin.buffer.read())
    if args.diff:
        try:
            return decode_diff(Path(args.diff).read_bytes())
        except OSError as exc:
            raise TieredReviewError(f"{args.diff}: cannot read diff: {exc.strerror}") from exc
    return decode_diff(local_diff(Path.cwd(), args.base, args.worktree))


def _repo_config(args: argparse.Namespace) -> Path | None:
    if args.config is not None:
        return Path(args.config)
    default = Path(".github/tiered-review.yml")
    return default if args.diff is None and default.is_file() else None


def run_plan(args: argparse.Namespace, out: Console) -> int:
    """`tiered-review plan`."""
    config = load_config(_repo_config(args))
    counter, warning = load_counter()
    inputs = PlanInputs(
        config=config,
        catalog=load_catalog(config),
        prompts=load_prompts(),
        counter=counter,
        today=dt.date.today(),
        mode=Mode(args.mode),
        pr=PullRequestInfo(title=args.title),
    )
    text = _read_diff(args)
    started = time.perf_counter()
    plan = build_plan(text, inputs)
    elapsed_ms = (time.perf_counter() - started) * 1000
    if warning:
        log.debug("tokenizer fallback: %s", warning)
    if args.format == "json":
        out.file.write(json.dumps(plan_json(plan, elapsed_ms), indent=2) + "\n")
    else:
        print_table(plan, elapsed_ms, out, args.explain)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; user errors exit 2 with one line, no traceback."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = _parser().parse_args(argv)
    out = Console(file=sys.stdout, width=160 if not sys.stdout.isatty() else None)
    try:
        if args.command == "plan":
            return run_plan(args, out)
        sys.stdout.write(config_json_schema())
        return 0
    except TieredReviewError as exc:
        sys.stderr.write(f"tiered-review: {exc}\n")
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
