"""Providers: one async `complete` per model API, our own request and response types, a registry.

The adapters (`anthropic_api.py`, `openai_api.py`) are the only modules that import an LLM SDK;
SDK types and exceptions never leave them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from app.errors import ProviderErrorKind
from app.plan.cost import Usage


@dataclass(frozen=True, slots=True)
class CompletionRequest:
    """One model call, provider-neutral.

    `system` is the byte-stable prefix (first cache breakpoint); `instructions` the per-repository
    block after it (second breakpoint); `messages` the conversation after that, as (role, text)
    with roles "user" and "assistant" (a repair turn appends two).
    """

    model: str
    system: str
    instructions: str
    messages: tuple[tuple[str, str], ...]
    max_output_tokens: int
    cache_key: str  # prompt_cache_key for OpenAI: from the prefix fingerprint and the tenant
    json_schema: dict[str, object] | None = None


Role = Literal["user", "assistant"]


def conversation(request: CompletionRequest) -> list[tuple[Role, str]]:
    """The turns after the cached prefix, as every API takes them; ValueError for another role."""
    turns: list[tuple[Role, str]] = []
    for role, text in request.messages:
        if role == "user":
            turns.append(("user", text))
        elif role == "assistant":
            turns.append(("assistant", text))
        else:
            raise ValueError(f"a message role must be user or assistant, not {role!r}")
    return turns


@dataclass(frozen=True, slots=True)
class Completion:
    """A model's answer."""

    text: str
    usage: Usage
    truncated: bool  # the model hit max_output_tokens


# Worth trying the tier's alternate model: the provider, not the request, is the problem.
OUTAGE_KINDS = frozenset(
    {
        ProviderErrorKind.RATE_LIMIT,
        ProviderErrorKind.OVERLOADED,
        ProviderErrorKind.SERVER,
        ProviderErrorKind.TIMEOUT,
        ProviderErrorKind.CONNECTION,
        ProviderErrorKind.MALFORMED,
    }
)


class Provider(Protocol):
    """A model API."""

    name: str

    async def complete(self, request: CompletionRequest) -> Completion:
        """Send one request; raise ProviderError on failure."""
        ...

    async def count_tokens(self, request: CompletionRequest) -> int | None:
        """The provider's exact input count, or None where it has no counting endpoint."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


ProviderFactory = Callable[[], Provider]
