"""The Anthropic Messages API as a Provider: request mapping, usage, errors, a retry-after cap."""

from __future__ import annotations

import json

import anthropic
from anthropic.types import Message, MessageParam, TextBlockParam, ToolParam

from app.errors import ProviderError, ProviderErrorKind
from app.plan.contract import REVIEW_TOOL_NAME, review_tool
from app.plan.cost import Usage
from app.providers.base import Completion, CompletionRequest, conversation
from app.providers.http_policy import client_options, status_kind
from app.settings import Settings

# A dead host should fail fast even when a long generation may take the whole read timeout.
_CONNECT_TIMEOUT_S = 10.0
_MESSAGE_CHARS = 200  # enough of the API's own error text to act on, short enough for a log line

# https://docs.anthropic.com/en/api/messages#response-stop-reason: both stop the output early.
_TRUNCATED = frozenset({"max_tokens", "model_context_window_exceeded"})

# What a call can raise besides our own errors. A 200 whose body is not JSON (a proxy's HTML page)
# escapes the SDK as a plain decode error, not as one of its own.
_SDK_FAILURES = (anthropic.AnthropicError, json.JSONDecodeError, UnicodeDecodeError)


class AnthropicProvider:
    """Claude through the official SDK; its retries, our error kinds."""

    name: str = "anthropic"

    def __init__(self, api_key: str, base_url: str | None, settings: Settings) -> None:
        timeout = settings.llm_timeout_s
        self._client = anthropic.AsyncAnthropic(
            api_key=api_key,
            base_url=base_url,  # without /v1: the SDK adds it
            max_retries=settings.llm_max_retries,
            timeout=anthropic.Timeout(timeout, connect=min(_CONNECT_TIMEOUT_S, timeout)),
            http_client=anthropic.DefaultAsyncHttpxClient(
                **client_options(settings.retry_after_cap_s)
            ),
        )

    async def complete(self, request: CompletionRequest) -> Completion:
        """One Messages call, with cache breakpoints after the system prompt and instructions."""
        system, messages = _system(request), _messages(request)
        tools = _tools(request)
        try:
            message = await self._client.messages.create(
                model=request.model,
                system=system,
                messages=messages,
                max_tokens=request.max_output_tokens,
                # A forced tool constrains the answer to the schema; its definition is the first
                # part of the cached prefix (tools -> system -> messages), byte-stable like the
                # system prompt. https://docs.anthropic.com/en/docs/build-with-claude/tool-use
                tools=tools or anthropic.omit,
                tool_choice={"type": "tool", "name": REVIEW_TOOL_NAME} if tools else anthropic.omit,
                # No temperature: SDK 1.0 dropped it from the signature, and Opus 4.7+ and the 5.x
                # models answer 400 to any sampling parameter.
                # https://platform.claude.com/docs/en/about-claude/model-deprecations
            )
        except _SDK_FAILURES as exc:
            raise _provider_error(exc) from exc
        return _completion(message)

    async def count_tokens(self, request: CompletionRequest) -> int:
        """The exact input count from `POST /v1/messages/count_tokens` (free, rate-limited)."""
        system, messages = _system(request), _messages(request)
        try:
            tools = _tools(request)
            counted = await self._client.messages.count_tokens(
                model=request.model, system=system, messages=messages, tools=tools or anthropic.omit
            )
        except _SDK_FAILURES as exc:
            raise _provider_error(exc) from exc
        return counted.input_tokens

    async def aclose(self) -> None:
        """Close the SDK client and its connection pool."""
        await self._client.close()


def _tools(request: CompletionRequest) -> list[ToolParam]:
    if request.json_schema is None:
        return []
    tool = review_tool(request.json_schema)
    return [
        {
            "name": tool["name"],
            "description": tool["description"],
            "input_schema": tool["input_schema"],
        }
    ]


def _system(request: CompletionRequest) -> list[TextBlockParam]:
    # Prefix order is tools -> system -> messages, so the byte-stable system prompt is the first
    # breakpoint and the per-repository instructions the second; the API allows four.
    # https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching
    blocks: list[TextBlockParam] = [
        {"type": "text", "text": request.system, "cache_control": {"type": "ephemeral"}}
    ]
    if request.instructions:
        blocks.append(
            {"type": "text", "text": request.instructions, "cache_control": {"type": "ephemeral"}}
        )
    return blocks


def _messages(request: CompletionRequest) -> list[MessageParam]:
    # The instructions are the second system block, not a message: see _system.
    messages: list[MessageParam] = []
    for role, text in conversation(request):
        if role == "user":
            messages.append({"role": "user", "content": text})
        else:
            messages.append({"role": "assistant", "content": text})
    return messages


def _completion(message: Message) -> Completion:
    # The SDK does not validate replies: a proxy's odd JSON parses with missing fields as None.
    usage = message.usage
    if usage is None or message.content is None:
        raise ProviderError("anthropic", ProviderErrorKind.MALFORMED, "no usage or content")
    # The forced tool's input is the answer; a text answer (no tools sent) is taken as is.
    calls = [block.input for block in message.content if block.type == "tool_use"]
    text = "".join(block.text for block in message.content if block.type == "text")
    if calls:
        text = json.dumps(calls[0], ensure_ascii=False)
    return Completion(
        text=text,
        usage=Usage(
            fresh_input_tokens=usage.input_tokens,
            cache_write_tokens=usage.cache_creation_input_tokens or 0,
            cache_read_tokens=usage.cache_read_input_tokens or 0,
            output_tokens=usage.output_tokens,
        ),
        truncated=message.stop_reason in _TRUNCATED,
    )


def _provider_error(exc: Exception) -> ProviderError:
    """Our error for an SDK failure; the message names status and type, never prompt or key."""
    # https://docs.anthropic.com/en/api/errors
    if isinstance(exc, anthropic.APIStatusError):
        kind = status_kind(exc.status_code, exc.type)
        detail = (exc.api_message or "")[:_MESSAGE_CHARS]
        message = f"HTTP {exc.status_code} {exc.type or 'error'}: {detail} ({exc.request_id})"
        return ProviderError("anthropic", kind, message)
    if isinstance(exc, anthropic.APITimeoutError):  # before its base class, APIConnectionError
        return ProviderError("anthropic", ProviderErrorKind.TIMEOUT, "no answer in time")
    if isinstance(exc, anthropic.APIConnectionError):
        cause = type(exc.__cause__).__name__ if exc.__cause__ else "unknown cause"
        return ProviderError("anthropic", ProviderErrorKind.CONNECTION, f"no connection: {cause}")
    if isinstance(exc, ValueError):  # JSONDecodeError, UnicodeDecodeError
        return ProviderError("anthropic", ProviderErrorKind.MALFORMED, "the reply is not JSON")
    if isinstance(exc, anthropic.APIResponseValidationError):
        return ProviderError("anthropic", ProviderErrorKind.MALFORMED, "an unexpected reply shape")
    if isinstance(exc, anthropic.CredentialsError):
        return ProviderError("anthropic", ProviderErrorKind.AUTH, type(exc).__name__)
    return ProviderError("anthropic", ProviderErrorKind.SERVER, type(exc).__name__)
