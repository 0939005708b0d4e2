"""A loopback fake of the Anthropic Messages API: prompt-cache emulation and scripted faults."""

from __future__ import annotations

import contextlib
import hashlib
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

# https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching
_TTLS = {"5m": 300.0, "1h": 3600.0}
_MAX_BREAKPOINTS = 4

_STATUS_ERRORS = {
    "429": (429, "rate_limit_error", "Number of request tokens has exceeded your rate limit."),
    "500": (500, "api_error", "Internal server error."),
    "529": (529, "overloaded_error", "Overloaded"),
}


class _Invalid(Exception):
    """A request the real API answers with 400 invalid_request_error."""


@dataclass(frozen=True, slots=True)
class _Segment:
    """One cacheable unit of the prompt, in tools -> system -> messages order."""

    kind: str  # "tool", "system", "user" or "assistant"
    text: str
    ttl: float | None  # seconds, when this block carries cache_control


@dataclass(frozen=True, slots=True)
class _Prompt:
    model: str
    max_tokens: int
    segments: tuple[_Segment, ...]
    system_text: str
    user_text: str
    prefix_sha256: str | None
    forced_tool: str | None = None  # tool_choice {"type": "tool", "name": ...}


def _cache_ttl(block: Mapping[str, Any], where: str) -> float | None:
    control = block.get("cache_control")
    if control is None:
        return None
    if not isinstance(control, dict) or control.get("type") != "ephemeral":
        raise _Invalid(f"{where}.cache_control.type: Input should be 'ephemeral'")
    ttl = control.get("ttl", "5m")
    if ttl not in _TTLS:
        raise _Invalid(f"{where}.cache_control.ttl: Input should be '5m' or '1h'")
    return _TTLS[ttl]


def _json_text(block: Mapping[str, Any]) -> str:
    """Non-text blocks (tools, tool_use, images) count as their JSON, minus cache_control."""
    rest = {key: value for key, value in block.items() if key != "cache_control"}
    return json.dumps(rest, ensure_ascii=False, separators=(",", ":"))


def _block_segment(role: str, block: Any, where: str) -> _Segment:
    if not isinstance(block, dict) or not isinstance(block.get("type"), str):
        raise _Invalid(f"{where}: Input should be a content block object")
    if block["type"] == "text":
        if not isinstance(block.get("text"), str):
            raise _Invalid(f"{where}.text: Field required")
        return _Segment(role, block["text"], _cache_ttl(block, where))
    return _Segment(role, _json_text(block), _cache_ttl(block, where))


def _system_segments(system: Any) -> list[_Segment]:
    if system is None:
        return []
    if isinstance(system, str):
        return [_Segment("system", system, None)]
    if not isinstance(system, list):
        raise _Invalid("system: Input should be a string or a list of text blocks")
    segments = []
    for index, block in enumerate(system):
        if not isinstance(block, dict) or block.get("type") != "text":
            raise _Invalid(f"system.{index}: Input should be a text block")
        segments.append(_block_segment("system", block, f"system.{index}"))
    return segments


