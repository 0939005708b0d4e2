"""How a forecast is shown: the stable JSON contract, a table for people, and an HTML page."""

from __future__ import annotations

import datetime as dt
from html import escape
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from app.forecast.core import Forecast, PrForecast, TierUse
from app.plan.output import totals_json
from app.report.charts import Series, bar_chart, line_chart

FORECAST_SCHEMA = "tiered-review/forecast@1"
TIER_MIX = "Tier mix (share of all PRs' requests, input tokens and cost)"
COST_PER_MONTH = "Review cost per month: routed vs all-frontier and all-middle"


def _usd(value: float) -> float:
    return round(value, 6)


def _share(part: float, whole: float) -> float:
    return round(100.0 * part / whole, 2) if whole > 0 else 0.0


def forecast_json(forecast: Forecast, repository: str, catalog_as_of: dt.date) -> dict[str, Any]:
    """The forecast as the `tiered-review/forecast@1` document (extra fields are additions)."""
    t = forecast.totals
    totals = totals_json(t, forecast.requests, forecast.plan_ms)
    totals["savings_vs_middle_pct"] = round(forecast.savings_vs_middle_pct, 2)
    totals["prs"] = len(forecast.prs)
    p = forecast.projection
    return {
        "schema": FORECAST_SCHEMA,
        "repository": repository,
        "catalog_as_of": catalog_as_of.isoformat(),
        "prs": [_pr_json(pr) for pr in forecast.prs],
        "totals": totals,
        "by_tier": {tier: _tier_json(use) for tier, use in forecast.tiers.items()},
        "by_task": {k: _usd(v) for k, v in forecast.tasks.items()},
        "by_difficulty": {k: _usd(v) for k, v in forecast.difficulties.items()},
        "by_month": [
            {
                "month": m.month,
                "prs": m.prs,
                "est_cost_usd": _usd(m.est_cost_usd),
                "all_frontier_usd": _usd(m.all_frontier_usd),
                "all_middle_usd": _usd(m.all_middle_usd),
            }
            for m in forecast.months
        ],
        "top_prs": [
            {
                "commit": pr.commit,
                "subject": pr.subject,
                "est_cost_usd": _usd(pr.totals.est_cost_usd),
                "reasons": list(pr.reasons),
            }
            for pr in forecast.top
        ],
        "skipped": [{"commit": c, "reason": why} for c, why in forecast.skipped],
        "warnings": [
            {"code": code, "message": message, "prs": n} for code, message, n in forecast.warnings
        ],
        "projection": None
        if p is None
        else {
            "span_days": round(p.span_days, 4),
            "prs_per_month": round(p.prs_per_month, 2),
            "est_cost_usd": _usd(p.est_cost_usd),
            "all_frontier_usd": _usd(p.all_frontier_usd),
            "all_middle_usd": _usd(p.all_middle_usd),
        },
    }


def _pr_json(pr: PrForecast) -> dict[str, Any]:
    return {
        "commit": pr.commit,
        "parent": pr.parent,
        "subject": pr.subject,
        "title": pr.title,
        "date": pr.date.isoformat(),
        "totals": totals_json(pr.totals, pr.requests, pr.plan_ms),
        "tiers": {tier: _tier_json(use) for tier, use in pr.tiers.items()},
    }


def _tier_json(use: TierUse) -> dict[str, Any]:
    return {
        "requests": use.requests,
        "input_tokens": use.input_tokens,
        "output_tokens": use.output_tokens,
        "est_cost_usd": _usd(use.est_cost_usd),
    }


def tier_mix(forecast: Forecast) -> tuple[list[str], list[Series]]:
    """The tier-mix chart's data: per tier, its share (%) of requests, input tokens and cost."""
    tiers = list(forecast.tiers)
    uses = list(forecast.tiers.values())
    rows = (
        ("requests %", [float(u.requests) for u in uses]),
        ("input tokens %", [float(u.input_tokens) for u in uses]),
        ("cost %", [u.est_cost_usd for u in uses]),
    )
    return tiers, [
        Series(name, tuple(_share(v, sum(values)) for v in values)) for name, values in rows
    ]


def cost_per_month(forecast: Forecast) -> tuple[list[str], list[Series]]:
    """The monthly chart's data: routed, all-frontier and all-middle cost per month (USD)."""
    months = forecast.months
    return [m.month for m in months], [
        Series("routed", tuple(_usd(m.est_cost_usd) for m in months)),
        Series("all-frontier", tuple(_usd(m.all_frontier_usd) for m in months)),
        Series("all-middle", tuple(_usd(m.all_middle_usd) for m in months)),
    ]


