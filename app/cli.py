"""The `tiered-review` command line: reads its input, builds the adapters, calls the core."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import importlib.metadata
import json
import logging
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from rich.console import Console

from app.errors import TieredReviewError
from app.local.blobs import repository_sides
from app.local.checkout import read_sources
from app.local.gitdiff import local_change, local_diff, repository_name, repository_top
from app.plan.config import Mode, config_json_schema
from app.plan.diff import decode_diff, parse_diff
from app.plan.output import plan_json, print_table
from app.plan.packing import PullRequestInfo
from app.plan.planner import Plan, PlanInputs, build_plan
from app.plan.tokens import load_counter
from app.providers.registry import available, open_providers, require_keys
from app.resources import default_config_text, load_catalog, load_config, plan_inputs
from app.review.engine import EngineOptions, run_review
from app.review.render import review_json, review_markdown
from app.review.result import ReviewResult
from app.review.status import EXIT_CODES, review_status, status_line
from app.settings import Settings
from app.store.db import open_database
from app.store.ledger import ReviewContext, record_review

log = logging.getLogger("tiered_review")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tiered-review",
        description="Route each part of a pull request to the cheapest model tier that reviews it "
        "well, and show what it costs.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    plan = sub.add_parser("plan", help="offline: show where each chunk would go and its cost")
    source = plan.add_mutually_exclusive_group()
    source.add_argument("--diff", metavar="PATH|-", help="a unified diff file, or - for stdin")
    source.add_argument("--base", metavar="REF", help="plan the branch against REF's merge base")
    plan.add_argument("--worktree", action="store_true", help="include uncommitted changes")
    _common(plan, ["table", "json"])
    plan.add_argument("--explain", action="store_true", help="show each chunk's reasons and rule")
    plan.add_argument("--title", default="", help="the PR title the models would see")
    review = sub.add_parser("review", help="plan, call the models, print (or post) the review")
    review.add_argument("target", nargs="?", metavar="OWNER/REPO#N", help="a pull request")
    review.add_argument("--diff", metavar="PATH|-", help="a diff file, or -")
    review.add_argument("--post", action="store_true", help="post the review on the PR")
    _common(review, ["markdown", "json"])
    review.add_argument("--title", default="", help="the PR title the models see")
    review.add_argument("--body", default="", help="the PR description the models see")
    review.add_argument("--repo", metavar="OWNER/REPO", help="the tenant for cache keys")
    serve = sub.add_parser("serve", help="run the GitHub App (webhooks, queue, workers)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--role",
        choices=["all", "web", "worker"],
        default="all",
        help="all: one process does everything; web: verify, enqueue and answer webhooks only; "
        "worker: run queued jobs only (its port serves /healthz, /readyz, /metrics)",
    )
    replay = sub.add_parser("replay", help="run the App's handler on a saved webhook payload")
    replay.add_argument("payload", type=Path, metavar="PAYLOAD.json")
    replay.add_argument("--event", required=True, help="the X-GitHub-Event name")
    sub.add_parser("config-schema", help="print the JSON schema of .github/tiered-review.yml")
    sub.add_parser("config-docs", help="print the configuration reference (docs/configuration.md)")
    models = sub.add_parser("models", help="the model catalog: tiers, prices, windows, retirement")
    models.add_argument("--config", type=Path, metavar="PATH", help="a tiered-review.yml")
    models.add_argument("--format", choices=["table", "markdown", "json"], default="table")
    forecast = sub.add_parser(
        "forecast", help="offline: what reviewing a repository's past changes would have cost"
    )
    from app.forecast.command import add_arguments as forecast_arguments

    forecast_arguments(forecast)
    calibrate = sub.add_parser(
        "calibrate",
        help="offline: the router against a labelled corpus of PRs (--fit refits it) "
        "or the ledger's developer feedback (--feedback)",
    )
    from app.calibrate.command import add_arguments as calibrate_arguments

    calibrate_arguments(calibrate)
    sub.add_parser("action", help="the GitHub Action entrypoint: reads the event the runner wrote")
    evals = sub.add_parser("eval", help="score each tier on planted defects; exit 3 on a cliff")
    evals.add_argument("--tiers", metavar="T,T", help="force each tier in turn (default: routed)")
    evals.add_argument("--cases", type=Path, metavar="DIR", help="case folders (default: bundled)")
    evals.add_argument("--config", type=Path, metavar="PATH", help="a tiered-review.yml")
    evals.add_argument("--format", choices=["table", "json"], default="table")
    evals.add_argument("--report", type=Path, metavar="PATH", help="also write the JSON report")
    evals.add_argument(
        "--model-behaviour",
        choices=["careful", "sloppy"],
        help="answer with a scripted model that reports the planted defects, no API key needed "
        "(sloppy: with the mistakes small models make)",
    )
    report = sub.add_parser("report", help="what the ledger's reviews cost, and what they saved")
    report.add_argument(
        "--db",
        action="append",
        metavar="PATH|URL",
        help="a ledger database, read only; repeat to add several up (a review in two of "
        "them counts once); default: TIERED_REVIEW_DB, else the state folder's",
    )
    report.add_argument("--since", metavar="DATE|Nd", help="from a UTC date (YYYY-MM-DD) or N days")
    report.add_argument("--repository", metavar="OWNER/REPO", help="only this repository")
    report.add_argument("--format", choices=["table", "json", "html"], default="table")
    report.add_argument("--output", type=Path, metavar="PATH", help="write there, not to stdout")
    return parser


def _version() -> str:
    """The installed distribution's version."""
    try:
        return importlib.metadata.version("tiered-review")
    except importlib.metadata.PackageNotFoundError:
        return "(not installed: run it from an installed copy for its version)"


