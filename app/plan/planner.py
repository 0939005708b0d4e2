"""The plan: diff -> chunks -> routes -> requests -> cost, deterministic and offline."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from app.plan.catalog import Catalog, ModelSpec
from app.plan.chunks import Chunk, SkipReason, build_chunker, cap_formatter_run
from app.plan.config import Config, Difficulty, Mode, Task
from app.plan.contract import tool_text
from app.plan.cost import Priced, price_all
from app.plan.diff import parse_diff
from app.plan.difficulty import build_classifier
from app.plan.notices import BudgetWarning, Note, PlanWarning, Warning, WarningCode
from app.plan.packing import (
    Packer,
    Prompts,
    PullRequestInfo,
    Request,
    fingerprint,
    fits,
    pr_wide_reason,
)
from app.plan.routing import Route, Router, build_router
from app.plan.tiers import Tier
from app.plan.tokens import TokenCounter, model_tokens_max

RETIREMENT_HORIZON_DAYS = 60


@dataclass(frozen=True, slots=True)
class PlannedRequest:
    """A request with its estimated tokens and cost."""

    request: Request
    priced: Priced
    fingerprint: str


@dataclass(frozen=True, slots=True)
class Totals:
    """The plan's cost beside its baselines."""

    est_cost_usd: float
    worst_case_usd: float
    all_frontier_usd: float
    all_middle_usd: float

    @property
    def savings_pct(self) -> float:
        """Saving against the all-frontier review, 0-100."""
        if self.all_frontier_usd <= 0:
            return 0.0
        return max(0.0, 100.0 * (1 - self.est_cost_usd / self.all_frontier_usd))


@dataclass(frozen=True, slots=True)
class Plan:
    """Where each part of a PR goes, what it costs, and why."""

    mode: Mode
    chunks: tuple[Chunk, ...]
    requests: tuple[PlannedRequest, ...]
    totals: Totals
    warnings: tuple[PlanWarning, ...]
    catalog_as_of: dt.date


@dataclass(frozen=True, slots=True)
class PlanInputs:
    """Everything a plan depends on; nothing here is read from the environment or the clock."""

    config: Config
    catalog: Catalog
    prompts: Prompts
    counter: TokenCounter
    today: dt.date
    mode: Mode = Mode.NORMAL
    pr: PullRequestInfo = PullRequestInfo()
    sources: Mapping[str, str] = field(default_factory=dict)  # path -> new content (local diffs)
    originals: Mapping[str, str] = field(
        default_factory=dict
    )  # path -> content at the base (whole-file facts)


# Repository instructions ride in every request: a repository may not make a 2-line PR cost
# dollars with a 900 KB `instructions:` value. Past this, they are cut and the summary says so.
MAX_INSTRUCTION_TOKENS = 4000
INSTRUCTIONS_TRIMMED = "\n[... repository instructions trimmed]"


def cap_instructions(config: Config, counter: TokenCounter) -> tuple[Config, Warning | None]:
    """`config` with its instructions cut to `MAX_INSTRUCTION_TOKENS`, and a warning if cut."""
    text = config.instructions
    tokens = counter.count(text) if len(text) > MAX_INSTRUCTION_TOKENS else 0
    if tokens <= MAX_INSTRUCTION_TOKENS:
        return config, None
    cut = len(text) * MAX_INSTRUCTION_TOKENS // tokens
    while cut > 0 and counter.count(text[:cut]) > MAX_INSTRUCTION_TOKENS:
        cut = cut * 9 // 10
    capped = config.model_copy(update={"instructions": text[:cut] + INSTRUCTIONS_TRIMMED})
    return capped, Warning(
        WarningCode.INSTRUCTIONS_TRIMMED,
        f"repository instructions cut from {tokens} to at most {MAX_INSTRUCTION_TOKENS} tokens",
    )