def _parse_prompt(body: Any, *, need_max_tokens: bool) -> _Prompt:
    if not isinstance(body, dict):
        raise _Invalid("The request body is not valid JSON.")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise _Invalid("model: Field required")
    max_tokens = body.get("max_tokens") if need_max_tokens else 1  # count_tokens takes none
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        raise _Invalid("max_tokens: Field required; Input should be a positive integer")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _Invalid("messages: at least one message is required")
    tools = body.get("tools", [])
    if not isinstance(tools, list) or not all(isinstance(tool, dict) for tool in tools):
        raise _Invalid("tools: Input should be a list of tool objects")

    segments = [
        _Segment("tool", _json_text(t), _cache_ttl(t, f"tools.{i}")) for i, t in enumerate(tools)
    ]
    names = [t.get("name") for t in tools]
    if any(not isinstance(t.get("input_schema"), dict) for t in tools):
        raise _Invalid("tools.input_schema: Field required")
    choice = body.get("tool_choice")
    forced = None
    if isinstance(choice, dict) and choice.get("type") == "tool":
        forced = choice.get("name")
        if forced not in names:
            raise _Invalid(f"tool_choice.name: no tool named {forced!r} in tools")
    system = _system_segments(body.get("system"))
    segments += system
    user_texts: list[str] = []
    for i, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if role not in ("user", "assistant"):
            raise _Invalid(f"messages.{i}.role: Input should be 'user' or 'assistant'")
        content = message.get("content")
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]
        if not isinstance(content, list) or not content:
            raise _Invalid(f"messages.{i}.content: Input should be a string or a list of blocks")
        for j, block in enumerate(content):
            segment = _block_segment(role, block, f"messages.{i}.content.{j}")
            segments.append(segment)
            if role == "user" and block["type"] == "text":
                user_texts.append(segment.text)

    ttls = [segment.ttl for segment in segments if segment.ttl is not None]
    if len(ttls) > _MAX_BREAKPOINTS:
        raise _Invalid(
            f"A maximum of {_MAX_BREAKPOINTS} blocks with cache_control may be provided. "
            f"Found {len(ttls)}."
        )
    if any(earlier < later for earlier, later in zip(ttls, ttls[1:], strict=False)):
        raise _Invalid("a ttl='1h' cache_control block must not come after a ttl='5m' block")

    # The fingerprint our tests compare: the tools' JSON, then the system text up to the first
    # cache_control block (tools come first in the prefix).
    fingerprint = None
    tool_text = "".join(segment.text for segment in segments if segment.kind == "tool")
    for index, segment in enumerate(system):
        if segment.ttl is not None:
            fingerprint = sha256_hex(tool_text + "".join(s.text for s in system[: index + 1]))
            break
    return _Prompt(
        model=model,
        max_tokens=max_tokens,
        segments=tuple(segments),
        system_text="".join(segment.text for segment in system),
        user_text="\n\n".join(user_texts),
        prefix_sha256=fingerprint,
        forced_tool=forced,
    )


def _plan_cache(
    state: FakeLLM, prompt: _Prompt, namespace: str
) -> tuple[dict[str, Any], list[CacheWrite]]:
    """Usage counts for the prompt and the cache entries it writes, Anthropic-style."""
    minimum = state.cache.min_tokens(prompt.model)
    digest = hashlib.sha256()
    total = 0
    breakpoints: list[tuple[int, str, float]] = []  # (prefix tokens, prefix sha256, ttl)
    for segment in prompt.segments:
        digest.update(json.dumps([segment.kind, segment.text]).encode() + b"\n")
        total += count_tokens(segment.text)
        if segment.ttl is not None:
            breakpoints.append((total, digest.hexdigest(), segment.ttl))

    now = state.clock()
    read, hit_index = 0, -1
    for index in range(len(breakpoints) - 1, -1, -1):  # longest prefix first
        tokens, sha, _ = breakpoints[index]
        key = (prompt.model, namespace, sha)
        if tokens >= minimum and state.cache.lookup(key, now) is not None:
            read, hit_index = tokens, index
            break

    writes: list[CacheWrite] = []
    written = {300.0: 0, 3600.0: 0}
    covered = read
    for tokens, sha, ttl in breakpoints[hit_index + 1 :]:
        if tokens < minimum:  # below the minimum nothing is cached, silently
            continue
        writes.append(CacheWrite((prompt.model, namespace, sha), tokens, ttl))
        written[ttl] += tokens - covered
        covered = tokens
    creation = covered - read
    usage = {
        "input_tokens": total - read - creation,
        "cache_creation_input_tokens": creation,
        "cache_read_input_tokens": read,
        "cache_creation": {
            "ephemeral_5m_input_tokens": written[300.0],
            "ephemeral_1h_input_tokens": written[3600.0],
        },
        "service_tier": "standard",
    }
    return usage, writes


def _error(
    state: FakeLLM,
    entry: RecordedRequest,
    status: int,
    kind: str,
    message: str,
    headers: Mapping[str, str] | None = None,
) -> Response:
    payload = {"type": "error", "error": {"type": kind, "message": message}}
    return respond(state, entry, status, payload, headers={**_ids(entry), **(headers or {})})


def _ids(entry: RecordedRequest) -> dict[str, str]:
    return {"request-id": f"req_fake_{entry.index:06d}"}


def _api_key(request: Request) -> str | None:
    return request.headers.get("x-api-key") or bearer_token(request)