def _common(parser: argparse.ArgumentParser, formats: list[str]) -> None:
    """The options `plan` and `review` share; the first format is the default."""
    parser.add_argument("--config", type=Path, metavar="PATH", help="a tiered-review.yml")
    parser.add_argument("--mode", choices=[m.value for m in Mode], default=Mode.NORMAL.value)
    parser.add_argument("--format", choices=formats, default=formats[0])


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


def run_review_command(args: argparse.Namespace, out: Console) -> int:
    """`tiered-review review`: the plan executed against the configured providers."""
    if (args.target is None) == (args.diff is None):
        raise TieredReviewError("review takes either OWNER/REPO#N or --diff PATH|-")
    if args.target is not None:
        return run_pull_review(args, out)
    if args.post:
        raise TieredReviewError("--post needs a pull request: review OWNER/REPO#N --post")
    settings = Settings.from_env()
    text = _read_diff(args)
    inputs, _ = _inputs(args, args.config, PullRequestInfo(title=args.title, body=args.body))
    inputs = replace(inputs, sources=read_sources(Path.cwd(), parse_diff(text)))
    started = time.perf_counter()
    plan = build_plan(text, inputs)
    plan_ms = (time.perf_counter() - started) * 1000
    ready = available(settings)
    require_keys(plan, ready)
    tenant = args.repo or repository_name(Path.cwd())
    result = asyncio.run(_review(plan, settings, inputs, tenant))
    _record(settings, result, ReviewContext("review", tenant, tenant, routing_ms=plan_ms))
    if args.format == "json":
        out.file.write(json.dumps(review_json(result, plan_ms), indent=2) + "\n")
    else:
        out.file.write(review_markdown(result, plan_ms))
    return _exit_code(result)


def _exit_code(result: ReviewResult) -> int:
    """0 for a complete review; 4 or 5 (see `ExitCode`) with one line on stderr otherwise."""
    status = review_status(result)
    line = status_line(result)
    if line:
        sys.stderr.write(f"tiered-review: {line}\n")
    return int(EXIT_CODES[status])


def run_pull_review(args: argparse.Namespace, out: Console) -> int:
    """`tiered-review review OWNER/REPO#N [--post]`: read the PR on GitHub, review, post once.

    The App's job runner does the review (one path); the CLI only names the tenant (`--repo`),
    keeps the daily cap off, and records in its own ledger.
    """
    # Imported here: `plan` and local reviews need neither PyGithub nor its start-up time.
    from app.gh.decision import Trigger
    from app.review.pull_request import PullRef
    from app.server.job_spec import JobKind, JobSpec
    from app.server.jobs import JobRunner, token_clients

    settings = Settings.from_env()
    ref = PullRef.parse(args.target)
    if settings.github_token is None:
        raise TieredReviewError("missing credentials: set GITHUB_TOKEN to read the pull request")
    if not available(settings):
        raise TieredReviewError(
            "missing credentials: set one of ANTHROPIC_API_KEY, OPENAI_API_KEY, GEMINI_API_KEY "
            "or LOCAL_LLM_BASE_URL"
        )
    counter, _ = load_counter()
    spec = JobSpec(JobKind.REVIEW, ref.owner, ref.repo, ref.number, Mode(args.mode), Trigger())
    ledger = open_database(settings.database)
    try:
        runner = JobRunner(
            settings,
            token_clients(settings),
            counter,
            today=dt.date.today,
            ledger=ledger,
            source="review",
            daily_cap=False,
            tenant=args.repo,
            post=args.post,
        )
        report = asyncio.run(runner.execute(spec))
    finally:
        ledger.dispose()
    outcome = report.outcome
    if outcome is None:
        raise TieredReviewError(f"{ref.repository}#{ref.number}: {report.text}")
    if args.format == "json":
        doc = review_json(outcome.result, 0.0)
        doc["github"] = {
            "pull_request": f"{ref.repository}#{ref.number}",
            "head_sha": outcome.info.head_sha,
            "posted": outcome.posted,
            "scope": outcome.scope_note,
            "inline_comments": list(outcome.comments),
            "summary_comment": outcome.summary,
            "review_body": outcome.review_body,
        }
        out.file.write(json.dumps(doc, indent=2) + "\n")
    else:
        verb = "Posted" if outcome.posted else "Would post"
        out.file.write(
            f"{verb} on {ref.repository}#{ref.number} at {outcome.info.head_sha[:12]}: "
            f"{len(outcome.comments)} inline comments"
            f"{'' if outcome.review_body else ' (no review: nothing inline)'}"
            " and this summary comment:\n\n"
        )
        out.file.write(outcome.summary)
        for comment in outcome.comments:
            out.file.write(
                f"\n--- inline {comment['path']}:{comment['line']} "
                f"{comment['side']} ---\n{comment['body']}\n"
            )
    return _exit_code(outcome.result)


