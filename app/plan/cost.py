"""Cost: tokens priced from the catalog; the first request per prefix pays the cache write."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.plan.catalog import ModelSpec
from app.plan.packing import Request, fingerprint
from app.plan.tokens import TokenCounter, is_exact, model_tokens, model_tokens_max

_MTOK = 1_000_000


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens as billed, in our convention: fresh input excludes cache reads and writes."""

    fresh_input_tokens: int
    cache_write_tokens: int
    cache_read_tokens: int
    output_tokens: int

    @property
    def input_tokens(self) -> int:
        """All input tokens of the request."""
        return self.fresh_input_tokens + self.cache_write_tokens + self.cache_read_tokens


@dataclass(frozen=True, slots=True)
class Priced:
    """A request's estimated tokens and cost on one model."""

    input_tokens: int
    tokens_exact: bool
    prefix_tokens: int
    cacheable: bool
    cache_write_tokens: int
    cache_read_tokens: int
    est_cost_usd: float
    worst_case_usd: float


def price_request(
    request: Request, spec: ModelSpec, counter: TokenCounter, first_for_prefix: bool
) -> Priced:
    """Estimate one request on `spec`.

    The cached part (system prompt plus repo instructions) is written by the first request with
    that prefix on that model and read by the later ones; providers without a write fee carry the
    input price as their write price in the data file. Worst case: every token at the upper-bound
    count, the cache missed (so written), and the full `max_output_tokens` produced.
    """
    total = model_tokens(request.input_o200k, spec)
    cached = model_tokens(request.cached_o200k, spec)
    cacheable = cached >= spec.cache_minimum() and spec.cache_minimum() > 0
    write = cached if cacheable and first_for_prefix else 0
    read = cached if cacheable and not first_for_prefix else 0
    price = spec.price_for(total)
    est = (
        (total - write - read) * price.input
        + write * price.cache_write
        + read * price.cache_read
        + request.est_output_tokens * price.output
    ) / _MTOK
    upper = model_tokens_max(request.input_o200k, spec)
    upper_cached = model_tokens_max(request.cached_o200k, spec) if cacheable else 0
    worst_price = spec.price_for(upper)
    worst = (
        (upper - upper_cached) * worst_price.input
        + upper_cached * max(worst_price.cache_write, worst_price.input)
        + request.max_output_tokens * worst_price.output
    ) / _MTOK
    return Priced(
        input_tokens=total,
        tokens_exact=is_exact(spec, counter),
        prefix_tokens=model_tokens(request.prefix_o200k, spec),
        cacheable=cacheable,
        cache_write_tokens=write,
        cache_read_tokens=read,
        est_cost_usd=est,
        worst_case_usd=worst,
    )


def price_all(
    requests: Sequence[Request], counter: TokenCounter, on: ModelSpec | None = None
) -> list[Priced]:
    """Price requests in order on their own models, or all on `on` (a baseline)."""
    seen: set[tuple[str, str]] = set()
    out: list[Priced] = []
    for request in requests:
        spec = on or request.route.model
        key = (spec.key, fingerprint(request.system + request.instructions))
        out.append(price_request(request, spec, counter, key not in seen))
        seen.add(key)
    return out


def usage_cost(usage: Usage, spec: ModelSpec) -> float:
    """What a provider bills for `usage` on `spec`, priced at the tier of the whole prompt."""
    price = spec.price_for(usage.input_tokens)
    return (
        usage.fresh_input_tokens * price.input
        + usage.cache_write_tokens * price.cache_write
        + usage.cache_read_tokens * price.cache_read
        + usage.output_tokens * price.output
    ) / _MTOK


def reprice(usage: Usage, actual: ModelSpec, baseline: ModelSpec) -> float:
    """The same usage on a baseline model: tokens rescaled by the tokenizers' factors."""
    ratio = baseline.factor / actual.factor
    scaled = Usage(
        fresh_input_tokens=round(usage.fresh_input_tokens * ratio),
        cache_write_tokens=round(usage.cache_write_tokens * ratio),
        cache_read_tokens=round(usage.cache_read_tokens * ratio),
        output_tokens=round(usage.output_tokens * ratio),
    )
    return usage_cost(scaled, baseline)


def cache_eligible(read: int, prefix: int, calls: int, *, first: bool) -> tuple[int, int]:
    """One request's cache reads and the prefix tokens it could have read, counted per call.

    Every call after the first on its model and prefix could read the whole prefix, a repair turn
    too (it resends it); the first call writes it. Reads count up to that, so no request, and no
    sum of them, reads more than 100%: the cache hit rate is the sum of the first over the second.
    """
    eligible = prefix * max(0, calls - (1 if first else 0))
    return min(read, eligible), eligible


def prefix_size(write: int, read: int, calls: int) -> int:
    """The cached prefix's size as the provider counted it, from the first request on it.

    Its first call writes the prefix (or reads it, warm from an earlier review); a repair turn
    reads it once more, so reads are split over the calls and a write is taken as is.
    """
    return write if write else read // max(1, calls)
