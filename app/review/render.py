"""How a finished review is shown: the stable JSON contract and Markdown for people."""

from __future__ import annotations

from typing import Any

from app.review.findings import Finding
from app.review.result import ReviewResult
from app.review.safety import cell, code, prose, prose_line, suggestion_block
from app.review.status import review_status, status_line

REVIEW_SCHEMA = "tiered-review/review@1"
_SEVERITY_ORDER = {"critical": 0, "major": 1, "minor": 2, "nit": 3}


def _finding_json(f: Finding) -> dict[str, Any]:
    return {
        "path": f.path,
        "line": f.line,
        "start_line": f.start_line,
        "side": f.side,
        "start_side": f.start_side,
        "severity": f.severity,
        "category": f.category,
        "title": f.title,
        "body": f.body,
        "suggestion": f.suggestion,
        "chunk_id": f.chunk_id,
        "inline": f.inline,
        "fingerprint": f.fingerprint,
        "request_id": f.request_id,
        "moved": f.moved,  # how the quote corrected the model's line number, if it did
    }


def review_json(result: ReviewResult, plan_ms: float) -> dict[str, Any]:
    """The review as the `tiered-review/review@1` JSON document."""
    t = result.totals
    return {
        "schema": REVIEW_SCHEMA,
        "status": review_status(result).value,
        "summary": result.summary,
        "notes": list(result.notes),
        "findings": [_finding_json(f) for f in result.findings],
        "requests": [
            {
                "id": o.id,
                "task": o.task.value,
                "tier": o.tier,
                "provider": o.provider,
                "model": o.model,
                "rule": o.rule,
                "chunk_ids": list(o.chunk_ids),
                "fresh_input_tokens": o.usage.fresh_input_tokens,
                "cache_write_tokens": o.usage.cache_write_tokens,
                "cache_read_tokens": o.usage.cache_read_tokens,
                "output_tokens": o.usage.output_tokens,
                "cost_usd": round(o.cost_usd, 6),
                "latency_ms": round(o.latency_ms, 1),
                "status": o.status,
                "reason": o.reason,
                "exact_input_tokens": o.exact_input_tokens,
                "repairs": o.repairs,
                "dropped": list(o.dropped),
            }
            for o in result.requests
        ],
        "totals": {
            "cost_usd": round(t.cost_usd, 6),
            "all_frontier_usd": round(t.all_frontier_usd, 6),
            "all_middle_usd": round(t.all_middle_usd, 6),
            "savings_pct": round(t.savings_pct, 2),
            "cache_hit_rate": t.cache_hit_rate,
            "cache_hit_rate_by_provider": dict(t.cache_hit_rate_by_provider),
            "routing_ms": round(plan_ms, 3),
            "est_cost_usd": round(result.plan.totals.est_cost_usd, 6),
            "redactions": dict(sorted(result.redactions.items())),
        },
    }


def finding_markdown(f: Finding) -> str:
    """One finding as inert Markdown (also the body of an inline comment).

    The title and body are model text, made inert; the path is a code span; a suggestion is
    posted byte for byte in a fence it cannot close (see `app.review.safety`).
    """
    where = f"{f.path}:{f.start_line}-{f.line}" if f.start_line else f"{f.path}:{f.line}"
    text = (
        f"**[{f.severity}] {prose_line(f.title)}** ({f.category}, {code(where)} {f.side})"
        f"\n\n{prose(f.body)}"
    )
    if f.suggestion is not None:
        text += "\n\n" + suggestion_block(f.suggestion)
    return text


def review_markdown(result: ReviewResult, plan_ms: float) -> str:
    """The whole review for a terminal or a file."""
    t = result.totals
    parts = ["# tiered-review", ""]
    warning = status_line(result)
    if warning:
        parts += [f"**{warning}**", ""]
    parts += [prose(result.summary) or "_No summary._", ""]
    findings = sorted(result.findings, key=lambda f: (_SEVERITY_ORDER[f.severity], f.path, f.line))
    parts.append(f"## Findings ({len(findings)})")
    parts.extend(
        ["", *(finding_markdown(f) + "\n" for f in findings)] if findings else ["", "None."]
    )
    if result.notes:
        parts += ["", "## Notes", "", *(f"- {_indent(prose(n))}" for n in result.notes)]
    parts += [
        "",
        "## Routing and cost",
        "",
        "| request | tier | model | rule | status | cost |",
        "| --- | --- | --- | --- | --- | ---: |",
    ]
    for o in result.requests:
        parts.append(
            f"| {o.id} | {o.tier} | {cell(f'{o.provider}:{o.model}')} | {cell(o.rule)} | "
            f"{o.status} | ${o.cost_usd:.4f} |"
        )
    hit = ", ".join(f"{p} {r:.0%}" for p, r in t.cache_hit_rate_by_provider.items()) or "n/a"
    parts += [
        "",
        f"Cost **${t.cost_usd:.4f}** vs all-frontier ${t.all_frontier_usd:.4f} "
        f"({t.savings_pct:.1f}% saved) and all-middle ${t.all_middle_usd:.4f}; cache hit rate "
        f"{t.cache_hit_rate:.0%} ({hit}); routed in {plan_ms:.1f} ms.",
    ]
    return "\n".join(parts) + "\n"


def _indent(text: str) -> str:
    return text.replace("\n", "\n  ")
