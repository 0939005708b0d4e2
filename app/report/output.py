"""How a ledger report is shown: tables for people and the stable JSON document.

The HTML page is in app/report/html.py; it shares the rounding and wording helpers below.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from rich.console import Console
from rich.table import Table

from app.report.core import CACHE_WARN_BELOW, CacheStat, Report, Spend

REPORT_SCHEMA = "tiered-review/report@1"
# "counted": requests after the first of their model and prefix in a review (app/report/core.py).
CACHE_COLUMNS = (
    "provider",
    "requests",
    "counted",
    "prefix tok read",
    "of cacheable",
    "hit rate",
    "reads / all input",
)


def usd(value: float) -> float:
    """Dollars as the JSON shows them (6 decimals)."""
    return round(value, 6)


def pct(value: float) -> float:
    """A percentage as the JSON shows it (2 decimals)."""
    return round(value, 2)


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat(timespec="seconds")


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _spend_json(s: Spend) -> dict[str, Any]:
    return {
        "requests": s.requests,
        "cost_usd": usd(s.cost_usd),
        "all_frontier_usd": usd(s.all_frontier_usd),
        "all_middle_usd": usd(s.all_middle_usd),
        "savings_pct": pct(s.savings_pct),
        "fresh_input_tokens": s.fresh_input_tokens,
        "cache_write_tokens": s.cache_write_tokens,
        "cache_read_tokens": s.cache_read_tokens,
        "output_tokens": s.output_tokens,
    }


def _model_json(s: Spend) -> dict[str, Any]:
    tier, _, key = s.name.partition(" ")
    provider, _, model = key.partition(":")
    return {"tier": tier, "provider": provider, "model": model, **_spend_json(s)}


def _cache_json(c: CacheStat) -> dict[str, Any]:
    return {
        "provider": c.provider,
        "requests": c.requests,
        "counted_requests": c.eligible_requests,
        "cache_read_tokens": c.read_tokens,
        "cacheable_tokens": c.eligible_tokens,
        "cache_hit_rate": c.hit_rate,
        "below_threshold": c.low,
        "input_tokens": c.input_tokens,
        "all_cache_read_tokens": c.all_read_tokens,
        "cache_read_share": c.read_share,
    }


def tier_mix(report: Report) -> tuple[list[str], list[float], list[float]]:
    """Per tier, its share of the requests and of the cost, in percent (2 decimals)."""
    requests = report.totals.requests
    cost = sum(s.cost_usd for s in report.by_tier)
    tiers = [s.name for s in report.by_tier]
    by_count = [pct(100 * s.requests / requests) if requests else 0.0 for s in report.by_tier]
    by_cost = [pct(100 * s.cost_usd / cost) if cost else 0.0 for s in report.by_tier]
    return tiers, by_count, by_cost


def report_json(report: Report) -> dict[str, Any]:
    """The report as the `tiered-review/report@1` JSON document."""
    t = report.totals
    tiers, by_count, by_cost = tier_mix(report)
    return {
        "schema": REPORT_SCHEMA,
        "generated_at": _iso(report.generated_at),
        "catalog_as_of": report.catalog_as_of.isoformat(),
        "filters": {"since": _iso(report.since), "repository": report.repository},
        "databases": [
            {"name": s.name, "reviews": s.reviews, "duplicates": s.duplicates}
            for s in report.sources
        ],
        "period": {"first": _iso(report.first_at), "last": _iso(report.last_at)},
        "totals": {
            "reviews": report.reviews,
            **_spend_json(t),
            "savings_usd": usd(t.all_frontier_usd - t.cost_usd),
            "cache_hit_rate": report.cache_hit_rate,
            "cache_hit_rate_by_provider": {
                c.provider: c.hit_rate for c in report.cache if c.hit_rate is not None
            },
        },
        "by_task": [{"task": s.name, **_spend_json(s)} for s in report.by_task],
        "by_tier": [{"tier": s.name, **_spend_json(s)} for s in report.by_tier],
        "by_model": [_model_json(s) for s in report.by_model],
        "acceptance": [
            {
                "tier": a.tier,
                "category": a.category,
                "accepted": a.accepted,
                "rejected": a.rejected,
                "rate": a.rate,
            }
            for a in report.acceptance
        ],
        "providers": [_cache_json(c) for c in report.cache],
        "cache_warn_below": CACHE_WARN_BELOW,
        "tier_mix": [
            {"tier": tier, "requests_pct": count, "cost_pct": cost}
            for tier, count, cost in zip(tiers, by_count, by_cost, strict=True)
        ],
        "routing_ms": {
            "samples": report.routing_ms.samples,
            "p50": _ms(report.routing_ms.p50),
            "p99": _ms(report.routing_ms.p99),
        },
        "top_prs": [
            {
                "label": p.label,
                "repository": p.repository,
                "pr_number": p.pr_number,
                "reviews": p.reviews,
                "cost_usd": usd(p.cost_usd),
                "all_frontier_usd": usd(p.all_frontier_usd),
            }
            for p in report.top_prs
        ],
        "timeline": {
            "period": report.timeline.period,
            "labels": list(report.timeline.labels),
            "cost_usd_by_task": {
                task: [usd(v) for v in values]
                for task, values in report.timeline.cost_by_task.items()
            },
        },
        "warnings": [{"code": w.code, "message": w.message} for w in report.warnings],
    }


def rate_text(value: float | None) -> str:
    """A 0-1 rate as a percentage, or "-" when there was nothing to measure."""
    return "-" if value is None else f"{value:.1%}"


def tokens_text(s: Spend) -> str:
    """Fresh / cache-write / cache-read input tokens."""
    return f"{s.fresh_input_tokens:,} / {s.cache_write_tokens:,} / {s.cache_read_tokens:,}"


def headline(report: Report) -> str:
    """The one-sentence bill: spent, baselines, saved."""
    t = report.totals
    return (
        f"Spent ${t.cost_usd:.4f} on {report.reviews} reviews ({t.requests} requests) against "
        f"${t.all_frontier_usd:.4f} all-frontier and ${t.all_middle_usd:.4f} all-middle: "
        f"{t.savings_pct:.1f}% (${t.all_frontier_usd - t.cost_usd:.4f}) saved."
    )


def _when(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def scope_lines(report: Report) -> list[str]:
    """What the report covers: period and filters, databases, price date."""
    window = "No reviews"
    if report.first_at is not None and report.last_at is not None:
        window = (
            f"{report.reviews} reviews from {_when(report.first_at)} to {_when(report.last_at)}"
        )
    filters = []
    if report.since is not None:
        filters.append(f"since {_when(report.since)}")
    if report.repository:
        filters.append(f"repository {report.repository}")
    databases = ", ".join(
        f"{s.name} ({s.reviews}" + (f", {s.duplicates} already counted)" if s.duplicates else ")")
        for s in report.sources
    )
    return [
        window + (f" ({', '.join(filters)})" if filters else "") + ".",
        f"Databases: {databases}. Prices as of {report.catalog_as_of}.",
    ]


def print_report(report: Report, console: Console) -> None:
    """The report as tables, the headline and the warnings."""
    console.print("[bold]Ledger report[/bold]: " + "\n".join(scope_lines(report)), highlight=False)
    spend = Table(title="Cost by task", title_justify="left")
    for name in ("task", "requests", "cost $", "all-frontier $", "saved"):
        spend.add_column(name, justify="left" if name == "task" else "right")
    for s in report.by_task:
        spend.add_row(
            s.name,
            str(s.requests),
            f"{s.cost_usd:.4f}",
            f"{s.all_frontier_usd:.4f}",
            f"{s.savings_pct:.1f}%",
        )
    console.print(spend)
    models = Table(title="Cost by tier and model", title_justify="left")
    for name in ("tier", "model", "requests", "input tok fresh/write/read", "output tok", "cost $"):
        models.add_column(name, justify="left" if name in ("tier", "model") else "right")
    for s in report.by_model:
        tier, _, model = s.name.partition(" ")
        models.add_row(
            tier,
            model,
            str(s.requests),
            tokens_text(s),
            f"{s.output_tokens:,}",
            f"{s.cost_usd:.4f}",
        )
    console.print(models)
    cache = Table(title="Prompt cache by provider", title_justify="left")
    for name in CACHE_COLUMNS:
        cache.add_column(name, justify="left" if name == "provider" else "right")
    for c in report.cache:
        flag = f" [red]< {CACHE_WARN_BELOW:.0%}[/red]" if c.low else ""
        cache.add_row(
            c.provider,
            str(c.requests),
            str(c.eligible_requests),
            f"{c.read_tokens:,}",
            f"{c.eligible_tokens:,}",
            rate_text(c.hit_rate) + flag,
            rate_text(c.read_share),
        )
    console.print(cache)
    pulls = Table(title="Most expensive PRs", title_justify="left")
    for name in ("pull request or diff", "reviews", "cost $", "all-frontier $"):
        pulls.add_column(name, justify="left" if name == "pull request or diff" else "right")
    for p in report.top_prs:
        pulls.add_row(p.label, str(p.reviews), f"{p.cost_usd:.4f}", f"{p.all_frontier_usd:.4f}")
    console.print(pulls)
    console.print(headline(report), highlight=False)
    r = report.routing_ms
    if r.p50 is not None and r.p99 is not None:
        console.print(
            f"Routing time p50 {r.p50:.1f} ms, p99 {r.p99:.1f} ms over {r.samples} reviews; "
            f"cache hit rate {rate_text(report.cache_hit_rate)} overall.",
            highlight=False,
        )
    for w in report.warnings:
        console.print(f"[yellow]warning[/yellow] {w.code}: {w.message}", highlight=False)
