"""The ledger report: what reviews cost, by task, tier and model, against the baselines.

Pure: ledger rows in (app/store/ledger_read.py reads and merges them), a `Report` out.
The cache hit rate is the engine's (`_totals` in app/review/engine.py), so the report of one review
agrees with that review's own totals: of the cacheable prefix sent by requests that could read a
warm cache (not the first to their model and prefix in their review, not failed or skipped), the
share the provider reported as read. A prefix counts at the size its first request wrote.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.errors import LedgerError, RoutingError
from app.plan.catalog import Catalog, ModelSpec
from app.plan.config import Task
from app.plan.cost import cache_eligible, prefix_size
from app.plan.notices import Warning, WarningCode
from app.plan.planner import retirement_warnings
from app.plan.tiers import tier_sort_key
from app.report.acceptance import Acceptance, acceptance

if TYPE_CHECKING:
    from app.store.ledger_read import Ledger, RequestRow, ReviewRow, Source

CACHE_WARN_BELOW = 0.40  # a provider reading less of its prefixes than this is not caching
TOP_PRS = 5
_SINCE_RELATIVE = re.compile(r"^(\d{1,5})d$")
_DAY_S = 86400.0


@dataclass(frozen=True, slots=True)
class Spend:
    """A group's requests, tokens and cost beside its all-frontier and all-middle baselines."""

    name: str
    requests: int
    cost_usd: float
    all_frontier_usd: float
    all_middle_usd: float
    fresh_input_tokens: int = 0
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0
    output_tokens: int = 0

    @property
    def savings_pct(self) -> float:
        """Saving against all-frontier, 0-100 (the engine's and the plan's definition)."""
        if self.all_frontier_usd <= 0:
            return 0.0
        return max(0.0, 100.0 * (1 - self.cost_usd / self.all_frontier_usd))


@dataclass(frozen=True, slots=True)
class CacheStat:
    """One provider's cache: prefix tokens read out of those that could have been, per model call.

    Every call after the first on its model and prefix could read the prefix (a repair turn
    too); a call's reads count up to it, so the rate never passes 100% (`cache_eligible`).

    `input_tokens` and `all_read_tokens` cover every request, the first of each prefix too (it
    may read what an earlier review wrote): their ratio is the share of input billed at the
    cache-read price.
    """

    provider: str
    requests: int
    eligible_requests: int  # after the first of their model and prefix in their review
    read_tokens: int
    eligible_tokens: int
    input_tokens: int = 0
    all_read_tokens: int = 0

    @property
    def hit_rate(self) -> float | None:
        """read / eligible, rounded as the engine rounds it; None with nothing eligible."""
        return round(self.read_tokens / self.eligible_tokens, 4) if self.eligible_tokens else None

    @property
    def read_share(self) -> float | None:
        """Cache reads over all input tokens (fresh + write + read), 4 decimals."""
        return round(self.all_read_tokens / self.input_tokens, 4) if self.input_tokens else None

    @property
    def low(self) -> bool:
        """Below the warning line."""
        return self.hit_rate is not None and self.hit_rate < CACHE_WARN_BELOW


@dataclass(frozen=True, slots=True)
class PullSpend:
    """What one pull request (or one local-diff review) cost over all its reviews."""

    label: str
    repository: str
    pr_number: int
    reviews: int
    cost_usd: float
    all_frontier_usd: float


@dataclass(frozen=True, slots=True)
class Timeline:
    """Cost per task type per period (day, week or month), every period from first to last."""

    period: str
    labels: tuple[str, ...]
    cost_by_task: Mapping[str, tuple[float, ...]]


@dataclass(frozen=True, slots=True)
class Percentiles:
    """Nearest-rank p50 and p99 of a sample; None for an empty one."""

    samples: int
    p50: float | None
    p99: float | None


@dataclass(frozen=True, slots=True)
class Report:
    """Everything `tiered-review report` shows."""

    generated_at: float
    catalog_as_of: dt.date
    since: float | None
    repository: str | None
    sources: tuple[Source, ...]
    first_at: float | None
    last_at: float | None
    reviews: int
    totals: Spend
    cache_hit_rate: float | None
    by_task: tuple[Spend, ...]
    by_tier: tuple[Spend, ...]
    by_model: tuple[Spend, ...]  # name is "tier provider:model"
    cache: tuple[CacheStat, ...]
    routing_ms: Percentiles
    top_prs: tuple[PullSpend, ...]
    timeline: Timeline
    warnings: tuple[Warning, ...]
    acceptance: tuple[Acceptance, ...] = ()  # per tier (category `all`), then per category


