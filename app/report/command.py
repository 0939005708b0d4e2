"""`tiered-review report`: read the ledgers, build the report, write it in the asked format."""

from __future__ import annotations

import argparse
import io
import json
import time
from pathlib import Path

from rich.console import Console

from app.errors import TieredReviewError
from app.report.core import build_report, parse_since
from app.report.html import report_html
from app.report.output import print_report, report_json
from app.resources import load_catalog, load_config
from app.settings import Settings
from app.store.ledger_read import read_ledgers

TABLE_WIDTH = 160


def run_report_command(args: argparse.Namespace, out: Console) -> int:
    """Build the report from every `--db` (or the default database) and write it.

    `--db` values are `TIERED_REVIEW_DB`-style (a file path or a URL), each read only.
    """
    now = time.time()
    since = parse_since(args.since, now) if args.since else None
    databases = args.db or [Settings.from_env().database]
    ledger = read_ledgers(databases, since, args.repository)
    report = build_report(
        ledger, load_catalog(load_config(None)), now, since=since, repository=args.repository
    )
    if args.format == "json":
        text = json.dumps(report_json(report), indent=2) + "\n"
    elif args.format == "html":
        text = report_html(report)
    elif args.output is None:
        print_report(report, out)
        return 0
    else:
        buffer = io.StringIO()
        print_report(report, Console(file=buffer, width=TABLE_WIDTH, color_system=None))
        text = buffer.getvalue()
    if args.output is None:
        out.file.write(text)
        return 0
    try:
        Path(args.output).write_text(text, "utf-8")
    except OSError as exc:
        raise TieredReviewError(f"{args.output}: cannot write the report: {exc.strerror}") from exc
    return 0
