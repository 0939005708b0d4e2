"""OpenAI Chat Completions and compatible APIs (Gemini, local servers) as a Provider."""

from __future__ import annotations

import json
import re
from typing import Any

import openai
from openai.types.chat import ChatCompletion, ChatCompletionMessageParam

from app.errors import ProviderError, ProviderErrorKind
from app.plan.cost import Usage
from app.providers.base import Completion, CompletionRequest, conversation
from app.providers.http_policy import client_options, status_kind
from app.settings import Settings

# A dead host should fail fast even when a long generation may take the whole read timeout.
_CONNECT_TIMEOUT_S = 10.0
_MESSAGE_CHARS = 200  # enough of the API's own error text to act on, short enough for a log line

# Reasoning models reject a temperature other than the default: gpt-5 and later, the o-series.
# https://platform.openai.com/docs/guides/reasoning
_REASONING_MODEL = re.compile(r"gpt-(?:[5-9]|\d\d)|o\d")

# What a call can raise besides our own errors. A 200 whose body is not JSON (a proxy's HTML page)
# escapes the SDK as a plain decode error, not as one of its own.
_SDK_FAILURES = (openai.OpenAIError, json.JSONDecodeError, UnicodeDecodeError)


class OpenAICompatProvider:
    """A Chat Completions endpoint through the official SDK; its retries, our error kinds."""

    def __init__(
        self,
        name: str,
        api_key: str,
        base_url: str | None,
        settings: Settings,
        *,
        send_cache_key: bool,
        json_schema: bool,
        strict_schema: bool = False,
    ) -> None:
        self.name = name
        self._send_cache_key = send_cache_key
        self._json_schema = json_schema
        self._strict = strict_schema
        # Only OpenAI knows `max_completion_tokens`; compatible servers may know only the old name.
        self._new_max_tokens = name == "openai"
        timeout = settings.llm_timeout_s
        self._client = openai.AsyncOpenAI(
            api_key=api_key,
            base_url=base_url,  # with /v1; None: OPENAI_BASE_URL, then the SDK's default
            max_retries=settings.llm_max_retries,
            timeout=openai.Timeout(timeout, connect=min(_CONNECT_TIMEOUT_S, timeout)),
            http_client=openai.DefaultAsyncHttpxClient(
                **client_options(settings.retry_after_cap_s)
            ),
        )

    async def complete(self, request: CompletionRequest) -> Completion:
        """One chat completion; leading system messages form the implicitly cached prefix."""
        messages = _messages(request)
        max_tokens = request.max_output_tokens
        schema = request.json_schema if self._json_schema else None
        if schema is not None and self.name == "gemini":
            schema = gemini_schema(schema)
        try:
            reply = await self._client.chat.completions.create(
                model=request.model,
                messages=messages,
                max_completion_tokens=max_tokens if self._new_max_tokens else openai.omit,
                max_tokens=openai.omit if self._new_max_tokens else max_tokens,
                temperature=openai.omit if _REASONING_MODEL.match(request.model) else 0,
                # A stable key per prefix and tenant raises OpenAI's cache hit rate; others reject
                # or ignore it. https://platform.openai.com/docs/guides/prompt-caching
                prompt_cache_key=request.cache_key if self._send_cache_key else openai.omit,
                # Strict where the API guarantees the schema (OpenAI): the schema has every
                # property required and no additional ones, as strict mode demands.
                # https://platform.openai.com/docs/guides/structured-outputs
                response_format=(
                    {
                        "type": "json_schema",
                        "json_schema": {"name": "review", "schema": schema, "strict": self._strict},
                    }
                    if schema is not None
                    else openai.omit
                ),
            )
        except _SDK_FAILURES as exc:
            raise _provider_error(self.name, exc) from exc
        return _completion(self.name, reply)

    async def count_tokens(self, request: CompletionRequest) -> int | None:
        """None: Chat Completions has no counting endpoint (tiktoken counts OpenAI models)."""
        return None

    async def aclose(self) -> None:
        """Close the SDK client and its connection pool."""
        await self._client.close()