def forecast_html(forecast: Forecast, repository: str, catalog_as_of: dt.date) -> str:
    """One self-contained page (inline CSS and SVG, no script, no URL) with the charts."""
    t = forecast.totals
    labels, series = tier_mix(forecast)
    months, monthly = cost_per_month(forecast)
    rows = "".join(
        f"<tr><td><code>{escape(pr.commit[:12])}</code></td><td>{escape(pr.subject)}</td>"
        f"<td class=n>${pr.totals.est_cost_usd:.4f}</td>"
        f"<td><ul>{''.join(f'<li>{escape(r)}</li>' for r in pr.reasons)}</ul></td></tr>"
        for pr in forecast.top
    )
    name = escape(repository)
    return (
        "<!doctype html>\n<html lang=en><head><meta charset=utf-8>"
        f"<title>tiered-review forecast: {name}</title>"
        "<style>body{font-family:sans-serif;margin:2em;max-width:60em;color:#111827}"
        "td,th{padding:.25em .6em;text-align:left;vertical-align:top}.n{text-align:right}"
        "ul{margin:0;padding-left:1.2em}svg{display:block;margin:1.5em 0}</style></head><body>"
        f"<h1>What would reviewing {name} have cost?</h1>"
        f"<p>{_headline(forecast)}</p>"
        f"<p>Prices as of {catalog_as_of.isoformat()}; estimates from the same planner as "
        "<code>tiered-review plan</code>.</p>"
        + bar_chart(TIER_MIX, labels, series, unit="%")
        + line_chart(COST_PER_MONTH, months, monthly, unit="$")
        + "<h2>Cost by task and by difficulty</h2><table>"
        + "".join(
            f"<tr><td>{by}</td><td>{escape(key)}</td><td class=n>${value:.4f}</td></tr>"
            for by, values in (("task", forecast.tasks), ("difficulty", forecast.difficulties))
            for key, value in values.items()
        )
        + "</table><h2>Most expensive PRs</h2><table><tr><th>commit</th><th>subject</th>"
        f"<th class=n>est. cost</th><th>why</th></tr>{rows}</table>"
        f"<p>Worst case ${t.worst_case_usd:.4f}; {forecast.requests} requests.</p>"
        "</body></html>\n"
    )


def _headline(forecast: Forecast) -> str:
    t, p = forecast.totals, forecast.projection
    text = (
        f"{len(forecast.prs)} PRs: routed ${t.est_cost_usd:.4f} vs all-frontier "
        f"${t.all_frontier_usd:.4f} ({t.savings_pct:.1f}% saved) and all-middle "
        f"${t.all_middle_usd:.4f} ({forecast.savings_vs_middle_pct:.1f}% saved)."
    )
    if p is None:
        return text + " Too few PRs, or too little time between them, for a monthly projection."
    return text + (
        f" At the observed rate ({p.prs_per_month:,.1f} PRs a month over {p.span_days:.2f} days)"
        f" a month costs ${p.est_cost_usd:,.2f} routed vs ${p.all_frontier_usd:,.2f} "
        f"all-frontier and ${p.all_middle_usd:,.2f} all-middle."
    )


def print_forecast(forecast: Forecast, console: Console, catalog_as_of: dt.date) -> None:
    """Tier mix, cost splits and the most expensive PRs as tables, then the headline."""
    tiers = Table(title="Tier mix", title_justify="left")
    for name in ("tier", "requests", "input tok", "output tok", "est $", "cost %"):
        tiers.add_column(name, justify="left" if name == "tier" else "right")
    total = forecast.totals.est_cost_usd
    for tier, use in forecast.tiers.items():
        tiers.add_row(
            tier,
            f"{use.requests:,}",
            f"{use.input_tokens:,}",
            f"{use.output_tokens:,}",
            f"{use.est_cost_usd:.4f}",
            f"{_share(use.est_cost_usd, total):.1f}",
        )
    console.print(tiers)
    split = Table(title="Cost by task and by difficulty", title_justify="left")
    split.add_column("by")
    split.add_column("key")
    split.add_column("est $", justify="right")
    for by, values in (("task", forecast.tasks), ("difficulty", forecast.difficulties)):
        for key, value in values.items():
            split.add_row(by, key, f"{value:.4f}")
    console.print(split)
    top = Table(title="Most expensive PRs", title_justify="left")
    for name in ("commit", "subject", "est $", "why"):
        top.add_column(name, justify="right" if name == "est $" else "left")
    for pr in forecast.top:
        # Subjects and reasons are repository text: Text() so rich reads no markup in them.
        top.add_row(
            pr.commit[:12],
            Text(pr.subject),
            f"{pr.totals.est_cost_usd:.4f}",
            Text("\n".join(pr.reasons)),
        )
    console.print(top)
    console.print(_headline(forecast), markup=False, highlight=False)
    for code, message, n in forecast.warnings:
        console.print(Text(f"warning {code} ({n} PRs), e.g. {message}", style="yellow"))
    for commit, why in forecast.skipped:
        console.print(Text(f"skipped {commit[:12]}: {why}", style="yellow"))
    console.print(
        f"Planned in {forecast.plan_ms:,.0f} ms; prices as of {catalog_as_of}.", highlight=False
    )
