"""`tiered-review calibrate --corpus FILE [--fit] [--feedback DB ...]`: the edge of calibration.

Reads the corpus TSV and its gzipped diffs (relative to the TSV's folder), plans every PR with the
packaged defaults exactly as `plan` would, once with the legacy classifier (before) and once with
the facts model (after), and prints the figures of the chosen part. `--fit` first fits the
weights on the fitting part and writes them (default: the packaged difficulty-model.yaml).
`--repos DIR` plans each PR whose repository has a git dir under DIR (`DIR/OWNER+NAME`, or a
`repo` folder in it) with the whole files at base and head, as `plan` in a repository does.
`--feedback DB` (repeatable, with or without `--corpus`) reads the ledgers' developer feedback,
read only like `report`, as labels: acceptance per route and the mis-routing evidence.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console

from app.calibrate.core import (
    CorpusError,
    CorpusRow,
    Outcome,
    Prices,
    PrWide,
    fit,
    levels_of,
    outcome,
    parse_corpus,
)
from app.calibrate.feedback import feedback_labels
from app.calibrate.output import (
    CALIBRATE_SCHEMA,
    calibration_json,
    feedback_json,
    print_calibration,
    print_feedback,
)
from app.errors import DiffError
from app.local.blobs import BlobReader, read_sides
from app.plan.chunks import formatter_run
from app.plan.config import Config
from app.plan.diff import decode_diff, parse_diff
from app.plan.difficulty import FACT_IDS
from app.plan.facts.model import TRIVIAL_FACTS, Params
from app.plan.packing import PullRequestInfo, package_of
from app.plan.planner import PlanInputs, build_plan
from app.resources import load_config, plan_inputs
from app.store.ledger_read import read_ledgers

PARTS = ("held-back", "fit", "all")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `calibrate`."""
    parser.add_argument("--corpus", type=Path, metavar="FILE", help="corpus TSV")
    parser.add_argument(
        "--feedback",
        action="append",
        metavar="DB",
        help="a ledger (path or URL, read only) whose developer feedback is read as labels; "
        "repeatable",
    )
    parser.add_argument("--fit", action="store_true", help="fit the weights on the fitting part")
    parser.add_argument(
        "--part", choices=PARTS, default="held-back", help="the PRs reported (default held-back)"
    )
    parser.add_argument(
        "--model",
        choices=["both", "facts", "legacy"],
        default="both",
        help="legacy = today's regex classifier (before), facts = the model (after)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        metavar="PATH",
        help="where --fit writes the model (default: the packaged difficulty-model.yaml)",
    )
    parser.add_argument(
        "--repos",
        type=Path,
        metavar="DIR",
        help="git dirs of the corpus's repositories, DIR/OWNER+NAME (or DIR/OWNER+NAME/repo): "
        "each PR is planned with the whole files at base and head",
    )
    parser.add_argument("--format", choices=["table", "json"], default="table")


def _with_model(config: Config, **update: Any) -> Config:
    difficulty = config.difficulty
    model = difficulty.model.model_copy(update=update)
    return config.model_copy(update={"difficulty": difficulty.model_copy(update={"model": model})})


def _read_rows(corpus: Path) -> list[tuple[CorpusRow, str]]:
    try:
        text = corpus.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CorpusError(f"{corpus}: cannot read corpus: {exc}") from exc
    out = []
    for row in parse_corpus(text, str(corpus)):
        path = corpus.parent / row.diff_name
        try:
            diff = decode_diff(gzip.decompress(path.read_bytes()))
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise CorpusError(f"{path}: cannot read the diff of {row.head[:12]}: {exc}") from exc
        out.append((row, diff))
    return out


def _git_dir(repos: Path, repo: str) -> Path | None:
    """The repository's git dir under `repos`: OWNER+NAME itself, or its `repo` folder."""
    folder = repos / repo.replace("/", "+")
    for candidate in (folder / "repo", folder):
        if (candidate / "objects").is_dir() or (candidate / ".git").exists():
            return candidate
    return None


def _outcomes(
    rows: Sequence[tuple[CorpusRow, str]], inputs: PlanInputs, repos: Path | None = None
) -> list[Outcome]:
    with ExitStack() as stack:
        readers: dict[str, BlobReader | None] = {}
        out = []
        for row, diff in rows:
            pr_inputs = replace(inputs, pr=PullRequestInfo(row.reason[:0]))
            try:
                if repos is not None:
                    if row.repo not in readers:
                        found = _git_dir(repos, row.repo)
                        readers[row.repo] = (
                            None if found is None else stack.enter_context(BlobReader(found))
                        )
                    reader = readers[row.repo]
                    if reader is not None:
                        sides = read_sides(reader, parse_diff(diff), row.base, row.head)
                        pr_inputs = replace(
                            pr_inputs, sources=sides.sources, originals=sides.originals
                        )
                plan = build_plan(diff, pr_inputs)
            except DiffError as exc:
                raise CorpusError(f"{row.repo}@{row.head[:12]}: {exc}") from exc
            packages = {c.path: package_of(c.path) for c in plan.chunks}
            model = inputs.config.difficulty.model
            run = formatter_run(
                plan.chunks, model.mechanical_pr_min_files, model.mechanical_pr_share
            )
            out.append(outcome(row, plan, packages, run is not None and model.kind != "legacy"))
        return out