def parse_since(text: str, now: float) -> float:
    """`--since`: a UTC date (YYYY-MM-DD, from its midnight) or `Nd` (N days before now)."""
    value = text.strip()
    relative = _SINCE_RELATIVE.match(value)
    if relative:
        return now - int(relative.group(1)) * _DAY_S
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise LedgerError(
            f"--since {text!r}: expected a date (YYYY-MM-DD) or a number of days (7d, 30d)"
        ) from None
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC).timestamp()


def build_report(
    ledger: Ledger,
    catalog: Catalog,
    now: float,
    *,
    since: float | None = None,
    repository: str | None = None,
    top: int = TOP_PRS,
) -> Report:
    """Aggregate the ledger's rows (already filtered by `since` and `repository`)."""
    reviews, requests = ledger.reviews, ledger.requests
    today = dt.datetime.fromtimestamp(now, dt.UTC).date()
    cache = cache_stats(requests)
    eligible = sum(c.eligible_tokens for c in cache)
    read = sum(c.read_tokens for c in cache)
    totals = _spend("all", requests)
    return Report(
        generated_at=now,
        catalog_as_of=catalog.as_of,
        since=since,
        repository=repository,
        sources=ledger.sources,
        first_at=reviews[0].created_at if reviews else None,
        last_at=reviews[-1].created_at if reviews else None,
        reviews=len(reviews),
        totals=Spend(
            "all",
            totals.requests,
            sum(r.cost_usd for r in reviews),
            sum(r.all_frontier_usd for r in reviews),
            sum(r.all_middle_usd for r in reviews),
            totals.fresh_input_tokens,
            totals.cache_write_tokens,
            totals.cache_read_tokens,
            totals.output_tokens,
        ),
        cache_hit_rate=round(read / eligible, 4) if eligible else None,
        by_task=_grouped(requests, lambda q: q.task, _task_order),
        by_tier=_grouped(requests, lambda q: q.tier, tier_sort_key),
        by_model=_grouped(requests, lambda q: f"{q.tier} {q.provider}:{q.model}", tier_sort_key),
        cache=cache,
        routing_ms=percentiles([r.routing_ms for r in reviews]),
        top_prs=top_pulls(reviews, top),
        timeline=timeline(reviews, requests),
        warnings=tuple(_warnings(reviews, requests, cache, catalog, today)),
        acceptance=acceptance(ledger.feedback),
    )


def cache_stats(requests: Iterable[RequestRow]) -> tuple[CacheStat, ...]:
    """Per provider, sorted: the engine's cache hit rate summed over reviews."""
    by_review: defaultdict[str, list[RequestRow]] = defaultdict(list)
    count: Counter[str] = Counter()
    inputs: Counter[str] = Counter()
    all_reads: Counter[str] = Counter()
    for q in requests:
        by_review[q.review_uid].append(q)
        count[q.provider] += 1
        inputs[q.provider] += q.fresh_input_tokens + q.cache_write_tokens + q.cache_read_tokens
        all_reads[q.provider] += q.cache_read_tokens
    reads: Counter[str] = Counter()
    sent: Counter[str] = Counter()
    eligible: Counter[str] = Counter()
    for rows in by_review.values():
        # The prefix's size as the provider counted it: what the first request wrote (or read).
        actual = {
            (q.provider, q.model, q.prefix_hash): prefix_size(
                q.cache_write_tokens, q.cache_read_tokens, q.calls
            )
            for q in rows
            if q.first_to_model and q.cache_write_tokens + q.cache_read_tokens
        }
        for q in rows:
            if q.outcome in ("failed", "skipped"):
                continue
            prefix = actual.get((q.provider, q.model, q.prefix_hash), q.prefix_tokens)
            read, could = cache_eligible(
                q.cache_read_tokens, prefix, q.calls, first=q.first_to_model
            )
            if could:
                eligible[q.provider] += 1
            reads[q.provider] += read
            sent[q.provider] += could
    return tuple(
        CacheStat(p, count[p], eligible[p], reads[p], sent[p], inputs[p], all_reads[p])
        for p in sorted(count)
    )


def percentiles(values: Sequence[float]) -> Percentiles:
    """Nearest-rank p50 and p99: the smallest value with at least p% of the sample at or below."""
    ordered = sorted(values)
    if not ordered:
        return Percentiles(0, None, None)

    def rank(p: float) -> float:
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]

    return Percentiles(len(ordered), rank(50), rank(99))


def top_pulls(reviews: Iterable[ReviewRow], top: int) -> tuple[PullSpend, ...]:
    """The `top` most expensive pull requests; a review of a local diff (PR 0) stands alone."""
    groups: defaultdict[tuple[str, int, str], list[ReviewRow]] = defaultdict(list)
    for r in reviews:
        key = (r.repository, r.pr_number, "" if r.pr_number else r.uid)
        groups[key].append(r)
    pulls = [
        PullSpend(
            label=_pull_label(rows[0]),
            repository=repository,
            pr_number=number,
            reviews=len(rows),
            cost_usd=sum(r.cost_usd for r in rows),
            all_frontier_usd=sum(r.all_frontier_usd for r in rows),
        )
        for (repository, number, _), rows in groups.items()
    ]
    pulls.sort(key=lambda p: (-p.cost_usd, p.label))
    return tuple(pulls[:top])


