"""Provider presets: `providers: anthropic | openai | gemini | mixed` sets every tier at once.

A user with one provider's key would otherwise have to override all four tiers (small, middle,
frontier, long) and their alternates by hand. A preset replaces the default tiers; `tiers:` in
the same file still wins key by key, so `providers: openai` plus one changed model works.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

Preset = Literal["anthropic", "openai", "gemini", "mixed"]


def _tier(model: str, alternate: str | None, max_input_tokens: int) -> dict[str, Any]:
    return {"model": model, "alternate": alternate, "max_input_tokens": max_input_tokens}


PRESETS: Mapping[str, Mapping[str, Mapping[str, Any]]] = {
    # Anthropic only: no alternate at another provider (a key you may not have).
    "anthropic": {
        "small": _tier("anthropic:claude-haiku-5-5", None, 24000),
        "middle": _tier("anthropic:claude-sonnet-5-5", None, 32000),
        "frontier": _tier("anthropic:claude-opus-5-5", None, 48000),
        "long": _tier("anthropic:claude-sonnet-5-5", None, 600000),
    },
    # OpenAI only. The GPT-5.6 windows are 128K, so `long` is GPT-4.1 (1M window).
    "openai": {
        "small": _tier("openai:gpt-5.6-luna", None, 24000),
        "middle": _tier("openai:gpt-5.6-terra", None, 32000),
        "frontier": _tier("openai:gpt-5.6-sol", None, 48000),
        "long": _tier("openai:gpt-4.1", None, 600000),
    },
    # Gemini only: the catalog names two Gemini models (see docs/models.md for their dates).
    "gemini": {
        "small": _tier("gemini:gemini-2.5-flash-lite", None, 24000),
        "middle": _tier("gemini:gemini-2.5-flash-lite", None, 32000),
        "frontier": _tier("gemini:gemini-2.5-pro", None, 48000),
        "long": _tier("gemini:gemini-2.5-flash-lite", None, 600000),
    },
    # The shipped defaults: Anthropic models, each with an alternate at OpenAI or Gemini that
    # answers during an outage (when that provider's key is set).
    "mixed": {
        "small": _tier("anthropic:claude-haiku-5-5", "openai:gpt-5.6-luna", 24000),
        "middle": _tier("anthropic:claude-sonnet-5-5", "openai:gpt-5.6-terra", 32000),
        "frontier": _tier("anthropic:claude-opus-5-5", "openai:gpt-5.6-sol", 48000),
        "long": _tier("anthropic:claude-sonnet-5-5", "gemini:gemini-2.5-flash-lite", 600000),
    },
}


def apply_preset(merged: dict[str, Any], repo: Mapping[str, Any]) -> dict[str, Any]:
    """`merged` (defaults + repo) with the preset's tiers under the repo's own `tiers:`.

    An unknown preset is left for validation, which names the allowed values.
    """
    name = merged.get("providers")
    if not isinstance(name, str) or name not in PRESETS:
        return merged
    tiers: dict[str, Any] = {k: dict(v) for k, v in PRESETS[name].items()}
    local = merged.get("tiers", {}).get("local")
    if local is not None:
        tiers["local"] = local
    own = repo.get("tiers")
    for key, value in own.items() if isinstance(own, Mapping) else ():
        base = tiers.get(key, {})
        tiers[key] = {**base, **value} if isinstance(value, Mapping) else value
    return {**merged, "tiers": tiers}
