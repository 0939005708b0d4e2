"""How a calibration is shown: the `tiered-review/calibrate@1` JSON document and tables."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from app.calibrate.core import Figures, Outcome, figures
from app.calibrate.feedback import Direction, FeedbackLabels
from app.plan.config import Difficulty

CALIBRATE_SCHEMA = "tiered-review/calibrate@1"
GOALS = {
    "architectural_recall": (">=", 0.90),
    "low_with_frontier": ("<=", 0.10),
    "routed_over_frontier": ("<=", 0.30),
    "routed_over_middle": ("<=", 0.60),
}
Results = Mapping[str, tuple[Sequence[Outcome], Mapping[str, Difficulty]]]


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _met(name: str, value: float | None) -> bool | None:
    if value is None:
        return None
    op, goal = GOALS[name]
    return value >= goal if op == ">=" else value <= goal


def figures_json(f: Figures) -> dict[str, Any]:
    """One model's figures as JSON."""
    goals = {
        name: {
            "value": _round(getattr(f, name)),
            "goal": f"{op} {goal}",
            "met": _met(name, getattr(f, name)),
        }
        for name, (op, goal) in GOALS.items()
    }
    return {
        "prs": f.prs,
        "confusion": f.confusion,
        **{name: _round(getattr(f, name)) for name in GOALS},
        "label_accuracy": _round(f.label_accuracy),
        "goals": goals,
        "signals": [
            {"signal": s.signal, "fired": s.fired, "precision": round(s.precision, 4)}
            for s in f.signals
        ],
    }


def calibration_json(part: str, results: Results, fitted: dict[str, Any] | None) -> dict[str, Any]:
    """The calibration as the `tiered-review/calibrate@1` JSON document."""
    doc: dict[str, Any] = {"schema": CALIBRATE_SCHEMA, "part": part, "fit": fitted}
    for name, (outcomes, levels) in results.items():
        doc[name] = figures_json(figures(outcomes, levels))
        doc[name]["misses"] = [
            {
                "repo": o.row.repo,
                "head": o.row.head,
                "label": o.row.label.value,
                "predicted": o.predicted.value,
                "frontier": o.frontier,
            }
            for o in outcomes
            if (o.row.label is Difficulty.ARCHITECTURAL) != o.frontier
        ]
    return doc


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def print_calibration(
    part: str, results: Results, fitted: dict[str, Any] | None, console: Console
) -> None:
    """The figures side by side (before = legacy, after = facts), then each model's details."""
    if fitted is not None:
        console.print(
            f"fitted on {fitted['fitted_prs']} PRs: loss {fitted['loss_before']} -> "
            f"{fitted['loss_after']}; wrote {fitted['written_to']}"
        )
    computed = {name: figures(o, levels) for name, (o, levels) in results.items()}
    summary = Table(title=f"Calibration on the {part} part", title_justify="left")
    summary.add_column("figure")
    summary.add_column("goal")
    for name in computed:
        summary.add_column(
            "before (legacy)" if name == "legacy" else "after (facts)", justify="right"
        )
    summary.add_row("PRs", "", *(str(f.prs) for f in computed.values()))
    for goal_name, (op, goal) in GOALS.items():
        summary.add_row(
            goal_name.replace("_", " "),
            f"{op} {goal}",
            *(
                _fmt(getattr(f, goal_name))
                + ("" if _met(goal_name, getattr(f, goal_name)) in (None, True) else " (missed)")
                for f in computed.values()
            ),
        )
    summary.add_row("label accuracy", "", *(_fmt(f.label_accuracy) for f in computed.values()))
    console.print(summary)
    for name, f in computed.items():
        matrix = Table(
            title=f"{name}: confusion (rows: label read, columns: predicted)", title_justify="left"
        )
        matrix.add_column("label")
        for d in Difficulty:
            matrix.add_column(d.value, justify="right")
        for gold in Difficulty:
            matrix.add_row(gold.value, *(str(f.confusion[gold.value][p.value]) for p in Difficulty))
        console.print(matrix)
        signals = Table(
            title=f"{name}: signal precision (PRs as hard as the signal's level)",
            title_justify="left",
        )
        signals.add_column("signal")
        signals.add_column("fired", justify="right")
        signals.add_column("precision", justify="right")
        for s in f.signals:
            signals.add_row(s.signal, str(s.fired), f"{s.precision:.2f}")
        console.print(signals)


def feedback_json(labels: FeedbackLabels, sources: list[str]) -> dict[str, Any]:
    """The feedback labels as the `feedback` member of the calibrate JSON document."""
    return {
        "sources": sources,
        "signals": labels.signals,
        "acceptance": [
            {
                "tier": a.tier,
                "difficulty": a.difficulty,
                "category": a.category,
                "accepted": a.accepted,
                "rejected": a.rejected,
                "rate": a.rate,
            }
            for a in labels.acceptance
        ],
        **{
            d.value.replace("-", "_"): [
                {
                    "repository": e.repository,
                    "pr": e.pr_number,
                    "fingerprint": e.fingerprint,
                    "signal": e.signal,
                    "tier": e.tier,
                    "difficulty": e.difficulty,
                    "category": e.category,
                }
                for e in labels.of(d)
            ]
            for d in Direction
        },
    }


def print_feedback(labels: FeedbackLabels, console: Console) -> None:
    """Acceptance per tier, difficulty and category, then the mis-routing evidence."""
    table = Table(
        title=f"Feedback as labels: {labels.signals} judged findings", title_justify="left"
    )
    for name in ("tier", "difficulty", "category"):
        table.add_column(name)
    for name in ("accepted", "rejected", "rate"):
        table.add_column(name, justify="right")
    for a in labels.acceptance:
        table.add_row(
            a.tier, a.difficulty, a.category, str(a.accepted), str(a.rejected), _fmt(a.rate)
        )
    console.print(table)
    for d in Direction:
        found = labels.of(d)
        console.print(f"{d.value} evidence: {len(found)}")
        for e in found:
            console.print(
                f"  {e.repository}#{e.pr_number} {e.fingerprint}: {e.tier} finding "
                f"({e.category}) {e.signal} on a chunk labelled {e.difficulty}",
                markup=False,
                highlight=False,
            )