def _pull_label(review: ReviewRow) -> str:
    if review.pr_number:
        return f"{review.repository}#{review.pr_number}"
    # No PR number: the CLI's review of a local diff, or an eval case; its time tells it apart.
    kind = "local diff" if review.source == "review" else review.source
    day = dt.datetime.fromtimestamp(review.created_at, dt.UTC).strftime("%Y-%m-%d %H:%M")
    return f"{review.repository}: {kind}, {review.mode}, {day} UTC"


def timeline(reviews: Sequence[ReviewRow], requests: Iterable[RequestRow]) -> Timeline:
    """Cost per task type per period from the first review to the last, empty periods included:
    days up to a month, weeks (by their Monday) up to half a year, then months."""
    if not reviews:
        return Timeline("day", (), {})
    when = {r.uid: _day(r.created_at) for r in reviews}
    first, last = min(when.values()), max(when.values())
    span = (last - first).days
    period = "day" if span <= 31 else "week" if span <= 182 else "month"
    labels: list[str] = []
    day = first
    while day <= last:
        label = _period_label(day, period)
        if not labels or labels[-1] != label:
            labels.append(label)
        day += dt.timedelta(days=1)
    index = {label: i for i, label in enumerate(labels)}
    costs: defaultdict[str, list[float]] = defaultdict(lambda: [0.0] * len(labels))
    for q in requests:
        costs[q.task][index[_period_label(when[q.review_uid], period)]] += q.cost_usd
    ordered = sorted(costs, key=_task_order)
    return Timeline(period, tuple(labels), {t: tuple(costs[t]) for t in ordered})


def _day(epoch: float) -> dt.date:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).date()


def _period_label(day: dt.date, period: str) -> str:
    if period == "day":
        return day.isoformat()
    if period == "week":
        return (day - dt.timedelta(days=day.weekday())).isoformat()  # the week's Monday
    return day.strftime("%Y-%m")


def _spend(name: str, rows: Iterable[RequestRow]) -> Spend:
    rows = list(rows)
    return Spend(
        name=name,
        requests=len(rows),
        cost_usd=sum(q.cost_usd for q in rows),
        all_frontier_usd=sum(q.all_frontier_usd for q in rows),
        all_middle_usd=sum(q.all_middle_usd for q in rows),
        fresh_input_tokens=sum(q.fresh_input_tokens for q in rows),
        cache_write_tokens=sum(q.cache_write_tokens for q in rows),
        cache_read_tokens=sum(q.cache_read_tokens for q in rows),
        output_tokens=sum(q.output_tokens for q in rows),
    )


def _grouped(
    rows: Iterable[RequestRow],
    key: Callable[[RequestRow], str],
    order: Callable[[str], tuple[int, str]],
) -> tuple[Spend, ...]:
    groups: defaultdict[str, list[RequestRow]] = defaultdict(list)
    for q in rows:
        groups[key(q)].append(q)
    return tuple(_spend(k, groups[k]) for k in sorted(groups, key=order))


def _task_order(task: str) -> tuple[int, str]:
    names = [t.value for t in Task]
    return (names.index(task) if task in names else len(names), task)


def _warnings(
    reviews: Sequence[ReviewRow],
    requests: Sequence[RequestRow],
    cache: Sequence[CacheStat],
    catalog: Catalog,
    today: dt.date,
) -> list[Warning]:
    out: list[Warning] = []
    if not reviews:
        out.append(Warning(WarningCode.NO_REVIEWS, "no reviews in the ledger match the filters"))
    for c in cache:
        if c.low and c.hit_rate is not None:
            out.append(
                Warning(
                    WarningCode.CACHE_HIT_RATE_LOW,
                    f"{c.provider}: cache hit rate {c.hit_rate:.1%} is below "
                    f"{CACHE_WARN_BELOW:.0%}: check that the system prompt is byte-identical "
                    "across requests and that requests of one prefix run warm-then-fan-out",
                )
            )
    specs: dict[str, ModelSpec] = {}
    for key in sorted({f"{q.provider}:{q.model}" for q in requests}):
        try:
            specs[key] = catalog.get(key)
        except RoutingError:
            out.append(
                Warning(WarningCode.MODEL_UNKNOWN, f"{key} is in the ledger but not in the catalog")
            )
    return out + retirement_warnings(specs, today)
