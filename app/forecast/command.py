"""`tiered-review forecast`: a repository's past changes replayed through the planner.

The edge of the forecast: reads git (through `history`), the repository's config at HEAD and the
packaged data, plans every change with `build_plan` exactly as `plan` would (the PR's title is
the commit's), and hands the reduced results to the pure `forecast` module.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from app.errors import DiffError, TieredReviewError
from app.forecast.core import Forecast, PrForecast, build_forecast, pr_title, summarize_pr
from app.forecast.output import forecast_html, forecast_json, print_forecast
from app.local.blobs import BlobReader, read_sides
from app.local.gitdiff import repository_name
from app.local.history import Change, Window, changes, count_changes, head_file, repository_root
from app.plan.config import build_config, parse_repo_config
from app.plan.diff import decode_diff, parse_diff
from app.plan.packing import PullRequestInfo
from app.plan.planner import PlanInputs, build_plan
from app.resources import default_config_data, load_config, plan_inputs

log = logging.getLogger(__name__)
REPO_CONFIG = ".github/tiered-review.yml"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `forecast`."""
    parser.add_argument("--repo", type=Path, default=Path("."), metavar="PATH")
    window = parser.add_mutually_exclusive_group()
    window.add_argument("--last", type=_positive, metavar="N", help="the last N changes")
    window.add_argument("--since", type=_date, metavar="YYYY-MM-DD", help="changes since a day")
    parser.add_argument(
        "--config", type=Path, metavar="PATH", help=f"default: {REPO_CONFIG} at HEAD"
    )
    parser.add_argument("--format", choices=["table", "json", "html"], default="table")
    parser.add_argument("--output", type=Path, metavar="PATH", help="write here, not to stdout")
    parser.add_argument(
        "--top", type=_positive, default=10, metavar="N", help="costliest PRs shown"
    )


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {text!r}") from exc


def forecast_inputs(root: Path, config_path: Path | None) -> PlanInputs:
    """Plan inputs as `plan` builds them, with the config from `config_path` or HEAD's file."""
    if config_path is not None:
        config = load_config(config_path)
    else:
        text = head_file(root, REPO_CONFIG)
        source = f"HEAD:{REPO_CONFIG}"
        repo = parse_repo_config(text, source) if text is not None else {}
        config = build_config(default_config_data(), repo, source)
    inputs, warning = plan_inputs(config)
    if warning:
        log.debug("tokenizer fallback: %s", warning)
    return inputs


def change_inputs(reader: BlobReader, change: Change, inputs: PlanInputs) -> tuple[str, PlanInputs]:
    """One change's diff text and its plan inputs with the whole files at parent and commit,
    as `plan` in a checkout of the commit reads them (the facts compare the two trees)."""
    text = decode_diff(change.diff)
    sides = read_sides(reader, parse_diff(text), change.parent, change.commit)
    return text, replace(inputs, sources=sides.sources, originals=sides.originals)


def forecast_repository(
    root: Path,
    window: Window,
    inputs: PlanInputs,
    advance: Callable[[], None] = lambda: None,
    top: int = 10,
) -> Forecast:
    """Plan every change in the window and aggregate; a change that cannot be planned is listed."""
    prs: list[PrForecast] = []
    skipped: list[tuple[str, str]] = []
    with BlobReader(root) as reader:
        for change in changes(root, window):
            title = pr_title(change.subject, change.body)
            started = time.perf_counter()
            try:
                plan = build_plan(
                    *change_inputs(reader, change, replace(inputs, pr=PullRequestInfo(title)))
                )
            except DiffError as exc:
                skipped.append((change.commit, str(exc)))
                advance()
                continue
            ms = (time.perf_counter() - started) * 1000
            prs.append(
                summarize_pr(
                    change.commit, change.parent, change.subject, change.body, change.date, plan, ms
                )
            )
            advance()
    if not prs and not skipped:
        raise TieredReviewError(
            f"{root}: no commits in range ({window.describe()}; root commits are not PRs)"
        )
    prs.reverse()  # git gives newest first; the forecast reads oldest first
    skipped.reverse()
    return build_forecast(prs, top=top, skipped=skipped)


def run_forecast(args: argparse.Namespace, out: Console) -> int:
    """`tiered-review forecast`."""
    root = repository_root(Path(args.repo))
    window = Window(last=args.last, since=args.since)
    total = count_changes(root, window)
    if total == 0:
        raise TieredReviewError(
            f"{args.repo}: no commits in range ({window.describe()}; root commits are not PRs)"
        )
    inputs = forecast_inputs(root, args.config)
    err = Console(stderr=True)
    progress = Progress(
        TextColumn("planning history"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )
    with progress:
        task = progress.add_task("plan", total=total)
        result = forecast_repository(root, window, inputs, lambda: progress.advance(task), args.top)
    name, as_of = repository_name(root), inputs.catalog.as_of
    if args.format == "table" and args.output is None:
        print_forecast(result, out, as_of)
        return 0
    if args.format == "json":
        text = json.dumps(forecast_json(result, name, as_of), indent=2) + "\n"
    elif args.format == "html":
        text = forecast_html(result, name, as_of)
    else:
        buffer = io.StringIO()
        print_forecast(result, Console(file=buffer, width=160), as_of)
        text = buffer.getvalue()
    if args.output is None:
        out.file.write(text)
        return 0
    try:
        args.output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise TieredReviewError(f"{args.output}: cannot write: {exc.strerror}") from exc
    return 0