def gemini_schema(schema: Any) -> Any:
    """The schema in the OpenAPI 3.0 subset Gemini's response schema takes.

    `"type": [X, "null"]` becomes `"type": X, "nullable": true`, null leaves the enums, and
    `additionalProperties` goes: Gemini's structured output does not list them.
    https://ai.google.dev/gemini-api/docs/structured-output
    """
    if isinstance(schema, list):
        return [gemini_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "additionalProperties":
            continue
        if key == "type" and isinstance(value, list):
            kinds = [kind for kind in value if kind != "null"]
            out["type"] = kinds[0] if len(kinds) == 1 else kinds
            if len(kinds) < len(value):
                out["nullable"] = True
        elif key == "enum" and isinstance(value, list):
            out["enum"] = [item for item in value if item is not None]
        else:
            out[key] = gemini_schema(value)
    return out


def _messages(request: CompletionRequest) -> list[ChatCompletionMessageParam]:
    messages: list[ChatCompletionMessageParam] = [{"role": "system", "content": request.system}]
    if request.instructions:
        messages.append({"role": "system", "content": request.instructions})
    for role, text in conversation(request):
        if role == "user":
            messages.append({"role": "user", "content": text})
        else:
            messages.append({"role": "assistant", "content": text})
    return messages


def _completion(provider: str, reply: ChatCompletion) -> Completion:
    # The SDK does not validate replies: a compatible server's odd JSON parses with None fields.
    usage = reply.usage
    if usage is None or not reply.choices:
        raise ProviderError(provider, ProviderErrorKind.MALFORMED, "no usage or choices")
    choice = reply.choices[0]
    text = choice.message.content or ""
    calls = choice.message.tool_calls or []
    if not text.strip() and calls:  # some local models answer with a tool call instead of text
        function = getattr(calls[0], "function", None)
        text = str(getattr(function, "arguments", "") or "")
    details = usage.prompt_tokens_details
    read = (details.cached_tokens or 0) if details else 0
    write = (details.cache_write_tokens or 0) if details else 0  # explicit caching on gpt-5.6+
    return Completion(
        text=text,
        usage=Usage(
            # cached_tokens (and cache_write_tokens) are subsets of prompt_tokens.
            fresh_input_tokens=max(usage.prompt_tokens - read - write, 0),
            cache_write_tokens=write,
            cache_read_tokens=read,
            output_tokens=usage.completion_tokens,
        ),
        truncated=choice.finish_reason == "length",
    )


def _provider_error(provider: str, exc: Exception) -> ProviderError:
    """Our error for an SDK failure; the message names status and type, never prompt or key."""
    # https://platform.openai.com/docs/guides/error-codes
    if isinstance(exc, openai.APIStatusError):
        body = exc.body if isinstance(exc.body, dict) else {}
        detail = str(body.get("message") or "")[:_MESSAGE_CHARS]
        label = exc.code or exc.type or "error"
        message = f"HTTP {exc.status_code} {label}: {detail} ({exc.request_id})"
        return ProviderError(provider, status_kind(exc.status_code), message)
    if isinstance(exc, openai.APITimeoutError):  # before its base class, APIConnectionError
        return ProviderError(provider, ProviderErrorKind.TIMEOUT, "no answer in time")
    if isinstance(exc, openai.APIConnectionError):
        cause = type(exc.__cause__).__name__ if exc.__cause__ else "unknown cause"
        return ProviderError(provider, ProviderErrorKind.CONNECTION, f"no connection: {cause}")
    if isinstance(exc, (ValueError, openai.APIResponseValidationError)):  # decode errors too
        return ProviderError(provider, ProviderErrorKind.MALFORMED, "the reply is not JSON")
    return ProviderError(provider, ProviderErrorKind.SERVER, type(exc).__name__)