def build_plan(diff_text: str, inputs: PlanInputs) -> Plan:
    """Plan the review of a unified diff."""
    capped, trimmed = cap_instructions(inputs.config, inputs.counter)
    if trimmed is not None:
        inputs = replace(inputs, config=capped)
    config, catalog = inputs.config, inputs.catalog
    router = build_router(config, catalog)
    packer = Packer(config, inputs.prompts, inputs.pr, inputs.counter.count, inputs.sources)
    widest = max(router.models.values(), key=lambda m: m.window)
    overhead = packer.count_shared(inputs.prompts.review) + max(
        config.requests.max_output_tokens.values()
    )
    max_hunk = int((widest.window - overhead) / widest.factor_max)
    chunker = build_chunker(
        config,
        build_classifier(config.difficulty),
        inputs.counter,
        "local" in router.models,
        max_hunk,
        inputs.sources,
        inputs.originals,
    )
    chunks = cap_formatter_run(chunker.chunks(parse_diff(diff_text)), config.difficulty.model)
    warnings: list[PlanWarning] = [*_model_warnings(config, catalog, inputs.today)]
    if trimmed is not None:
        warnings.append(trimmed)
    if not inputs.counter.exact:
        warnings.append(
            Warning(WarningCode.TOKENIZER_FALLBACK, "token counts are byte-based estimates")
        )
    requests = _requests(chunks, packer, router, inputs.mode)
    budget = config.budget.max_usd_per_pr
    if budget is not None:
        chunks, requests, dropped = _fit_budget(chunks, requests, budget, packer, router, inputs)
        if dropped:
            warnings.append(BudgetWarning(budget, tuple(dropped), nothing_sent=not requests))
    for chunk in chunks:
        if chunk.skipped is SkipReason.PRIVATE_NO_LOCAL:
            warnings.append(
                Warning(
                    WarningCode.PRIVATE_NO_LOCAL,
                    f"{chunk.path} is private and no local tier is configured: not reviewed",
                )
            )
    warnings += [
        Warning(note.warns, f"{request.id}: {note.text}")
        for request in requests
        for note in request.notes
        if note.warns is not None
    ]
    return _finish(inputs, router, chunks, requests, warnings)


def _finish(
    inputs: PlanInputs,
    router: Router,
    chunks: tuple[Chunk, ...],
    requests: list[Request],
    warnings: list[PlanWarning],
) -> Plan:
    counter = inputs.counter
    priced = price_all(requests, counter)
    frontier = price_all(requests, counter, on=router.models[Tier.FRONTIER])
    middle = price_all(requests, counter, on=router.models[Tier.MIDDLE])
    planned = tuple(
        PlannedRequest(r, p, fingerprint(tool_text() + r.system))
        for r, p in zip(requests, priced, strict=True)
    )
    totals = Totals(
        est_cost_usd=sum(p.est_cost_usd for p in priced),
        worst_case_usd=sum(p.worst_case_usd for p in priced),
        all_frontier_usd=sum(p.est_cost_usd for p in frontier),
        all_middle_usd=sum(p.est_cost_usd for p in middle),
    )
    return Plan(
        mode=inputs.mode,
        chunks=chunks,
        requests=planned,
        totals=totals,
        warnings=tuple(warnings),
        catalog_as_of=inputs.catalog.as_of,
    )


def _requests(chunks: Sequence[Chunk], packer: Packer, router: Router, mode: Mode) -> list[Request]:
    """Route every chunk, pack per route, and add the summary and cross-cutting requests."""
    out: list[Request] = []
    reviewable = [c for c in chunks if c.reviewable]
    if not reviewable:
        return out
    summary_route = router.route(Task.SUMMARY, None, mode, private=False)
    if summary_route is not None:
        out.append(packer.summary(summary_route, chunks))
    why = pr_wide_reason(packer.config, chunks)
    if why is not None:
        route = router.route(Task.CROSS_CUTTING, None, mode, private=False)
        if route is not None:
            out.append(packer.cross_cutting(route, chunks, why))
    by_route: dict[tuple[Tier, str, str], list[Chunk]] = {}
    routes: dict[tuple[Tier, str, str], Route] = {}
    for chunk in reviewable:
        route = router.route(Task.REVIEW, chunk.difficulty, mode, chunk.private)
        if route is None:  # private with no local tier: the chunker already skipped these
            continue
        key = (route.tier, route.model.key, route.rule)
        by_route.setdefault(key, []).append(chunk)
        routes[key] = route
    numbers: dict[str, int] = {}
    for key in sorted(by_route, key=lambda k: (k[0].rank, k[1], k[2])):
        for group in packer.pack(routes[key], by_route[key]):
            for request in _fit_window(routes[key], group, packer, router):
                tier = request.route.tier
                numbers[tier] = numbers.get(tier, 0) + 1
                out.append(replace(request, id=f"review-{tier}-{numbers[tier]:02d}"))
    return out