def _record(settings: Settings, result: ReviewResult, context: ReviewContext) -> None:
    """Add the review to the ledger in `TIERED_REVIEW_DB` (by default the user's state folder)."""
    engine = open_database(settings.database)
    try:
        record_review(engine, result, context)
    finally:
        engine.dispose()


async def _review(plan: Plan, settings: Settings, inputs: PlanInputs, tenant: str) -> ReviewResult:
    async with open_providers(settings) as providers:
        options = EngineOptions(tenant=tenant, concurrency=settings.concurrency)
        return await run_review(plan, providers, inputs.config, inputs.catalog, options)


def _inputs(
    args: argparse.Namespace, config_path: Path | None, pr: PullRequestInfo
) -> tuple[PlanInputs, str | None]:
    """Plan inputs from the packaged data, the config file and today's date."""
    return plan_inputs(load_config(config_path), Mode(args.mode), pr)


def run_plan(args: argparse.Namespace, out: Console) -> int:
    """`tiered-review plan`."""
    inputs, warning = _inputs(args, _repo_config(args), PullRequestInfo(title=args.title))
    if args.diff is None:  # in a repository: the facts compare the whole files on both sides
        raw, merge_base = local_change(Path.cwd(), args.base, args.worktree)
        text = decode_diff(raw)
        head = None if args.worktree else "HEAD"
        sides = repository_sides(repository_top(Path.cwd()), parse_diff(text), merge_base, head)
        inputs = replace(inputs, sources=sides.sources, originals=sides.originals)
    else:
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


def run_models(args: argparse.Namespace, out: Console) -> int:
    """`tiered-review models`: the catalog with the tiers that name each model."""
    from app.plan.model_table import models_json, models_markdown, print_models

    config = load_config(args.config)
    catalog = load_catalog(config)
    if args.format == "markdown":
        out.file.write(models_markdown(catalog, config))
    elif args.format == "json":
        out.file.write(json.dumps(models_json(catalog, config), indent=2) + "\n")
    else:
        print_models(catalog, config, out)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; user errors exit 2 with one line, no traceback."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = _parser().parse_args(argv)
    out = Console(file=sys.stdout, width=160 if not sys.stdout.isatty() else None)
    try:
        if args.command == "plan":
            return run_plan(args, out)
        if args.command == "review":
            return run_review_command(args, out)
        if args.command == "serve":
            from app.server.service import Role, serve

            serve(Settings.from_env(), args.host, args.port, Role(args.role))
            return 0
        if args.command == "eval":
            from app.evals.command import run_eval_command

            return run_eval_command(args, out)
        if args.command == "report":
            from app.report.command import run_report_command

            return run_report_command(args, out)
        if args.command == "action":
            from app.action import run_action

            return run_action()
        if args.command == "forecast":
            from app.forecast.command import run_forecast

            return run_forecast(args, out)
        if args.command == "models":
            return run_models(args, out)
        if args.command == "config-docs":
            from app.plan.config_docs import config_reference

            out.file.write(config_reference(default_config_text()))
            return 0
        if args.command == "calibrate":
            from app.calibrate.command import run_calibrate

            return run_calibrate(args, out)
        if args.command == "replay":
            from app.server.service import replay

            out.file.write(replay(Settings.from_env(), args.payload, args.event) + "\n")
            return 0
        sys.stdout.write(config_json_schema())
        return 0
    except TieredReviewError as exc:
        sys.stderr.write(f"tiered-review: {exc}\n")
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
