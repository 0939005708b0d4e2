"""A finished review: per-request outcomes, the bill, and the result assembled from them.

The engine (engine.py) runs the requests; this module owns what comes out: a `RequestOutcome`
per request, the `ReviewTotals` (cost against the all-frontier and all-middle baselines, cache
hit rates) and the `ReviewResult` every output renders.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from app.plan.chunks import Chunk
from app.plan.config import Task
from app.plan.cost import Usage, cache_eligible, prefix_size
from app.plan.planner import Plan
from app.plan.wording import warning_message
from app.review.findings import Finding

Status = Literal["ok", "failed", "fallback", "skipped"]
OFF_DIFF_NOTE = "kept off the diff: "  # notes that repeat a finding listed with the findings


@dataclass(frozen=True, slots=True)
class RequestOutcome:
    """What one planned request cost and how it ended."""

    id: str
    task: Task
    tier: str
    provider: str
    model: str
    rule: str
    chunk_ids: tuple[str, ...]
    status: Status
    usage: Usage
    cost_usd: float
    all_frontier_usd: float
    all_middle_usd: float
    latency_ms: float
    first_of_prefix: bool
    prefix_tokens: int  # the cacheable prefix as estimated, in the answering model's tokens
    prefix_hash: str = ""  # sha256 of system prompt + repo instructions
    reason: str | None = None
    exact_input_tokens: int | None = None
    calls: int = 1  # model calls made: 2 when the answer needed a repair turn, 0 when none ran
    dropped: tuple[str, ...] = ()  # findings left out of a usable answer, each with its reason

    @property
    def repairs(self) -> int:
        """Repair turns sent after an unusable answer."""
        return max(0, self.calls - 1)


@dataclass(frozen=True, slots=True)
class ReviewTotals:
    """The bill, the baselines and how well the cache held."""

    cost_usd: float
    all_frontier_usd: float
    all_middle_usd: float
    savings_pct: float
    cache_hit_rate: float
    cache_hit_rate_by_provider: Mapping[str, float]


@dataclass(frozen=True, slots=True)
class ReviewResult:
    """A finished review: summary, findings (inline or not), notes, per-request costs."""

    summary: str
    notes: tuple[str, ...]
    findings: tuple[Finding, ...]
    requests: tuple[RequestOutcome, ...]
    totals: ReviewTotals
    redactions: Mapping[str, int]
    plan: Plan


@dataclass(frozen=True, slots=True)
class Done:
    """One planned request, finished: what it cost, what it found, its summary text."""

    outcome: RequestOutcome
    findings: list[Finding]
    summary: str


def assemble(
    plan: Plan, chunks: Mapping[str, Chunk], redactions: Mapping[str, int], done: Sequence[Done]
) -> ReviewResult:
    """The review from its finished requests: one summary, sorted findings, notes, the bill."""
    outcomes = [d.outcome for d in done]
    findings = sorted(
        (f for d in done for f in d.findings),
        key=lambda f: (f.path, f.line, f.side, f.fingerprint),
    )
    summary = next((d.summary for d in done if d.outcome.task is Task.SUMMARY), "")
    cross = [d.summary for d in done if d.outcome.task is Task.CROSS_CUTTING and d.summary]
    if cross:
        summary = (summary + "\n\n**Across the PR:** " + " ".join(cross)).strip()
    notes: list[str] = []
    for o in outcomes:
        if o.dropped:
            notes.append(
                f"{o.id}: left out {len(o.dropped)} unusable findings ({'; '.join(o.dropped)})"
            )
        if o.status == "fallback":
            notes.append(f"{o.id}: {o.reason}")
        elif o.status in ("failed", "skipped"):
            paths = sorted({chunks[c].path for c in o.chunk_ids if c in chunks})
            notes.append(
                f"{o.id} ({o.tier}) {o.status}: {o.reason}; not reviewed: "
                f"{', '.join(paths) or 'the PR summary'}"
            )
    for f in findings:
        if not f.inline:
            notes.append(
                f"{OFF_DIFF_NOTE}{f.path}:{f.line} [{f.severity}] {f.title} ({f.why_not_inline})"
            )
    for chunk in plan.chunks:
        if chunk.skipped is not None:
            notes.append(f"not reviewed: {chunk.path} ({chunk.skipped})")
    notes.extend(f"{w.code}: {warning_message(w)}" for w in plan.warnings)
    if redactions:
        kinds = ", ".join(f"{k} x{n}" for k, n in sorted(redactions.items()))
        notes.append(f"redacted {sum(redactions.values())} secrets before sending ({kinds})")
    return ReviewResult(
        summary=summary,
        notes=tuple(notes),
        findings=tuple(findings),
        requests=tuple(outcomes),
        totals=review_totals(outcomes),
        redactions=dict(redactions),
        plan=plan,
    )


def review_totals(outcomes: Sequence[RequestOutcome]) -> ReviewTotals:
    """The bill beside its baselines, and the cache hit rate overall and per provider."""
    cost = sum(o.cost_usd for o in outcomes)
    frontier = sum(o.all_frontier_usd for o in outcomes)
    middle = sum(o.all_middle_usd for o in outcomes)
    # The prefix's size as the provider counted it: what the first request wrote (or read).
    actual: dict[tuple[str, str], int] = {}
    for o in outcomes:
        cached = o.usage.cache_write_tokens + o.usage.cache_read_tokens
        if o.first_of_prefix and cached:
            actual[(f"{o.provider}:{o.model}", o.prefix_hash)] = prefix_size(
                o.usage.cache_write_tokens, o.usage.cache_read_tokens, o.calls
            )
    reads: Counter[str] = Counter()
    sent: Counter[str] = Counter()
    for o in outcomes:
        if o.status in ("failed", "skipped"):
            continue
        prefix = actual.get((f"{o.provider}:{o.model}", o.prefix_hash), o.prefix_tokens)
        read, eligible = cache_eligible(
            o.usage.cache_read_tokens, prefix, o.calls, first=o.first_of_prefix
        )
        reads[o.provider] += read
        sent[o.provider] += eligible
    by_provider = {p: round(reads[p] / sent[p], 4) for p in sorted(sent) if sent[p]}
    total_sent = sum(sent.values())
    return ReviewTotals(
        cost_usd=cost,
        all_frontier_usd=frontier,
        all_middle_usd=middle,
        savings_pct=max(0.0, 100 * (1 - cost / frontier)) if frontier > 0 else 0.0,
        cache_hit_rate=round(sum(reads.values()) / total_sent, 4) if total_sent else 0.0,
        cache_hit_rate_by_provider=by_provider,
    )
