"""How an eval run is shown: the `tiered-review/eval@1` JSON document and a table per tier."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from app.evals.core import CLIFF_POINTS, TOLERANCE, Comparison, Tally
from app.evals.sloppy import IntentTally, tally_intents
from app.plan.tiers import TIERS

if TYPE_CHECKING:
    from app.evals.command import EvalRun

EVAL_SCHEMA = "tiered-review/eval@1"


def _order(tier: str) -> tuple[int, int, str]:
    """Routed labels after forced tiers; tiers in the catalogue's order, unknown ones last."""
    routed, _, name = tier.rpartition(":")
    return (1 if routed else 0, TIERS.index(name) if name in TIERS else len(TIERS), tier)


def _ratio(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _tally_json(t: Tally) -> dict[str, Any]:
    return {
        "expected": t.expected,
        "found": t.found,
        "reported": t.reported,
        "correct": t.correct,
        "cases": t.cases,
        "recall": _ratio(t.recall),
        "precision": _ratio(t.precision),
    }


def _comparison_json(c: Comparison) -> dict[str, Any]:
    baseline = None
    if c.baseline_run is not None and c.shared_baseline and c.shared_current:
        baseline = {
            "run_uid": c.baseline_run,
            "created_at": c.baseline_at,
            "shared_cases": c.shared_current.cases,
            "recall": _ratio(c.shared_baseline.recall),
            "recall_now": _ratio(c.shared_current.recall),
            "expected": c.shared_baseline.expected,
        }
    return {
        "tier": c.tier,
        "category": c.category,
        **_tally_json(c.current),
        "baseline": baseline,
        "change_pts": c.change_pts,
        "cliff": c.cliff,
    }


def _sorted(comparisons: tuple[Comparison, ...]) -> list[Comparison]:
    return sorted(comparisons, key=lambda c: (_order(c.tier), c.category))


def eval_json(run: EvalRun) -> dict[str, Any]:
    """The run as the `tiered-review/eval@1` JSON document."""
    failed = [
        {"case": r.case.id, "tier": r.tier, "request": o.id, "status": o.status, "reason": o.reason}
        for r in run.runs
        for o in r.result.requests
        if o.status in ("failed", "skipped")
    ]
    return {
        "schema": EVAL_SCHEMA,
        "run_uid": run.run_uid,
        "created_at": run.created_at,
        "tiers": list(run.tiers),
        "tolerance_lines": TOLERANCE,
        "cliff_points": CLIFF_POINTS,
        "results": [_comparison_json(c) for c in _sorted(run.comparisons)],
        "cases": [
            {
                "id": r.case.id,
                "kind": r.case.kind,
                "tier": r.tier,
                "defects": len(r.case.defects),
                "findings": len(r.result.findings),
                "requests": len(r.result.requests),
                "cost_usd": round(r.result.totals.cost_usd, 6),
                "scores": [
                    {k: v for k, v in asdict(s).items() if k != "case_id"} for s in r.scores
                ],
            }
            for r in run.runs
        ],
        "failed_requests": failed,
        "model_behaviour": _behaviour_json(run),
        "totals": {
            "cases": len({r.case.id for r in run.runs}),
            "case_runs": len(run.runs),
            "cost_usd": round(run.cost_usd, 6),
            "cliffs": len(run.cliffs),
        },
    }


def _intents(run: EvalRun) -> IntentTally:
    tallies = [tally_intents(r.intents, r.result.findings) for r in run.runs]
    return IntentTally(*(sum(getattr(t, k) for t in tallies) for k in IntentTally.__slots__))


def _behaviour_json(run: EvalRun) -> dict[str, Any] | None:
    """How the scripted model's intended findings fared; None when real models answered."""
    if run.behaviour is None:
        return None
    intents = _intents(run)
    answered = [o for r in run.runs for o in r.result.requests if o.status != "skipped"]
    repairs = sum(o.repairs for o in answered)
    return {
        "behaviour": str(run.behaviour),
        "intended_findings": intents.meant,
        "inline_on_intended_line": intents.inline_on_line,
        "inline_share": _ratio(intents.inline_share),
        "kept_elsewhere": intents.elsewhere,
        "lost": intents.lost,
        "requests": len(answered),
        "repair_turns": repairs,
        "repairs_per_request": _ratio(repairs / len(answered)) if answered else None,
        "failed_requests": sum(o.status == "failed" for o in answered),
        "cost_usd": round(run.cost_usd, 6),
    }


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def print_eval(run: EvalRun, console: Console) -> None:
    """Recall and precision per tier and category, the change against the baseline, the cost."""
    table = Table(title=f"Eval run {run.run_uid[:12]}", title_justify="left")
    for name in ("tier", "category", "n", "found", "recall", "reported", "precision", "vs base"):
        table.add_column(name, justify="left" if name in ("tier", "category") else "right")
    table.add_column("")
    for c in _sorted(run.comparisons):
        t = c.current
        change = "-" if c.change_pts is None else f"{c.change_pts:+.1f} pts"
        table.add_row(
            c.tier,
            c.category,
            str(t.expected),
            str(t.found),
            _pct(t.recall),
            str(t.reported),
            _pct(t.precision),
            change,
            "[bold red]CLIFF[/bold red]" if c.cliff else "",
        )
    console.print(table)
    cases = len({r.case.id for r in run.runs})
    console.print(
        f"{cases} cases x {len(run.tiers)} ({', '.join(run.tiers)}): {len(run.runs)} reviews, "
        f"cost [bold]${run.cost_usd:.4f}[/bold]. A finding counts when its path and category "
        f"match and its lines are within {TOLERANCE} of a planted defect."
    )
    bases = sorted(
        {(c.baseline_at or 0.0, c.baseline_run) for c in run.comparisons if c.baseline_run}
    )
    for at, uid in bases:
        when = dt.datetime.fromtimestamp(at, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        console.print(f"Baseline: run {str(uid)[:12]} of {when} (over the cases both runs share)")
    if not bases:
        console.print("No baseline yet: the next run compares with this one.")
    for r in run.runs:
        for o in r.result.requests:
            if o.status in ("failed", "skipped"):
                console.print(
                    f"[yellow]{o.status}[/yellow] {r.case.id} on {r.tier}: {o.id}: {o.reason}"
                )
    doc = _behaviour_json(run)
    if doc is not None:
        console.print(
            f"Scripted model ({doc['behaviour']}): {doc['inline_on_intended_line']} of "
            f"{doc['intended_findings']} intended findings inline on their line "
            f"({_pct(doc['inline_share'])}), {doc['kept_elsewhere']} elsewhere, {doc['lost']} "
            f"lost; {doc['repair_turns']} repair turns over {doc['requests']} requests "
            f"({_pct(doc['repairs_per_request'])}); {doc['failed_requests']} failed."
        )
    for c in run.cliffs:
        before, now = c.shared_baseline, c.shared_current
        if before is None or now is None:  # a cliff always has both; keeps mypy honest
            continue
        console.print(
            f"[bold red]CLIFF[/bold red] {c.tier} / {c.category}: recall "
            f"{_pct(before.recall)} -> {_pct(now.recall)} ({c.change_pts:+.1f} pts, "
            f"n={now.expected} over {now.cases} shared cases; threshold -{CLIFF_POINTS:.0f} pts)"
        )
