"""The ledger report as one self-contained HTML page: cards, warnings, four charts, tables.

Inline CSS and SVG from app/report/charts.py; no script, font or URL. The charts are drawn from the
same rounded figures as the JSON document (app/report/output.py), so a browser test can compare
each bar with it. Everything from the ledger is escaped: repository names are untrusted.
"""

from __future__ import annotations

from html import escape

from app.report.charts import Series, bar_chart
from app.report.core import CACHE_WARN_BELOW, Report
from app.report.output import (
    CACHE_COLUMNS,
    headline,
    pct,
    rate_text,
    scope_lines,
    tier_mix,
    tokens_text,
    usd,
)

CHART_COST_OVER_TIME = "Cost per task type over time"
CHART_CACHE = "Cache hit rate per provider"
CHART_TIER_MIX = "Tier mix"
CHART_BASELINES = "Routed cost against the baselines"
_CHART_WIDTH, _CHART_HEIGHT = 560, 300


def report_charts(report: Report) -> list[str]:
    """The four charts, as inline SVG, from the JSON document's rounded figures."""
    tl = report.timeline
    over_time = bar_chart(
        f"{CHART_COST_OVER_TIME} (per {tl.period})",
        tl.labels,
        [Series(task, tuple(usd(v) for v in values)) for task, values in tl.cost_by_task.items()],
        stacked=True,
        unit="$",
        width=_CHART_WIDTH,
        height=_CHART_HEIGHT,
    )
    rated = [c for c in report.cache if c.hit_rate is not None]
    cache = bar_chart(
        CHART_CACHE,
        [c.provider for c in rated],
        [Series("hit rate", tuple(pct(100 * (c.hit_rate or 0.0)) for c in rated))],
        threshold=100 * CACHE_WARN_BELOW,
        threshold_label="warn below",
        unit="%",
        width=_CHART_WIDTH,
        height=_CHART_HEIGHT,
    )
    tiers, by_count, by_cost = tier_mix(report)
    mix = bar_chart(
        CHART_TIER_MIX,
        tiers,
        [Series("% of requests", tuple(by_count)), Series("% of cost", tuple(by_cost))],
        unit="%",
        width=_CHART_WIDTH,
        height=_CHART_HEIGHT,
    )
    t = report.totals
    baselines = bar_chart(
        CHART_BASELINES,
        ["routed", "all-middle", "all-frontier"],
        [Series("cost", (usd(t.cost_usd), usd(t.all_middle_usd), usd(t.all_frontier_usd)))],
        unit="$",
        width=_CHART_WIDTH,
        height=_CHART_HEIGHT,
    )
    return [over_time, cache, mix, baselines]


_CSS = (
    "body{font-family:system-ui,sans-serif;margin:24px auto;max-width:1160px;color:#111827;"
    "padding:0 16px}h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px}"
    ".scope{color:#4b5563;font-size:13px;margin:0 0 16px}"
    ".cards{display:grid;grid-template-columns:repeat(5,1fr);gap:12px;margin:16px 0}"
    ".card{border:1px solid #e5e7eb;border-radius:8px;padding:10px 14px}"
    ".card b{display:block;font-size:20px}.card span{color:#4b5563;font-size:12px}"
    ".charts{display:grid;grid-template-columns:repeat(2,1fr);gap:12px}"
    ".charts figure{margin:0;border:1px solid #e5e7eb;border-radius:8px;padding:8px}"
    ".charts svg{display:block;max-width:100%;height:auto}"
    "table{border-collapse:collapse;font-size:13px;min-width:640px}"
    "th,td{padding:4px 14px;border-bottom:1px solid #e5e7eb;text-align:left}"
    "th{background:#f9fafb}.n{text-align:right;font-variant-numeric:tabular-nums}"
    ".warn{background:#fef3c7;border:1px solid #f59e0b;border-radius:8px;padding:8px 14px;"
    "font-size:13px}.warn li{margin:2px 0}.low{color:#dc2626;font-weight:bold}"
    ".foot{color:#4b5563;font-size:12px;margin-top:20px}"
)


