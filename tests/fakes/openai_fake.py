"""A loopback fake of OpenAI Chat Completions: implicit prompt caching and scripted faults."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response

from tests.fakes.llm_common import (
    BROKEN_BODY,
    MALFORMED_TEXT,
    TOOL_CALL,
    CacheWrite,
    FakeLLM,
    RecordedRequest,
    bearer_token,
    count_tokens,
    cut_mid_json,
    reaches_model,
    record_request,
    respond,
    retry_after_value,
    sha256_hex,
    stall,
    truncate_to_tokens,
)
from tests.fakes.server import serve

_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
_FORMATS = frozenset({"text", "json_object", "json_schema"})
_EXPLICIT_TTL = 1800.0  # prompt_cache_options.ttl "30m"
_EXTENDED_TTL = 86400.0  # prompt_cache_retention "24h"

# "529" is Anthropic's overload status; OpenAI reports overload as 503.
_STATUS_ERRORS = {
    "429": (429, "requests", "rate_limit_exceeded", "Rate limit reached for requests."),
    "500": (500, "server_error", None, "The server had an error while processing your request."),
    "529": (503, "server_error", None, "The engine is currently overloaded."),
}


class _Invalid(Exception):
    """A request the real API answers with 400 invalid_request_error."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


@dataclass(frozen=True, slots=True)
class _Chat:
    model: str
    max_output: int | None
    prompt_tokens: int
    prefix_text: str  # the leading system/developer messages: the implicitly cached prefix
    user_text: str
    cache_key: str
    ttl: float | None  # None: the cache's default
    explicit: bool  # prompt_cache_options was sent: report cache_write_tokens


def _content_text(content: Any, where: str) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    if not isinstance(content, list):
        raise _Invalid(f"Invalid type for '{where}'.", where)
    parts = []
    for index, part in enumerate(content):
        if not isinstance(part, dict) or not isinstance(part.get("type"), str):
            raise _Invalid(f"Invalid content part at '{where}[{index}]'.", where)
        if part["type"] == "text":
            parts.append(str(part.get("text", "")))
    return "".join(parts)


