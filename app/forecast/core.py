"""The forecast: many plans (one per past change) reduced to cost, tier mix and a monthly rate.

Pure: each plan is cut down to a `PrForecast` as soon as it is made (a long history never holds
its plans in memory), and `build_forecast` aggregates those. Dates come from the commits, never
from the clock.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from app.plan.config import Task
from app.plan.planner import Plan, Totals
from app.plan.tiers import tier_sort_key
from app.plan.wording import warning_message

DAYS_PER_MONTH = 365.25 / 12
PR_LEVEL = "pr_level"  # the by-difficulty bucket of summary and cross-cutting requests
_GITHUB_MERGE = re.compile(r"Merge pull request #\d+ from \S+")
_REASONS = 3  # per PR: its costliest requests


@dataclass(frozen=True, slots=True)
class TierUse:
    """What one tier carries: requests, tokens in and (estimated) out, and their cost."""

    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    est_cost_usd: float = 0.0

    def __add__(self, other: TierUse) -> TierUse:
        return TierUse(
            self.requests + other.requests,
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.est_cost_usd + other.est_cost_usd,
        )


@dataclass(frozen=True, slots=True)
class PrForecast:
    """One past change planned as a PR, reduced to what the forecast needs."""

    commit: str
    parent: str
    subject: str
    title: str
    date: dt.datetime
    totals: Totals
    requests: int
    plan_ms: float
    tiers: Mapping[str, TierUse]
    tasks: Mapping[str, float]
    difficulties: Mapping[str, float]
    reasons: tuple[str, ...]
    warnings: tuple[tuple[str, str], ...] = ()  # the plan's (code, message)


@dataclass(frozen=True, slots=True)
class Month:
    """The PRs that landed in one calendar month (UTC) and what reviewing them costs."""

    month: str  # YYYY-MM
    prs: int
    est_cost_usd: float
    all_frontier_usd: float
    all_middle_usd: float


@dataclass(frozen=True, slots=True)
class Projection:
    """A month at the observed PR rate: (PRs - 1) intervals over the span of their dates."""

    span_days: float
    prs_per_month: float
    est_cost_usd: float
    all_frontier_usd: float
    all_middle_usd: float


@dataclass(frozen=True, slots=True)
class Forecast:
    """The whole history's review cost, oldest PR first."""

    prs: tuple[PrForecast, ...]
    totals: Totals
    requests: int
    plan_ms: float
    tiers: Mapping[str, TierUse]
    tasks: Mapping[str, float]
    difficulties: Mapping[str, float]
    months: tuple[Month, ...]
    top: tuple[PrForecast, ...]
    projection: Projection | None
    skipped: tuple[tuple[str, str], ...] = ()  # (commit, why) for changes that could not be planned
    warnings: tuple[tuple[str, str, int], ...] = ()  # (code, first message, PRs with it)

    @property
    def savings_vs_middle_pct(self) -> float:
        """Saving against the all-middle review, in percent (negative when it costs more)."""
        middle = self.totals.all_middle_usd
        return 0.0 if middle <= 0 else 100.0 * (1 - self.totals.est_cost_usd / middle)


def pr_title(subject: str, body: str) -> str:
    """The PR's title: a GitHub merge commit keeps it on its body's first line."""
    if _GITHUB_MERGE.fullmatch(subject.strip()):
        first = next((line.strip() for line in body.splitlines() if line.strip()), "")
        if first:
            return first
    return subject


def summarize_pr(
    commit: str, parent: str, subject: str, body: str, date: dt.datetime, plan: Plan, ms: float
) -> PrForecast:
    """Reduce one change's plan to its totals, tier mix, cost split and reasons."""
    chunks = {c.id: c for c in plan.chunks}
    tiers: dict[str, TierUse] = {}
    tasks: dict[str, float] = {}
    difficulties: dict[str, float] = {}
    for planned in plan.requests:
        request, cost = planned.request, planned.priced.est_cost_usd
        use = TierUse(1, planned.priced.input_tokens, request.est_output_tokens, cost)
        tiers[request.route.tier] = tiers.get(request.route.tier, TierUse()) + use
        tasks[request.task.value] = tasks.get(request.task.value, 0.0) + cost
        members = [chunks[i] for i in request.chunk_ids if i in chunks]
        if request.task is not Task.REVIEW or not members:
            difficulties[PR_LEVEL] = difficulties.get(PR_LEVEL, 0.0) + cost
            continue
        # A request's cost is shared by its chunks in proportion to their tokens.
        weight = sum(c.tokens for c in members)
        for chunk in members:
            share = chunk.tokens / weight if weight else 1 / len(members)
            key = chunk.difficulty.value
            difficulties[key] = difficulties.get(key, 0.0) + cost * share
    return PrForecast(
        commit=commit,
        parent=parent,
        subject=subject,
        title=pr_title(subject, body),
        date=date,
        totals=plan.totals,
        requests=len(plan.requests),
        plan_ms=ms,
        tiers=tiers,
        tasks=tasks,
        difficulties=difficulties,
        reasons=_reasons(plan),
        warnings=tuple((w.code.value, warning_message(w)) for w in plan.warnings),
    )