async def _messages(state: FakeLLM, request: Request) -> Response:
    entry = await record_request(state, request)
    namespace = _api_key(request)
    if namespace is None:
        return _error(state, entry, 401, "authentication_error", "x-api-key header is required")
    try:
        prompt = _parse_prompt(entry.json, need_max_tokens=True)
    except _Invalid as exc:
        return _error(state, entry, 400, "invalid_request_error", str(exc))
    entry.model, entry.prefix_sha256 = prompt.model, prompt.prefix_sha256

    fault = state.faults.take(prompt.model, entry.identity)
    entry.fault = fault.kind if fault else None
    # The provider reads its cache when the request arrives, before the (slow) generation.
    usage, writes = _plan_cache(state, prompt, namespace) if reaches_model(fault) else ({}, [])
    if state.latency > 0:
        entry.disconnected = await stall(request, state.latency)
    if fault is not None and fault.kind in _STATUS_ERRORS:
        status, kind, message = _STATUS_ERRORS[fault.kind]
        extra = {"retry-after": retry_after_value(fault.retry_after)} if status == 429 else {}
        return _error(state, entry, status, kind, message, extra)
    if fault is not None and fault.kind == "timeout":
        entry.disconnected = await stall(request, fault.seconds) or entry.disconnected
    if fault is not None and fault.kind == "broken_body":
        return respond(state, entry, 200, None, headers=_ids(entry), raw=BROKEN_BODY)

    text = state.responder(prompt.model, prompt.system_text, prompt.user_text)
    text = text.removeprefix(TOOL_CALL)  # a forced tool already answers in a tool call
    stop_reason = "end_turn"
    if fault is not None and fault.kind == "malformed_json":
        text = fault.text if fault.text is not None else MALFORMED_TEXT
    if fault is not None and fault.kind == "truncated":
        text, stop_reason = cut_mid_json(fault.text or text), "max_tokens"
    if count_tokens(text) > prompt.max_tokens:
        text, stop_reason = truncate_to_tokens(text, prompt.max_tokens), "max_tokens"
    usage["output_tokens"] = count_tokens(text)
    entry.usage = usage
    content: list[dict[str, Any]] = [{"type": "text", "text": text}]
    forced = prompt.forced_tool
    if forced is not None and stop_reason == "end_turn":
        try:
            arguments = json.loads(text)
        except ValueError:
            arguments = None  # a scripted malformed answer stays text, as a fault should
        if isinstance(arguments, dict):
            block_id = f"toolu_fake_{entry.index:06d}"
            content = [{"type": "tool_use", "id": block_id, "name": forced, "input": arguments}]
            stop_reason = "tool_use"
    payload = {
        "id": f"msg_fake_{entry.index:06d}",
        "type": "message",
        "role": "assistant",
        "model": prompt.model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": usage,
    }
    return respond(state, entry, 200, payload, headers=_ids(entry), writes=writes)


async def _count_tokens(state: FakeLLM, request: Request) -> Response:
    entry = await record_request(state, request)
    if _api_key(request) is None:
        return _error(state, entry, 401, "authentication_error", "x-api-key header is required")
    try:
        prompt = _parse_prompt(entry.json, need_max_tokens=False)
    except _Invalid as exc:
        return _error(state, entry, 400, "invalid_request_error", str(exc))
    entry.model, entry.prefix_sha256 = prompt.model, prompt.prefix_sha256
    total = sum(count_tokens(segment.text) for segment in prompt.segments)
    return respond(state, entry, 200, {"input_tokens": total}, headers=_ids(entry))


def make_anthropic_app(state: FakeLLM) -> FastAPI:
    """Build the ASGI app serving `/v1/messages` and `/v1/messages/count_tokens` from `state`."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.post("/v1/messages")
    async def messages(request: Request) -> Response:
        return await _messages(state, request)

    @app.post("/v1/messages/count_tokens")
    async def count(request: Request) -> Response:
        return await _count_tokens(state, request)

    @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def unknown(request: Request) -> Response:
        entry = await record_request(state, request)
        message = f"{request.method} {request.url.path} is not served by this fake"
        return _error(state, entry, 404, "not_found_error", message)

    return app


@contextlib.contextmanager
def anthropic_fake(**opts: Any) -> Iterator[tuple[str, FakeLLM]]:
    """Serve a fresh fake; yield `(base_url, state)`. `opts` are `FakeLLM` fields."""
    state = FakeLLM(**opts)
    with serve(make_anthropic_app(state)) as base_url:
        yield base_url, state
