"""How a plan is shown: the stable JSON contract and the table for people."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from app.plan.planner import Plan, Totals
from app.plan.wording import warning_message

PLAN_SCHEMA = "tiered-review/plan@1"


def _usd(value: float) -> float:
    return round(value, 6)


def totals_json(totals: Totals, requests: int, plan_ms: float) -> dict[str, Any]:
    """A plan's `totals` object; `forecast` prints the same one for each PR."""
    return {
        "est_cost_usd": _usd(totals.est_cost_usd),
        "worst_case_usd": _usd(totals.worst_case_usd),
        "all_frontier_usd": _usd(totals.all_frontier_usd),
        "all_middle_usd": _usd(totals.all_middle_usd),
        "savings_pct": round(totals.savings_pct, 2),
        "requests": requests,
        "plan_ms": round(plan_ms, 3),
    }


def plan_json(plan: Plan, plan_ms: float) -> dict[str, Any]:
    """The plan as the `tiered-review/plan@1` JSON document (extra fields are additions)."""
    return {
        "schema": PLAN_SCHEMA,
        "mode": plan.mode.value,
        "catalog_as_of": plan.catalog_as_of.isoformat(),
        "chunks": [
            {
                "id": c.id,
                "path": c.path,
                "lines_added": c.lines_added,
                "lines_deleted": c.lines_deleted,
                "difficulty": c.difficulty.value,
                "reasons": list(c.reasons),
                "skipped": c.skipped.value if c.skipped else None,
                "kind": c.kind.value,
                "private": c.private,
                "tokens_o200k": c.tokens,
                "signals": list(c.signals),
                "score": c.score,
                "ambiguous": c.ambiguous,
            }
            for c in plan.chunks
        ],
        "requests": [
            {
                "id": r.request.id,
                "task": r.request.task.value,
                "tier": r.request.route.tier,
                "provider": r.request.route.model.provider,
                "model": r.request.route.model.name,
                "rule": r.request.route.rule,
                "chunk_ids": list(r.request.chunk_ids),
                "input_tokens": r.priced.input_tokens,
                "tokens_exact": r.priced.tokens_exact,
                "prefix_tokens": r.priced.prefix_tokens,
                "prefix_fingerprint": r.fingerprint,
                "cacheable": r.priced.cacheable,
                "cache_write_tokens": r.priced.cache_write_tokens,
                "cache_read_tokens": r.priced.cache_read_tokens,
                "est_output_tokens": r.request.est_output_tokens,
                "max_output_tokens": r.request.max_output_tokens,
                "est_cost_usd": _usd(r.priced.est_cost_usd),
                "worst_case_usd": _usd(r.priced.worst_case_usd),
                "notes": [n.text for n in r.request.notes],
            }
            for r in plan.requests
        ],
        "totals": totals_json(plan.totals, len(plan.requests), plan_ms),
        "warnings": [{"code": w.code, "message": warning_message(w)} for w in plan.warnings],
    }


def print_table(plan: Plan, plan_ms: float, console: Console, explain: bool) -> None:
    """Chunks, requests and totals as tables; `explain` adds each chunk's reasons and rule."""
    rules = {
        cid: r.request.route.rule
        for r in plan.requests
        if r.request.task == "review"
        for cid in r.request.chunk_ids
    }
    tiers = {
        cid: r.request.route.tier
        for r in plan.requests
        if r.request.task == "review"
        for cid in r.request.chunk_ids
    }
    chunks = Table(title="Chunks", title_justify="left")
    for name in ("chunk", "path", "+", "-", "difficulty", "route"):
        chunks.add_column(name, justify="right" if name in "+-" else "left")
    if explain:
        chunks.add_column("why")
    for c in plan.chunks:
        route = f"skipped: {c.skipped}" if c.skipped else tiers.get(c.id, "summary only")
        row = [c.id, c.path, str(c.lines_added), str(c.lines_deleted), c.difficulty.value, route]
        if explain:
            rule = f"rule {rules[c.id]}" if c.id in rules else ""
            row.append("\n".join([*c.reasons, rule]).strip())
        chunks.add_row(*row)
    console.print(chunks)
    requests = Table(title="Requests", title_justify="left")
    for name in (
        "request",
        "tier",
        "model",
        "rule",
        "chunks",
        "input tok",
        "cache",
        "est $",
        "worst $",
    ):
        requests.add_column(name, justify="right" if name.endswith(("tok", "$")) else "left")
    for r in plan.requests:
        p = r.priced
        cache = "write" if p.cache_write_tokens else "read" if p.cache_read_tokens else "-"
        requests.add_row(
            r.request.id,
            r.request.route.tier,
            r.request.route.model.key,
            r.request.route.rule,
            str(len(r.request.chunk_ids)),
            f"{p.input_tokens:,}{'' if p.tokens_exact else '~'}",
            cache,
            f"{p.est_cost_usd:.4f}",
            f"{p.worst_case_usd:.4f}",
        )
    console.print(requests)
    t = plan.totals
    console.print(
        f"Estimated cost [bold]${t.est_cost_usd:.4f}[/bold] (worst case ${t.worst_case_usd:.4f}) "
        f"vs all-frontier ${t.all_frontier_usd:.4f} and all-middle ${t.all_middle_usd:.4f}: "
        f"[bold green]{t.savings_pct:.1f}% saved[/bold green]. "
        f"{len(plan.requests)} requests; planned in {plan_ms:.1f} ms; prices as of "
        f"{plan.catalog_as_of}; ~ marks estimated token counts."
    )
    if plan.requests:
        prints = sorted({(r.request.task.value, r.fingerprint[:16]) for r in plan.requests})
        console.print("Prefix fingerprints: " + ", ".join(f"{t} {f}" for t, f in prints))
    for w in plan.warnings:
        console.print(f"[yellow]warning[/yellow] {w.code}: {warning_message(w)}")
