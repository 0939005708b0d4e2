"""Shared machinery of the fake LLM servers: faults, responder, latency, request log, cache."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast, get_args

import tiktoken
from fastapi import Request
from fastapi.responses import JSONResponse, Response
from starlette.background import BackgroundTask

from tests.fakes.chaos import Chaos

FaultKind = Literal["429", "500", "529", "timeout", "malformed_json", "broken_body", "truncated"]
FAULT_KINDS: frozenset[str] = frozenset(get_args(FaultKind))
# What `FaultPlan.chaos` injects by default: rate limits, server errors, a stall past the client's
# timeout, a 200 whose text is not the findings JSON, and a 200 whose body is not JSON at all.
CHAOS_KINDS: tuple[FaultKind, ...] = ("429", "500", "timeout", "malformed_json", "broken_body")

Responder = Callable[[str, str, str], str]
"""`(model, system_text, user_text) -> the model's text`."""

CacheKey = tuple[str, str, str]
"""`(model, namespace, sha256 hex of the prefix bytes)`."""

DEFAULT_TTL = 300.0

# Minimum cacheable prefix per model, from the provider figures in REFERENCE.md (2026-11-27).
# Unknown models fall back to `CacheEmulator.default_min`.
DEFAULT_MIN_CACHEABLE: Mapping[str, int] = {
    "claude-haiku-5-5": 512,
    "claude-sonnet-5-5": 512,
    "claude-opus-5-5": 512,
    "claude-haiku-4-5": 4096,
    "claude-sonnet-4-6": 2048,
    "claude-opus-4-7": 2048,
    "claude-sonnet-4-5": 1024,
    "gpt-5.6-luna": 1024,
    "gpt-5.6-terra": 1024,
    "gpt-5.6-sol": 1024,
    "gpt-4o-mini": 2048,
    "gpt-4.1": 2048,
    "gpt-5": 2048,
}

DEFAULT_TEXT = json.dumps({"findings": [], "summary": "No issues found."})
MALFORMED_TEXT = "Sure! Here is my review: {findings: [oops], summary: 'not json'"
BROKEN_BODY = b"<html><body>502 Bad Gateway (upstream sent garbage)</body></html>"


TOOL_CALL = "\x00tool-call\x00"
"""A responder's text starting with this is answered as a tool call (OpenAI) instead of text."""


def scripted_responder(model: Any) -> Responder:
    """A responder from `app.evals.sloppy.ScriptedModel`; its tool-call answers carry TOOL_CALL."""

    def answer(name: str, system_text: str, user_text: str) -> str:
        reply = model.answer(system_text, [user_text])
        return (TOOL_CALL if reply.tool_call else "") + reply.text

    return answer


def default_responder(model: str, system_text: str, user_text: str) -> str:
    """Answer every request with an empty, valid review."""
    return DEFAULT_TEXT


@functools.cache
def _encoding() -> tiktoken.Encoding:
    return tiktoken.get_encoding("o200k_base")


def count_tokens(text: str) -> int:
    """Count tokens the way both fakes do: o200k_base, ordinary encoding."""
    return len(_encoding().encode_ordinary(text))


def truncate_to_tokens(text: str, limit: int) -> str:
    """Keep the first `limit` o200k tokens of `text`."""
    return _encoding().decode(_encoding().encode_ordinary(text)[: max(limit, 0)])