def _table(head: list[str], rows: list[list[str]], numeric: set[int]) -> str:
    def cell(tag: str, i: int, text: str) -> str:
        return f"<{tag}{' class=n' if i in numeric else ''}>{text}</{tag}>"

    header = "".join(cell("th", i, escape(h)) for i, h in enumerate(head))
    body = "".join(
        "<tr>" + "".join(cell("td", i, text) for i, text in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><tr>{header}</tr>{body}</table>"


def _cards(report: Report) -> str:
    t = report.totals
    r = report.routing_ms
    routing = "-" if r.p50 is None or r.p99 is None else f"{r.p50:.1f} / {r.p99:.1f} ms"
    cards = [
        (f"${t.cost_usd:.4f}", f"spent on {report.reviews} reviews, {t.requests} requests"),
        (f"${t.all_frontier_usd:.4f}", f"all-frontier (all-middle ${t.all_middle_usd:.4f})"),
        (f"{t.savings_pct:.1f}%", f"saved: ${t.all_frontier_usd - t.cost_usd:.4f}"),
        (rate_text(report.cache_hit_rate), "prompt cache hit rate"),
        (routing, "routing time p50 / p99"),
    ]
    return (
        "<div class=cards>"
        + "".join(
            f"<div class=card><b>{escape(v)}</b><span>{escape(k)}</span></div>" for v, k in cards
        )
        + "</div>"
    )


def _tables(report: Report) -> str:
    money = "{:.4f}".format
    tasks = [
        [escape(s.name), str(s.requests), money(s.cost_usd), money(s.all_frontier_usd)]
        + [f"{s.savings_pct:.1f}%"]
        for s in report.by_task
    ]
    models = [
        [
            *map(escape, s.name.split(" ", 1)),
            str(s.requests),
            tokens_text(s),
            f"{s.output_tokens:,}",
        ]
        + [money(s.cost_usd)]
        for s in report.by_model
    ]
    cache = [
        [
            escape(c.provider),
            str(c.requests),
            str(c.eligible_requests),
            f"{c.read_tokens:,}",
            f"{c.eligible_tokens:,}",
            f"<span class=low>{rate_text(c.hit_rate)}</span>" if c.low else rate_text(c.hit_rate),
            rate_text(c.read_share),
        ]
        for c in report.cache
    ]
    pulls = [
        [escape(p.label), str(p.reviews), money(p.cost_usd), money(p.all_frontier_usd)]
        for p in report.top_prs
    ]
    cost_by_tier = {t.name: t.cost_usd for t in report.by_tier}
    accepted = [
        [
            escape(a.tier),
            escape(a.category),
            str(a.accepted),
            str(a.rejected),
            rate_text(a.rate),
            money(cost_by_tier.get(a.tier, 0.0)) if a.category == "all" else "",
        ]
        for a in report.acceptance
    ]
    feedback = (
        "<h2>Acceptance by tier and category</h2>"
        + _table(
            ["tier", "category", "accepted", "rejected", "acceptance", "tier cost $"],
            accepted,
            {2, 3, 4, 5},
        )
        if accepted
        else ""
    )
    return (
        "<h2>Cost by task</h2>"
        + _table(["task", "requests", "cost $", "all-frontier $", "saved"], tasks, {1, 2, 3, 4})
        + "<h2>Cost by tier and model</h2>"
        + _table(
            ["tier", "model", "requests", "input tok fresh/write/read", "output tok", "cost $"],
            models,
            {2, 3, 4, 5},
        )
        + "<h2>Prompt cache by provider</h2>"
        + _table(list(CACHE_COLUMNS), cache, {1, 2, 3, 4, 5, 6})
        + "<h2>Most expensive PRs</h2>"
        + _table(["pull request or diff", "reviews", "cost $", "all-frontier $"], pulls, {1, 2, 3})
        + feedback
    )


def report_html(report: Report) -> str:
    """One self-contained HTML page: headline cards, warnings, four charts and the tables."""
    warnings = ""
    if report.warnings:
        items = "".join(
            f"<li><b>{escape(w.code)}</b>: {escape(w.message)}</li>" for w in report.warnings
        )
        warnings = f"<div class=warn><ul>{items}</ul></div>"
    charts = "".join(f"<figure>{svg}</figure>" for svg in report_charts(report))
    return (
        "<!doctype html>\n<html lang=en><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width,initial-scale=1'>"
        "<title>tiered-review report</title>"
        f"<style>{_CSS}</style></head><body>"
        "<h1>tiered-review: what reviews cost</h1>"
        f"<p class=scope>{'<br>'.join(escape(line) for line in scope_lines(report))}</p>"
        f"{_cards(report)}{warnings}"
        f"<div class=charts>{charts}</div>"
        f"{_tables(report)}"
        f"<p class=foot>{escape(headline(report))} Cache hit rate: the share of each "
        "request's cacheable prefix read from the provider's cache, over requests after the "
        f"first of their model and prefix in a review; below {CACHE_WARN_BELOW:.0%} is flagged. "
        "Reads / all input: every request's cache reads (a first request may read what an "
        "earlier review wrote) over all its input tokens."
        "</p></body></html>\n"
    )
