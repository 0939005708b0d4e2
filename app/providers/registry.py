"""The provider registry: which providers the environment enables, and a factory for each."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager

from pydantic import SecretStr

from app.errors import ConfigError, TieredReviewError
from app.plan.planner import Plan
from app.providers.base import Provider
from app.settings import Settings

# The environment variables each provider needs, all of them, for messages and `available`.
PROVIDER_ENV: Mapping[str, tuple[str, ...]] = {
    "anthropic": ("ANTHROPIC_API_KEY",),
    "openai": ("OPENAI_API_KEY",),
    "gemini": ("GEMINI_API_KEY",),
    "local": ("LOCAL_LLM_BASE_URL",),
}


def available(settings: Settings) -> frozenset[str]:
    """The providers whose required variables are all set."""
    values = settings.model_dump(by_alias=True)  # keyed by variable name; secrets stay masked
    return frozenset(
        name for name, names in PROVIDER_ENV.items() if all(values.get(var) for var in names)
    )


def build_provider(name: str, settings: Settings) -> Provider:
    """A provider adapter built from `settings`; ValueError for an unknown name."""
    factory = _FACTORIES.get(name)
    if factory is None:
        raise ValueError(f"unknown provider {name!r}; known: {', '.join(sorted(_FACTORIES))}")
    if name not in available(settings):
        # Checked here so an adapter never hands the SDK a None key, which it would fill from
        # os.environ behind the settings' back.
        raise ConfigError(f"provider {name} needs {' and '.join(PROVIDER_ENV[name])}")
    return factory(settings)


@asynccontextmanager
async def open_providers(settings: Settings) -> AsyncIterator[Mapping[str, Provider]]:
    """Every provider the settings have keys for, by name; each is closed on the way out.

    The one way a review gets its providers: the App's jobs, the Action, the CLI and evals.
    A provider built before a later one fails to build is still closed.
    """
    async with AsyncExitStack() as stack:
        providers: dict[str, Provider] = {}
        for name in sorted(available(settings)):
            provider = build_provider(name, settings)
            stack.push_async_callback(provider.aclose)
            providers[name] = provider
        yield providers


# The adapters import their SDK inside each factory: the offline `plan` never pays the second or
# so that importing anthropic and openai takes.


def _anthropic(settings: Settings) -> Provider:
    from app.providers.anthropic_api import AnthropicProvider

    key = _text(settings.anthropic_api_key)
    return AnthropicProvider(key, settings.anthropic_base_url, settings)


def _openai(settings: Settings) -> Provider:
    from app.providers.openai_api import OpenAICompatProvider

    key = _text(settings.openai_api_key)
    return OpenAICompatProvider(
        "openai",
        key,
        settings.openai_base_url,
        settings,
        send_cache_key=True,
        json_schema=True,
        strict_schema=True,
    )


def _gemini(settings: Settings) -> Provider:
    from app.providers.openai_api import OpenAICompatProvider

    key = _text(settings.gemini_api_key)
    return OpenAICompatProvider(
        "gemini", key, settings.gemini_base_url, settings, send_cache_key=False, json_schema=True
    )


def _local(settings: Settings) -> Provider:
    from app.providers.openai_api import OpenAICompatProvider

    # Most local servers (llama.cpp, vLLM, Ollama) ignore the key, but the SDK insists on one.
    key = _text(settings.local_llm_api_key) or "not-needed"
    return OpenAICompatProvider(
        "local",
        key,
        settings.local_llm_base_url,
        settings,
        send_cache_key=False,
        # Only when the operator says the server takes response_format (vLLM, llama.cpp, Ollama
        # do; older builds answer 400).
        json_schema=settings.local_llm_json_schema,
    )


def _text(secret: SecretStr | None) -> str:
    return secret.get_secret_value() if secret is not None else ""


_FACTORIES: Mapping[str, Callable[[Settings], Provider]] = {
    "anthropic": _anthropic,
    "openai": _openai,
    "gemini": _gemini,
    "local": _local,
}


def require_keys(plan: Plan, ready: frozenset[str]) -> None:
    """Refuse (a user error: exit 2) naming the variables and the tiers needing them."""
    needed: dict[str, set[str]] = {}
    for planned in plan.requests:
        route = planned.request.route
        needed.setdefault(route.model.provider, set()).add(route.tier)
    missing = {p: tiers for p, tiers in needed.items() if p not in ready}
    if missing:
        parts = [
            f"{' or '.join(PROVIDER_ENV[p])} (for tiers {', '.join(sorted(t))})"
            for p, t in sorted(missing.items())
        ]
        raise TieredReviewError("missing credentials: set " + "; ".join(parts))