def _reasons(plan: Plan) -> tuple[str, ...]:
    """Why a PR costs what it does: its costliest requests, with the signals behind them."""
    chunks = {c.id: c for c in plan.chunks}
    ranked = sorted(plan.requests, key=lambda p: (-p.priced.est_cost_usd, p.request.id))
    out: list[str] = []
    for planned in ranked[:_REASONS]:
        request = planned.request
        head = f"{request.id} on {request.route.tier} (${planned.priced.est_cost_usd:.4f})"
        if request.task is Task.REVIEW:
            files = [chunks[i] for i in request.chunk_ids if i in chunks]
            why = "; ".join(f"{c.path}: {c.reasons[0]}" if c.reasons else c.path for c in files[:2])
            more = f" and {len(files) - 2} more" if len(files) > 2 else ""
            out.append(f"{head}, rule {request.route.rule}: {why}{more}")
        else:
            out.append(f"{head}: {request.notes[0].text if request.notes else request.task.value}")
    return tuple(out)


def build_forecast(
    prs: Sequence[PrForecast], top: int = 10, skipped: Sequence[tuple[str, str]] = ()
) -> Forecast:
    """Aggregate per-PR forecasts (oldest first) into totals, mixes, months and a projection."""
    tiers: dict[str, TierUse] = {}
    tasks: dict[str, float] = {}
    difficulties: dict[str, float] = {}
    for pr in prs:
        for tier, use in pr.tiers.items():
            tiers[tier] = tiers.get(tier, TierUse()) + use
        _add(tasks, pr.tasks)
        _add(difficulties, pr.difficulties)
    totals = _sum_totals([pr.totals for pr in prs])
    costly = sorted(prs, key=lambda p: (-p.totals.est_cost_usd, p.date, p.commit))
    return Forecast(
        prs=tuple(prs),
        totals=totals,
        requests=sum(pr.requests for pr in prs),
        plan_ms=sum(pr.plan_ms for pr in prs),
        tiers=dict(sorted(tiers.items(), key=lambda kv: tier_sort_key(kv[0]))),
        tasks=dict(sorted(tasks.items())),
        difficulties=dict(sorted(difficulties.items(), key=lambda kv: _difficulty_rank(kv[0]))),
        months=_months(prs),
        top=tuple(costly[:top]),
        projection=_projection(prs, totals),
        skipped=tuple(skipped),
        warnings=_warnings(prs),
    )


def _warnings(prs: Sequence[PrForecast]) -> tuple[tuple[str, str, int], ...]:
    """Each plan warning code once: its first message and how many PRs had it."""
    first: dict[str, str] = {}
    seen: dict[str, int] = {}
    for pr in prs:
        for code in dict(pr.warnings):
            seen[code] = seen.get(code, 0) + 1
        for code, message in pr.warnings:
            first.setdefault(code, message)
    return tuple((code, first[code], seen[code]) for code in sorted(seen))


def _add(into: dict[str, float], more: Mapping[str, float]) -> None:
    for key, value in more.items():
        into[key] = into.get(key, 0.0) + value


def _sum_totals(items: Sequence[Totals]) -> Totals:
    return Totals(
        est_cost_usd=sum(t.est_cost_usd for t in items),
        worst_case_usd=sum(t.worst_case_usd for t in items),
        all_frontier_usd=sum(t.all_frontier_usd for t in items),
        all_middle_usd=sum(t.all_middle_usd for t in items),
    )


def _month_key(date: dt.datetime) -> tuple[int, int]:
    utc = date.astimezone(dt.UTC)
    return utc.year, utc.month


def _months(prs: Sequence[PrForecast]) -> tuple[Month, ...]:
    """One entry per calendar month from the first PR's to the last's, empty months included."""
    if not prs:
        return ()
    groups: dict[tuple[int, int], list[PrForecast]] = {}
    for pr in prs:
        groups.setdefault(_month_key(pr.date), []).append(pr)
    year, month = min(groups)
    end = max(groups)
    out: list[Month] = []
    while (year, month) <= end:
        members = groups.get((year, month), [])
        t = _sum_totals([pr.totals for pr in members])
        out.append(
            Month(
                f"{year:04d}-{month:02d}",
                len(members),
                t.est_cost_usd,
                t.all_frontier_usd,
                t.all_middle_usd,
            )
        )
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return tuple(out)


def _projection(prs: Sequence[PrForecast], totals: Totals) -> Projection | None:
    """Cost of a month at the observed rate; None with fewer than two PRs or no time between."""
    if len(prs) < 2:
        return None
    dates = [pr.date for pr in prs]
    span = (max(dates) - min(dates)).total_seconds() / 86400
    if span <= 0:
        return None
    per_month = (len(prs) - 1) / span * DAYS_PER_MONTH
    scale = per_month / len(prs)  # the average PR's cost times PRs per month
    return Projection(
        span_days=span,
        prs_per_month=per_month,
        est_cost_usd=totals.est_cost_usd * scale,
        all_frontier_usd=totals.all_frontier_usd * scale,
        all_middle_usd=totals.all_middle_usd * scale,
    )


def _difficulty_rank(key: str) -> tuple[int, str]:
    order = ("trivial", "routine", "substantive", "architectural", PR_LEVEL)
    return (order.index(key) if key in order else len(order), key)