def _params(config: Config) -> Params:
    m = config.difficulty.model
    return Params(m.weights, m.combine, m.ambiguous_band, m.ambiguous_max_lines)


PACKAGED_MODEL = Path(__file__).resolve().parents[1] / "data" / "difficulty-model.yaml"


def _write_model(
    path: Path,
    fitted: Params,
    corpus: Path,
    counts: tuple[int, int],
    today: dt.date,
    whole_files: bool = False,
) -> None:
    """Write the fitted numbers into the model file, keeping its other keys and its header
    (a new file starts from the packaged model's)."""
    source = path if path.exists() else PACKAGED_MODEL
    text = source.read_text("utf-8")
    data = yaml.safe_load(text)
    data["as_of"] = today
    data["fitted_on"] = (
        f"{corpus.name}, {counts[0]} PRs: fitted on the {counts[1]} whose head hash is not "
        "held back" + (", with the whole files at base and head (--repos)" if whole_files else "")
    )
    data["combine"] = fitted.combine
    data["ambiguous_band"] = fitted.ambiguous_band
    data["ambiguous_max_lines"] = fitted.ambiguous_max_lines
    data["weights"] = {k: float(v) for k, v in fitted.weights.items()}
    lines = text.splitlines()
    header = "".join(
        f"{line}\n"
        for line in lines[
            : next((i for i, line in enumerate(lines) if not line.startswith("#")), len(lines))
        ]
    )
    path.write_text(header + yaml.safe_dump(data, sort_keys=False, width=100), "utf-8")


def run_calibrate(args: argparse.Namespace, out: Console) -> int:
    """`tiered-review calibrate`: the corpus figures, the feedback labels, or both."""
    if args.corpus is None and not args.feedback:
        raise CorpusError("calibrate needs --corpus FILE, --feedback DB, or both")
    if args.fit and args.corpus is None:
        raise CorpusError("--fit needs --corpus FILE")
    doc: dict[str, Any] = {"schema": CALIBRATE_SCHEMA}
    if args.corpus is not None:
        doc = _run_corpus(args, out)
    if args.feedback:
        ledger = read_ledgers(args.feedback)
        labels = feedback_labels(ledger.feedback)
        sources = [s.name for s in ledger.sources]
        if args.format == "json":
            doc["feedback"] = feedback_json(labels, sources)
        else:
            print_feedback(labels, out)
    if args.format == "json":
        out.file.write(json.dumps(doc, indent=2) + "\n")
    return 0


def _run_corpus(args: argparse.Namespace, out: Console) -> dict[str, Any]:
    """The corpus part: the JSON document (written by the caller), or the tables printed."""
    if args.repos is not None and not args.repos.is_dir():
        raise CorpusError(f"{args.repos}: --repos needs a folder of git dirs (OWNER+NAME)")
    rows = _read_rows(args.corpus)
    config = load_config(None)
    base, _ = plan_inputs(config)
    fitted_doc: dict[str, Any] | None = None
    facts_config = _with_model(config, kind="facts")
    if args.fit:
        train = [(r, d) for r, d in rows if not r.held_back]
        trained = _outcomes(train, replace(base, config=facts_config), args.repos)
        tiers = base.catalog
        prices = Prices(
            *(
                tiers.get(config.tiers[t].model).prices[0].input
                for t in ("small", "middle", "frontier")
            )
        )
        wide = PrWide(config.pr_wide.min_packages, config.pr_wide.min_files)
        names = [f for f in FACT_IDS if f not in TRIVIAL_FACTS]
        fitted, before, after = fit(trained, _params(config), names, prices, wide)
        facts_config = _with_model(
            facts_config,
            weights=dict(fitted.weights),
            combine=fitted.combine,
            ambiguous_band=fitted.ambiguous_band,
            ambiguous_max_lines=fitted.ambiguous_max_lines,
        )
        target = args.output or PACKAGED_MODEL
        _write_model(
            target,
            fitted,
            args.corpus,
            (len(rows), len(train)),
            dt.date.today(),
            whole_files=args.repos is not None,
        )
        changed = {
            k: [config.difficulty.model.weights.get(k), v]
            for k, v in fitted.weights.items()
            if v != config.difficulty.model.weights.get(k)
        }
        fitted_doc = {
            "fitted_prs": len(train),
            "loss_before": round(before, 4),
            "loss_after": round(after, 4),
            "written_to": str(target),
            "changed_weights": changed,
            "combine": fitted.combine,
            "ambiguous_band": fitted.ambiguous_band,
            "ambiguous_max_lines": fitted.ambiguous_max_lines,
        }
    part = [
        (r, d) for r, d in rows if args.part == "all" or (r.held_back == (args.part == "held-back"))
    ]
    if not part:
        raise CorpusError(f"{args.corpus}: no PRs in the {args.part} part")
    results: dict[str, Any] = {}
    if args.model in ("both", "legacy"):
        legacy = _with_model(config, kind="legacy")
        levels = dict(legacy.difficulty.signals)
        results["legacy"] = (_outcomes(part, replace(base, config=legacy), args.repos), levels)
    if args.model in ("both", "facts"):
        levels = levels_of(facts_config.difficulty.model.weights)
        results["facts"] = (_outcomes(part, replace(base, config=facts_config), args.repos), levels)
    if args.format == "json":
        return calibration_json(args.part, results, fitted_doc)
    print_calibration(args.part, results, fitted_doc, out)
    return {}