def _fit_window(route: Route, chunks: list[Chunk], packer: Packer, router: Router) -> list[Request]:
    """Keep a request inside its model's window: move it to `long`, split it, or truncate it."""
    request = packer.review("pending", route, chunks)
    if fits(request, route.model):
        return [request]
    long = router.tier(Tier.LONG)
    if (
        route.tier is not Tier.LONG
        and route.model.provider != "local"
        and fits(request, long.model)
    ):
        moved = Route(Tier.LONG, long.model, route.rule)
        return [
            packer.review(
                "pending",
                moved,
                chunks,
                (
                    Note(
                        f"window: moved from {route.tier} ({route.model.key}) to long",
                        WarningCode.WINDOW,
                    ),
                ),
            )
        ]
    if len(chunks) > 1:
        half = len(chunks) // 2
        return _fit_window(route, chunks[:half], packer, router) + _fit_window(
            route, chunks[half:], packer, router
        )
    target = route if route.model.provider == "local" or route.tier is Tier.LONG else long
    chunk = chunks[0]
    kept = list(chunk.hunks)
    while len(kept) > 1:
        kept.pop()
        text = chunk.file.header + "".join(h.numbered for h in kept)
        smaller = replace(chunk, hunks=tuple(kept), text=text, tokens=packer.count(text))
        request = packer.review(
            "pending",
            target,
            [smaller],
            (
                Note(
                    f"truncated: {chunk.path} cut to its first {len(kept)} of "
                    f"{len(chunk.hunks)} hunks to fit the {target.model.key} window",
                    WarningCode.TRUNCATED,
                ),
            ),
        )
        if fits(request, target.model):
            return [request]
    return [
        packer.review(
            "pending",
            target,
            chunks,
            (
                Note(
                    f"truncated: {chunk.path} exceeds every window; sent whole, the provider "
                    "may cut it",
                    WarningCode.TRUNCATED,
                ),
            ),
        )
    ]


def _fit_budget(
    chunks: tuple[Chunk, ...],
    requests: list[Request],
    budget: float,
    packer: Packer,
    router: Router,
    inputs: PlanInputs,
) -> tuple[tuple[Chunk, ...], list[Request], list[str]]:
    """Drop trivial, then routine, then the largest chunks until the worst case fits the budget."""
    order = sorted(
        (c for c in chunks if c.reviewable),
        key=lambda c: (
            0
            if c.difficulty is Difficulty.TRIVIAL
            else 1
            if c.difficulty is Difficulty.ROUTINE
            else 2,
            -c.tokens if c.difficulty.rank >= Difficulty.SUBSTANTIVE.rank else 0,
            c.path,
            c.id,
        ),
    )
    dropped: list[str] = []
    excess = _worst_case(requests, inputs) - budget
    while excess > 0 and order:
        # Drop by estimate first, then re-plan once per round to check.
        freed = 0.0
        while order and freed < excess:
            chunk = order.pop(0)
            dropped.append(chunk.id)
            spec = router.models[Tier.FRONTIER]
            freed += model_tokens_max(chunk.tokens, spec) * spec.prices[0].input / 1_000_000
        gone = set(dropped)
        chunks = tuple(
            replace(c, skipped=SkipReason.OVER_BUDGET) if c.id in gone else c for c in chunks
        )
        requests = _requests(chunks, packer, router, inputs.mode)
        excess = _worst_case(requests, inputs) - budget
    if excess > 0:
        # Even the summary alone is over: the budget binds, so nothing is sent at all.
        dropped += [r.id for r in requests]
        requests = []
    return chunks, requests, dropped


def _worst_case(requests: list[Request], inputs: PlanInputs) -> float:
    return sum(p.worst_case_usd for p in price_all(requests, inputs.counter))


def _model_warnings(config: Config, catalog: Catalog, today: dt.date) -> list[Warning]:
    specs: dict[str, ModelSpec] = {}
    for tier in config.tiers.values():
        for key in (tier.model, tier.alternate):
            if key:
                specs[key] = catalog.get(key)
    return retirement_warnings(specs, today)


def retirement_warnings(specs: Mapping[str, ModelSpec], today: dt.date) -> list[Warning]:
    """A warning per model already retired or retiring within the horizon, sorted by key."""
    out: list[Warning] = []
    for key, spec in sorted(specs.items()):
        if spec.retires is None:
            continue
        days = (spec.retires - today).days
        if days < 0:
            out.append(Warning(WarningCode.MODEL_RETIRED, f"{key} retired on {spec.retires}"))
        elif days <= RETIREMENT_HORIZON_DAYS:
            message = f"{key} retires on {spec.retires} ({days} days)"
            out.append(Warning(WarningCode.MODEL_RETIRING, message))
    return out