def _optional_int(body: Mapping[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
        raise _Invalid(f"Invalid '{name}': expected a positive integer.", name)
    return value


def _message(text: str, as_tool_call: bool, index: int) -> dict[str, Any]:
    """The assistant message: the text, or (a local model's habit) a tool call carrying it."""
    if not as_tool_call:
        return {"role": "assistant", "content": text, "refusal": None}
    call = {
        "id": f"call_fake_{index:06d}",
        "type": "function",
        "function": {"name": "submit_review", "arguments": text},
    }
    return {"role": "assistant", "content": None, "refusal": None, "tool_calls": [call]}


def _strict_problem(schema: Any, where: str) -> str | None:
    """Why a schema breaks strict mode: every object lists all its properties as required and
    sets additionalProperties to false. https://platform.openai.com/docs/guides/structured-outputs
    """
    if not isinstance(schema, dict):
        return None
    if schema.get("type") == "object" or "properties" in schema:
        props = schema.get("properties", {})
        if schema.get("additionalProperties") is not False:
            return f"{where}: 'additionalProperties' is required to be supplied and to be false"
        missing = sorted(set(props) - set(schema.get("required", [])))
        if missing:
            return f"{where}: 'required' is required to include every key; missing {missing}"
        for key, sub in props.items():
            if (problem := _strict_problem(sub, f"{where}.{key}")) is not None:
                return problem
    if "items" in schema:
        return _strict_problem(schema["items"], f"{where}.items")
    return None


def _check_response_format(value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, dict) or value.get("type") not in _FORMATS:
        raise _Invalid("Invalid 'response_format.type'.", "response_format")
    schema = value.get("json_schema")
    if value["type"] == "json_schema" and (
        not isinstance(schema, dict) or not isinstance(schema.get("name"), str)
    ):
        raise _Invalid(
            "Missing required parameter: 'response_format.json_schema.name'.",
            "response_format.json_schema.name",
        )
    if value["type"] == "json_schema" and schema.get("strict") is True:
        problem = _strict_problem(schema.get("schema"), "schema")
        if problem is not None:
            raise _Invalid(
                f"Invalid schema for response_format 'review': {problem}.", "response_format"
            )


def _parse_chat(body: Any) -> _Chat:
    if not isinstance(body, dict):
        raise _Invalid("We could not parse the JSON body of your request.")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise _Invalid("you must provide a model parameter", "model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _Invalid("Invalid 'messages': empty array.", "messages")
    _check_response_format(body.get("response_format"))
    max_output = _optional_int(body, "max_completion_tokens") or _optional_int(body, "max_tokens")
    cache_key = body.get("prompt_cache_key") or ""
    if not isinstance(cache_key, str):
        raise _Invalid("Invalid type for 'prompt_cache_key'.", "prompt_cache_key")

    prompt_tokens, prefix, users, leading = 0, [], [], True
    for index, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if role not in _ROLES:
            raise _Invalid(f"Invalid value for 'messages[{index}].role'.", f"messages[{index}]")
        text = _content_text(message.get("content"), f"messages[{index}].content")
        if message.get("tool_calls"):
            text += json.dumps(message["tool_calls"], separators=(",", ":"))
        prompt_tokens += count_tokens(text)
        leading = leading and role in ("system", "developer")
        if leading:
            prefix.append(text)
        elif role == "user":
            users.append(text)

    options = body.get("prompt_cache_options")
    ttl = None
    if body.get("prompt_cache_retention") == "24h":
        ttl = _EXTENDED_TTL
    elif isinstance(options, dict):
        ttl = _EXPLICIT_TTL
    return _Chat(
        model=model,
        max_output=max_output,
        prompt_tokens=prompt_tokens,
        prefix_text="".join(prefix),
        user_text="\n\n".join(users),
        cache_key=cache_key,
        ttl=ttl,
        explicit=isinstance(options, dict),
    )


def _plan_cache(state: FakeLLM, chat: _Chat) -> tuple[int, list[CacheWrite]]:
    """Cached prompt tokens for `chat` and the entry it writes on a miss."""
    if not chat.prefix_text:
        return 0, []
    tokens = count_tokens(chat.prefix_text)
    if tokens < state.cache.min_tokens(chat.model):
        return 0, []
    key = (chat.model, chat.cache_key, sha256_hex(chat.prefix_text))
    if state.cache.lookup(key, state.clock()) is not None:
        return tokens, []
    return 0, [CacheWrite(key, tokens, chat.ttl or state.cache.default_ttl)]


def _ids(entry: RecordedRequest) -> dict[str, str]:
    return {"x-request-id": f"req_fake_{entry.index:06d}"}


def _error(
    state: FakeLLM,
    entry: RecordedRequest,
    status: int,
    kind: str,
    message: str,
    *,
    code: str | None = None,
    param: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    payload = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    return respond(state, entry, status, payload, headers={**_ids(entry), **(headers or {})})


async def _chat_completions(state: FakeLLM, request: Request) -> Response:
    entry = await record_request(state, request)
    if bearer_token(request) is None:
        message = "You didn't provide an API key. Send it as 'Authorization: Bearer YOUR_KEY'."
        return _error(state, entry, 401, "invalid_request_error", message)
    try:
        chat = _parse_chat(entry.json)
    except _Invalid as exc:
        return _error(state, entry, 400, "invalid_request_error", str(exc), param=exc.param)
    entry.model = chat.model
    entry.prefix_sha256 = sha256_hex(chat.prefix_text) if chat.prefix_text else None

    fault = state.faults.take(chat.model, entry.identity)
    entry.fault = fault.kind if fault else None
    # The provider reads its cache when the request arrives, before the (slow) generation.
    cached, writes = _plan_cache(state, chat) if reaches_model(fault) else (0, [])
    if state.latency > 0:
        entry.disconnected = await stall(request, state.latency)
    if fault is not None and fault.kind in _STATUS_ERRORS:
        status, kind, code, message = _STATUS_ERRORS[fault.kind]
        extra = {"retry-after": retry_after_value(fault.retry_after)} if status == 429 else {}
        return _error(state, entry, status, kind, message, code=code, headers=extra)
    if fault is not None and fault.kind == "timeout":
        entry.disconnected = await stall(request, fault.seconds) or entry.disconnected
    if fault is not None and fault.kind == "broken_body":
        return respond(state, entry, 200, None, headers=_ids(entry), raw=BROKEN_BODY)

    text = state.responder(chat.model, chat.prefix_text, chat.user_text)
    as_tool_call = text.startswith(TOOL_CALL)
    text = text.removeprefix(TOOL_CALL)
    finish_reason = "stop"
    if fault is not None and fault.kind == "malformed_json":
        text = fault.text if fault.text is not None else MALFORMED_TEXT
    if fault is not None and fault.kind == "truncated":
        text, finish_reason = cut_mid_json(fault.text or text), "length"
    if chat.max_output is not None and count_tokens(text) > chat.max_output:
        text, finish_reason = truncate_to_tokens(text, chat.max_output), "length"
    completion_tokens = count_tokens(text)
    prompt_details: dict[str, Any] = {"cached_tokens": cached, "audio_tokens": 0}
    if chat.explicit:
        prompt_details["cache_write_tokens"] = sum(write.tokens for write in writes)
    usage = {
        "prompt_tokens": chat.prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": chat.prompt_tokens + completion_tokens,
        "prompt_tokens_details": prompt_details,
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
    }
    entry.usage = usage
    payload = {
        "id": f"chatcmpl-fake{entry.index:06d}",
        "object": "chat.completion",
        "created": 1_764_201_600,  # fixed, so recorded replies are reproducible
        "model": chat.model,
        "choices": [
            {
                "index": 0,
                "message": _message(text, as_tool_call, entry.index),
                "finish_reason": "tool_calls" if as_tool_call else finish_reason,
                "logprobs": None,
            }
        ],
        "usage": usage,
        "system_fingerprint": None,
    }
    return respond(state, entry, 200, payload, headers=_ids(entry), writes=writes)


def make_openai_app(state: FakeLLM) -> FastAPI:
    """Build the ASGI app serving `POST /v1/chat/completions` from `state`."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Response:
        return await _chat_completions(state, request)

    @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def unknown(request: Request) -> Response:
        entry = await record_request(state, request)
        message = f"Invalid URL ({request.method} {request.url.path})"
        return _error(state, entry, 404, "invalid_request_error", message)

    return app


@contextlib.contextmanager
def openai_fake(**opts: Any) -> Iterator[tuple[str, FakeLLM]]:
    """Serve a fresh fake; yield `(base_url, state)` (the SDK wants `base_url + "/v1"`)."""
    state = FakeLLM(**opts)
    with serve(make_openai_app(state)) as base_url:
        yield base_url, state
