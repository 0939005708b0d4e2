"""The model catalog: prices, windows, cache minimums, tokenizers and lifecycles, as dated data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.errors import ConfigError, RoutingError

PROVIDERS = ("anthropic", "openai", "gemini", "local")


class TokenizerKind(StrEnum):
    """How a model's tokens are counted offline."""

    O200K = "o200k"  # exact: tiktoken's o200k_base is the model's own encoding
    FACTOR = "factor"  # estimate: the o200k count times a per-model factor


class _PriceTierIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    up_to: int | None = None
    input: float = Field(ge=0)
    cache_read: float = Field(ge=0)
    cache_write: float = Field(ge=0)
    output: float = Field(ge=0)


class _TokenizerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: TokenizerKind
    factor: float = Field(default=1.0, gt=0)
    factor_max: float | None = Field(default=None, gt=0)


class ModelEntry(BaseModel):
    """One model as written in the data file or in an operator's `models:` override."""

    model_config = ConfigDict(extra="forbid")
    window: int = Field(gt=0)
    window_verified: bool = True
    max_output: int = Field(gt=0)
    min_cacheable: int = Field(ge=0)
    min_cacheable_verified: bool = True
    tokenizer: _TokenizerIn
    prices: list[_PriceTierIn] = Field(min_length=1)
    lifecycle: str = "current"
    retires: dt.date | None = None


@dataclass(frozen=True, slots=True)
class PriceTier:
    """Prices in USD per million tokens for prompts up to `up_to` tokens (None: any size)."""

    up_to: int | None
    input: float
    cache_read: float
    cache_write: float
    output: float


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """Everything the planner needs to know about one `provider:model`."""

    key: str
    provider: str
    name: str
    window: int
    window_verified: bool
    max_output: int
    min_cacheable: int
    min_cacheable_verified: bool
    tokenizer: TokenizerKind
    factor: float
    factor_max: float
    prices: tuple[PriceTier, ...]
    lifecycle: str
    retires: dt.date | None

    def price_for(self, prompt_tokens: int) -> PriceTier:
        """The price tier a prompt of this many tokens is billed at (the whole prompt)."""
        for tier in self.prices:
            if tier.up_to is None or prompt_tokens <= tier.up_to:
                return tier
        return self.prices[-1]

    def cache_minimum(self) -> int:
        """The cacheable-prefix minimum, doubled when the data file marks it unverified."""
        return self.min_cacheable if self.min_cacheable_verified else 2 * self.min_cacheable


@dataclass(frozen=True, slots=True)
class Catalog:
    """The dated set of known models."""

    as_of: dt.date
    models: Mapping[str, ModelSpec]

    def get(self, key: str) -> ModelSpec:
        """The spec of `provider:model`; `local:*` covers any unnamed local model."""
        provider, _, name = key.partition(":")
        if provider not in PROVIDERS or not name:
            raise RoutingError(
                f"unknown provider in {key!r}: known providers are {', '.join(PROVIDERS)}"
            )
        spec = self.models.get(key)
        if spec is not None:
            return spec
        if provider == "local" and "local:*" in self.models:
            template = self.models["local:*"]
            return ModelSpec(**{**_spec_fields(template), "key": key, "name": name})
        known = ", ".join(sorted(k for k in self.models if not k.endswith(":*")))
        raise RoutingError(f"unknown model {key!r}: known models are {known}")


def _spec_fields(spec: ModelSpec) -> dict[str, Any]:
    return {name: getattr(spec, name) for name in ModelSpec.__slots__}


def _to_spec(key: str, entry: ModelEntry) -> ModelSpec:
    provider, _, name = key.partition(":")
    if provider not in PROVIDERS or not name:
        raise ConfigError(
            f"models.{key}: a model is named 'provider:model' with a provider among "
            f"{', '.join(PROVIDERS)}"
        )
    tok = entry.tokenizer
    factor = 1.0 if tok.kind is TokenizerKind.O200K else tok.factor
    exact = tok.kind is TokenizerKind.O200K
    factor_max = factor if exact else max(factor, tok.factor_max or factor)
    tiers = tuple(
        PriceTier(p.up_to, p.input, p.cache_read, p.cache_write, p.output) for p in entry.prices
    )
    return ModelSpec(
        key=key,
        provider=provider,
        name=name,
        window=entry.window,
        window_verified=entry.window_verified,
        max_output=entry.max_output,
        min_cacheable=entry.min_cacheable,
        min_cacheable_verified=entry.min_cacheable_verified,
        tokenizer=tok.kind,
        factor=factor,
        factor_max=factor_max,
        prices=tiers,
        lifecycle=entry.lifecycle,
        retires=entry.retires,
    )


def parse_catalog(
    data: Mapping[str, Any], overrides: Mapping[str, ModelEntry] | None = None
) -> Catalog:
    """Build the catalog from the data file's mapping plus operator overrides (which win)."""
    try:
        as_of = dt.date.fromisoformat(str(data["as_of"]))
        entries = {k: ModelEntry.model_validate(v) for k, v in data["models"].items()}
    except (KeyError, TypeError, ValueError, ValidationError) as exc:
        raise ConfigError(f"model catalog is malformed: {exc}") from exc
    entries.update(overrides or {})
    return Catalog(as_of=as_of, models={k: _to_spec(k, e) for k, e in sorted(entries.items())})
