"""The review engine: a plan's requests, warm-then-fan-out per prefix, with fallback and repair.

For each (provider, model, prefix) the first request goes alone; once it has answered, the cache
entry exists and the rest go concurrently (bounded per model), so they read a warm cache instead
of all missing together. A provider still failing after the SDK's retries hands the request to
the tier's alternate model, at the request boundary and never for private code. What comes
out (outcomes, totals, the assembled result) is result.py's.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from app.errors import OutputError, ProviderError
from app.plan.catalog import Catalog, ModelSpec
from app.plan.chunks import Chunk
from app.plan.config import Config, Task
from app.plan.cost import Usage, reprice, usage_cost
from app.plan.planner import Plan, PlannedRequest
from app.plan.tiers import Tier
from app.plan.tokens import model_tokens, model_tokens_max
from app.providers.base import OUTAGE_KINDS, CompletionRequest, Provider
from app.review.findings import (
    REPAIR_PROMPT,
    Finding,
    ReviewOut,
    output_json_schema,
    parse_output,
    place,
)
from app.review.redact import redact_diff, redact_text
from app.review.result import Done, RequestOutcome, ReviewResult, Status, assemble

log = logging.getLogger(__name__)

_NO_USAGE = Usage(0, 0, 0, 0)
NEAR_THRESHOLD = 0.10  # estimates this close to a limit are re-counted exactly where possible


@dataclass(frozen=True, slots=True)
class EngineOptions:
    """How a review runs: the tenant (cache isolation) and the per-model concurrency."""

    tenant: str
    concurrency: int = 8


@dataclass(slots=True)
class _Answer:
    usage: Usage
    output: ReviewOut | None
    error: str | None
    spec: ModelSpec
    first: bool  # the first call with this prefix on this model in the review
    calls: int = 1  # 2 with a repair turn
    dropped: tuple[str, ...] = ()


@dataclass(slots=True)
class _Run:
    """Mutable state of one review run."""

    plan: Plan
    providers: Mapping[str, Provider]
    config: Config
    catalog: Catalog
    options: EngineOptions
    counts: dict[str, int]
    chunks: dict[str, Chunk] = field(default_factory=dict)
    limits: dict[str, asyncio.Semaphore] = field(default_factory=dict)
    seen: set[tuple[str, str]] = field(default_factory=set)
    redactions: Counter[str] = field(default_factory=Counter)

    def limit(self, spec: ModelSpec) -> asyncio.Semaphore:
        if spec.key not in self.limits:
            self.limits[spec.key] = asyncio.Semaphore(self.options.concurrency)
        return self.limits[spec.key]


def cache_key(fingerprint: str, tenant: str) -> str:
    """OpenAI's prompt_cache_key: one per prefix and tenant, never shared across tenants."""
    return "tr-" + hashlib.sha256(f"{fingerprint}\0{tenant}".encode()).hexdigest()[:40]


async def run_review(
    plan: Plan,
    providers: Mapping[str, Provider],
    config: Config,
    catalog: Catalog,
    options: EngineOptions,
    counts: dict[str, int] | None = None,
) -> ReviewResult:
    """Execute every request of `plan` and gather findings, notes and the bill.

    `counts` memoises exact token counts by content hash across reviews of one process.
    """
    run = _Run(plan, providers, config, catalog, options, counts if counts is not None else {})
    run.chunks = {c.id: c for c in plan.chunks}
    groups: dict[tuple[str, str], list[PlannedRequest]] = {}
    for planned in plan.requests:
        key = (planned.request.route.model.key, _prefix_hash(planned))
        groups.setdefault(key, []).append(planned)

    async def run_group(members: list[PlannedRequest]) -> list[Done]:
        first = await _execute(run, members[0])  # alone: it writes the cache entry
        rest = await asyncio.gather(*(_execute(run, m) for m in members[1:]))
        return [first, *rest]

    done = {
        d.outcome.id: d
        for group in await asyncio.gather(*map(run_group, groups.values()))
        for d in group
    }
    ordered = [done[p.request.id] for p in plan.requests]
    return assemble(run.plan, run.chunks, run.redactions, ordered)


