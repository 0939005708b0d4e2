"""The scripted model as a Provider: `eval --model-behaviour` runs the engine with no API key.

It answers in-process from a `ScriptedModel`, counts tokens with the plan's counter, and
emulates a prompt cache (the first call with a prefix writes it, later calls read it) so that a
run's cost is the one a provider with a warm cache would bill. A tool-call answer arrives as
text here: the adapters already turn a tool call's arguments into the answer's text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from app.evals.sloppy import ScriptedModel
from app.plan.cost import Usage
from app.providers.base import Completion, CompletionRequest


@dataclass(slots=True)
class PromptCache:
    """Prefixes written so far, per model: shared by every scripted provider of one run."""

    written: set[tuple[str, str]] = field(default_factory=set)

    def hit(self, model: str, prefix: str) -> bool:
        """Whether the prefix was written before; records it as written either way."""
        key = (model, hashlib.sha256(prefix.encode("utf-8", "surrogateescape")).hexdigest())
        seen = key in self.written
        self.written.add(key)
        return seen


@dataclass(slots=True)
class ScriptedProvider:
    """A Provider whose answers come from a scripted model."""

    name: str
    model: ScriptedModel
    count: Callable[[str], int]
    cache: PromptCache
    calls: int = 0

    async def complete(self, request: CompletionRequest) -> Completion:
        """Answer from the script; usage as a provider with prompt caching would report it."""
        self.calls += 1
        texts = [text for _, text in request.messages]
        answer = self.model.answer(request.system, texts)
        prefix = request.system + request.instructions
        prefix_tokens = self.count(prefix)
        rest = sum(self.count(t) for t in texts)
        read = self.cache.hit(request.model, prefix)
        output = self.count(answer.text)
        return Completion(
            text=answer.text,
            usage=Usage(
                fresh_input_tokens=rest,
                cache_write_tokens=0 if read else prefix_tokens,
                cache_read_tokens=prefix_tokens if read else 0,
                output_tokens=output,
            ),
            truncated=answer.truncated,
        )

    async def count_tokens(self, request: CompletionRequest) -> int | None:
        """None: the engine keeps its own estimate."""
        return None

    async def aclose(self) -> None:
        """Nothing to release."""