def cut_mid_json(text: str) -> str:
    """Cut `text` roughly in half so that it no longer parses as JSON."""
    cut = text[: max(len(text) // 2, 1)]
    while cut:
        try:
            json.loads(cut)
        except ValueError:
            return cut
        cut = cut[:-1]
    return "{"


def sha256_hex(text: str) -> str:
    """Hex sha256 of the UTF-8 bytes of `text`."""
    return hashlib.sha256(text.encode()).hexdigest()


# --- faults -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Fault:
    """One scripted failure for one call."""

    kind: FaultKind
    model: str | None = None  # None: the next call of any model
    retry_after: float = 0.0  # "429": the retry-after header, in seconds
    seconds: float = 5.0  # "timeout": how long to stall before answering
    text: str | None = None  # "malformed_json" / "truncated": the text to mangle or send


_NO_MODEL_REPLY = frozenset({"429", "500", "529", "broken_body"})


def reaches_model(fault: Fault | None) -> bool:
    """Whether a call with `fault` still gets a model reply (and so reads the prompt cache)."""
    return fault is None or fault.kind not in _NO_MODEL_REPLY


class FaultPlan:
    """A thread-safe queue of faults; each generation call consumes the first one that matches.

    With `chaos` set, a call that no scripted fault matches fails at random instead.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: list[Fault] = []
        self._chaos: Chaos | None = None
        self._chaos_retry_after = 1.0
        self._chaos_seconds = 30.0

    def chaos(
        self,
        rate: float,
        kinds: Iterable[FaultKind] = CHAOS_KINDS,
        seed: int = 0,
        *,
        retry_after: float = 1.0,
        seconds: float = 30.0,
    ) -> None:
        """Fail each call with probability `rate`, of a kind drawn evenly from `kinds`.

        Deterministic for a seed (see `tests.fakes.chaos`); scripted faults still come first.
        A "429" carries `retry_after`; a "timeout" stalls `seconds` (set it past the client's
        timeout) or until the client hangs up. A rate of 0 turns chaos off.
        """
        chosen = tuple(kinds)
        unknown = sorted(set(chosen) - FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {unknown}; expected {sorted(FAULT_KINDS)}")
        with self._lock:
            self._chaos = Chaos(rate, chosen, seed) if rate > 0 else None
            self._chaos_retry_after, self._chaos_seconds = retry_after, seconds

    def injected(self) -> dict[str, int]:
        """How many random faults of each kind chaos injected (scripted ones are not counted)."""
        with self._lock:
            chaos = self._chaos
        return {} if chaos is None else chaos.injected()

    def add(
        self,
        kind: FaultKind,
        times: int = 1,
        *,
        model: str | None = None,
        retry_after: float = 0.0,
        seconds: float = 5.0,
        text: str | None = None,
    ) -> None:
        """Fail the next `times` calls (of `model`, if given) with `kind`."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {sorted(FAULT_KINDS)}")
        fault = Fault(kind, model, retry_after, seconds, text)
        with self._lock:
            self._queue.extend([fault] * times)

    def take(self, model: str, identity: str = "") -> Fault | None:
        """Remove and return the first fault that applies to `model`, else a chaos draw, if any.

        `identity` names the request (a digest of its body) so that chaos is deterministic.
        """
        with self._lock:
            for index, fault in enumerate(self._queue):
                if fault.model is None or fault.model == model:
                    return self._queue.pop(index)
            chaos, retry_after, seconds = self._chaos, self._chaos_retry_after, self._chaos_seconds
        drawn = None if chaos is None else chaos.draw(f"{model}\0{identity}")
        if drawn is None:
            return None
        kind = cast(FaultKind, drawn.kind)  # chaos draws only from the kinds checked above
        return Fault(kind, model, retry_after=retry_after, seconds=seconds)

    def pending(self) -> int:
        """How many faults are still queued."""
        with self._lock:
            return len(self._queue)

    def clear(self) -> None:
        """Drop every queued fault."""
        with self._lock:
            self._queue.clear()


# --- request log --------------------------------------------------------------------------------


@dataclass(slots=True)
class RecordedRequest:
    """One request as the fake saw it, completed in place when its response has been sent."""

    index: int
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    json: Any  # the parsed body, or None if it was not JSON
    arrived: float
    completed: float | None = None  # set once the response has been handed to the socket
    disconnected: bool = False  # the client hung up before the answer (a timeout)
    status: int | None = None
    model: str | None = None
    prefix_sha256: str | None = None
    fault: str | None = None
    usage: dict[str, Any] | None = None
    response: Any = None  # the JSON sent back, if it was JSON

    @property
    def identity(self) -> str:
        """The request's identity for chaos draws: the sha256 of its body."""
        return hashlib.sha256(self.body).hexdigest()


class RequestLog:
    """A thread-safe, append-only list of every request a fake received."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[RecordedRequest] = []

    def record(self, make: Callable[[int], RecordedRequest]) -> RecordedRequest:
        """Append the entry built by `make(index)` and return it."""
        with self._lock:
            entry = make(len(self._entries))
            self._entries.append(entry)
            return entry

    @property
    def entries(self) -> list[RecordedRequest]:
        """A snapshot of all entries, in arrival order."""
        with self._lock:
            return list(self._entries)

    def for_path(self, path: str) -> list[RecordedRequest]:
        """The entries whose URL path is `path`."""
        return [entry for entry in self.entries if entry.path == path]

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()


# --- cache --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CacheWrite:
    """A prefix to store once the response that wrote it has been sent."""

    key: CacheKey
    tokens: int
    ttl: float


@dataclass(slots=True)
class _CacheEntry:
    tokens: int
    ttl: float
    expires: float


@dataclass
class CacheEmulator:
    """Prompt-cache entries with TTLs; a hit refreshes the entry, like the providers do."""

    min_cacheable: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_MIN_CACHEABLE))
    default_min: int = 1024
    default_ttl: float = DEFAULT_TTL
    _entries: dict[CacheKey, _CacheEntry] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def min_tokens(self, model: str) -> int:
        """The shortest prefix, in tokens, that `model` caches."""
        return self.min_cacheable.get(model, self.default_min)

    def lookup(self, key: CacheKey, now: float) -> int | None:
        """The cached token count for `key` if it is live at `now` (refreshing it), else None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry.expires <= now:
                return None
            entry.expires = now + entry.ttl
            return entry.tokens

    def commit(self, writes: Iterable[CacheWrite], now: float) -> None:
        """Store `writes`; called when the response that wrote them has been sent."""
        with self._lock:
            for write in writes:
                self._entries[write.key] = _CacheEntry(write.tokens, write.ttl, now + write.ttl)

    def keys(self) -> list[CacheKey]:
        """Every stored key, live or expired, sorted."""
        with self._lock:
            return sorted(self._entries)

    def clear(self) -> None:
        """Drop every entry."""
        with self._lock:
            self._entries.clear()


# --- per-instance state -------------------------------------------------------------------------


@dataclass
class FakeLLM:
    """Everything one fake server instance knows: script, responder, latency, cache, log."""

    responder: Responder = default_responder
    latency: float = 0.0  # seconds added to every generation call (awaited, so calls overlap)
    faults: FaultPlan = field(default_factory=FaultPlan)
    cache: CacheEmulator = field(default_factory=CacheEmulator)
    log: RequestLog = field(default_factory=RequestLog)
    clock: Callable[[], float] = time.monotonic  # drives cache TTLs and the log's timestamps


# --- HTTP helpers shared by both fakes ----------------------------------------------------------


async def record_request(state: FakeLLM, request: Request) -> RecordedRequest:
    """Read the whole request and append it to the state's log."""
    arrived = state.clock()
    body = await request.body()
    try:
        parsed: Any = json.loads(body) if body else None
    except ValueError:
        parsed = None
    return state.log.record(
        lambda index: RecordedRequest(
            index=index,
            method=request.method,
            path=request.url.path,
            headers=dict(request.headers),
            body=body,
            json=parsed,
            arrived=arrived,
        )
    )


def bearer_token(request: Request) -> str | None:
    """The token of an `Authorization: Bearer` header, if present and non-empty."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


async def stall(request: Request, seconds: float) -> bool:
    """Sleep up to `seconds`, stopping early if the client hangs up; True if it did."""
    deadline = time.monotonic() + seconds
    while (remaining := deadline - time.monotonic()) > 0:
        await asyncio.sleep(min(remaining, 0.05))
        if await request.is_disconnected():
            return True
    return False


def respond(
    state: FakeLLM,
    entry: RecordedRequest,
    status: int,
    payload: Any,
    *,
    headers: Mapping[str, str] | None = None,
    writes: Iterable[CacheWrite] = (),
    raw: bytes | None = None,
) -> Response:
    """Answer with `payload` (or `raw` bytes) and complete the log entry once it has been sent."""
    entry.status = status
    entry.response = None if raw is not None else payload
    pending = list(writes)

    async def finish() -> None:
        # Starlette runs a response's background task right after the last body chunk is handed
        # to the transport, so this is the moment a cache entry becomes readable.
        now = state.clock()
        entry.completed = now
        if not entry.disconnected:
            state.cache.commit(pending, now)

    background = BackgroundTask(finish)
    if raw is not None:
        return Response(
            raw,
            status,
            headers=dict(headers or {}),
            media_type="application/json",
            background=background,
        )
    return JSONResponse(payload, status, headers=dict(headers or {}), background=background)


def retry_after_value(seconds: float) -> str:
    """Format a retry-after header: an integer when whole, else a decimal the SDKs accept."""
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"