def _prefix_hash(planned: PlannedRequest) -> str:
    prefix = planned.request.system + planned.request.instructions
    return hashlib.sha256(prefix.encode()).hexdigest()


def _completion_request(run: _Run, planned: PlannedRequest, spec: ModelSpec) -> CompletionRequest:
    """Our provider-neutral request, with secrets redacted from everything PR-derived."""
    request = planned.request
    user = redact_diff(request.user)
    instructions = redact_text(request.instructions)
    for kind, n in [*user.counts.items(), *instructions.counts.items()]:
        run.redactions[str(kind)] += n
    return CompletionRequest(
        model=spec.name,
        system=request.system,
        instructions=instructions.text,
        messages=(("user", user.text),),
        max_output_tokens=min(request.max_output_tokens, spec.max_output),
        cache_key=cache_key(planned.fingerprint, run.options.tenant),
        json_schema=output_json_schema(),
    )


async def _execute(run: _Run, planned: PlannedRequest) -> Done:
    """Run one planned request: exact count near limits, call, repair, fall back, place findings."""
    request, route = planned.request, planned.request.route
    spec = route.model
    started = time.perf_counter()
    status: Status = "ok"
    reason: str | None = None
    exact: int | None = None
    creq = _completion_request(run, planned, spec)
    answer: _Answer | None = None
    provider = run.providers.get(spec.provider)
    if provider is None:
        status, reason = "skipped", f"no {spec.provider} credentials"
    else:
        exact = await _exact_count(run, provider, creq, planned, spec)
        if exact is not None and exact + creq.max_output_tokens > spec.window:
            status, reason = "failed", f"{exact} input tokens do not fit {spec.key}'s window"
        else:
            try:
                answer = await _attempt(run, provider, spec, creq)
            except ProviderError as exc:
                reason = str(exc)
                alternate = _alternate(run, planned, exc)
                if alternate is None:
                    status = "failed"
                else:
                    alt_spec, alt_provider = alternate
                    log.warning("%s: %s; falling back to %s", request.id, reason, alt_spec.key)
                    alt_req = replace(
                        creq,
                        model=alt_spec.name,
                        max_output_tokens=min(request.max_output_tokens, alt_spec.max_output),
                    )
                    try:
                        answer = await _attempt(run, alt_provider, alt_spec, alt_req)
                        status = "fallback"
                        reason = f"{spec.key} unavailable ({exc.kind}); answered by {alt_spec.key}"
                    except ProviderError as alt_exc:
                        status, reason = "failed", f"{reason}; alternate: {alt_exc}"
    if answer is not None and answer.error is not None:
        status, reason = "failed", answer.error
    latency = (time.perf_counter() - started) * 1000
    return _done(run, planned, answer, status, reason, latency, exact)


async def _attempt(
    run: _Run, provider: Provider, spec: ModelSpec, creq: CompletionRequest
) -> _Answer:
    """One call plus, if nothing in the answer is usable, one repair on the same model."""
    key = (spec.key, hashlib.sha256((creq.system + creq.instructions).encode()).hexdigest())
    first = key not in run.seen
    run.seen.add(key)
    async with run.limit(spec):
        completion = await provider.complete(creq)
    usage = completion.usage
    try:
        parsed = parse_output(completion.text, completion.truncated)
        return _Answer(usage, parsed.output, None, spec, first, 1, parsed.dropped)
    except OutputError as exc:
        reason = str(exc)
    repair = replace(
        creq,
        messages=(
            *creq.messages,
            ("assistant", completion.text),
            ("user", REPAIR_PROMPT.format(reason=reason)),
        ),
    )
    async with run.limit(spec):
        second = await provider.complete(repair)
    usage = _add(usage, second.usage)
    try:
        parsed = parse_output(second.text, second.truncated)
        return _Answer(usage, parsed.output, None, spec, first, 2, parsed.dropped)
    except OutputError as exc:
        return _Answer(usage, None, f"invalid output after one repair: {exc}", spec, first, 2)


def _add(a: Usage, b: Usage) -> Usage:
    return Usage(
        a.fresh_input_tokens + b.fresh_input_tokens,
        a.cache_write_tokens + b.cache_write_tokens,
        a.cache_read_tokens + b.cache_read_tokens,
        a.output_tokens + b.output_tokens,
    )


def _alternate(
    run: _Run, planned: PlannedRequest, exc: ProviderError
) -> tuple[ModelSpec, Provider] | None:
    """The tier's alternate model, unless the failure is ours or the request is private."""
    if exc.kind not in OUTAGE_KINDS:
        return None
    request = planned.request
    tier = run.config.tiers.get(request.route.tier)
    if tier is None or tier.alternate is None:
        return None
    spec = run.catalog.get(tier.alternate)
    private = request.route.model.provider == "local" or any(
        run.chunks[cid].private for cid in request.chunk_ids if cid in run.chunks
    )
    if private and spec.provider != "local":
        return None  # private code never falls back to a third party
    provider = run.providers.get(spec.provider)
    return None if provider is None else (spec, provider)


async def _exact_count(
    run: _Run,
    provider: Provider,
    creq: CompletionRequest,
    planned: PlannedRequest,
    spec: ModelSpec,
) -> int | None:
    """Re-count with the provider's own counter when the estimate is near a limit."""
    request = planned.request
    upper = model_tokens_max(request.input_o200k, spec)
    typical = model_tokens(request.input_o200k, spec)
    cached = model_tokens(request.cached_o200k, spec)
    limits = [spec.window - creq.max_output_tokens]
    near = any(abs(typical - x) <= NEAR_THRESHOLD * x or typical <= x < upper for x in limits)
    minimum = spec.cache_minimum()
    near = near or (minimum > 0 and abs(cached - minimum) <= NEAR_THRESHOLD * minimum)
    if not near:
        return None
    digest = hashlib.sha256(
        "\0".join(
            [spec.key, creq.system, creq.instructions, *(t for _, t in creq.messages)]
        ).encode("utf-8", "surrogateescape")
    ).hexdigest()
    if digest not in run.counts:
        try:
            counted = await provider.count_tokens(creq)
        except ProviderError as exc:
            log.info("count_tokens failed for %s: %s", planned.request.id, exc.kind)
            return None
        if counted is None:
            return None
        run.counts[digest] = counted
    return run.counts[digest]


def _done(
    run: _Run,
    planned: PlannedRequest,
    answer: _Answer | None,
    status: Status,
    reason: str | None,
    latency: float,
    exact: int | None,
) -> Done:
    request = planned.request
    spec = answer.spec if answer else request.route.model
    usage = answer.usage if answer else _NO_USAGE
    frontier = run.catalog.get(run.config.tiers[Tier.FRONTIER].model)
    middle = run.catalog.get(run.config.tiers[Tier.MIDDLE].model)
    first = answer.first if answer else True
    outcome = RequestOutcome(
        id=request.id,
        task=request.task,
        tier=request.route.tier,
        provider=spec.provider,
        model=spec.name,
        rule=request.route.rule,
        chunk_ids=request.chunk_ids,
        status=status,
        usage=usage,
        cost_usd=usage_cost(usage, spec),
        all_frontier_usd=reprice(usage, spec, frontier),
        all_middle_usd=reprice(usage, spec, middle),
        latency_ms=latency,
        first_of_prefix=first,
        prefix_tokens=model_tokens(request.cached_o200k, spec),
        prefix_hash=_prefix_hash(planned),
        reason=reason,
        exact_input_tokens=exact,
        calls=answer.calls if answer else 0,
        dropped=answer.dropped if answer else (),
    )
    findings: list[Finding] = []
    summary = ""
    if answer is not None and answer.output is not None:
        summary = answer.output.summary.strip()
        if request.task is not Task.SUMMARY:
            chunks = [run.chunks[cid] for cid in request.chunk_ids if cid in run.chunks]
            findings = place(answer.output, chunks, request.id)
    return Done(outcome, findings, summary)
