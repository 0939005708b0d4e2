"""Provider adapters, settings and registry: the real SDKs against the loopback fakes."""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import httpx2
import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from app.errors import ConfigError, ProviderError, ProviderErrorKind
from app.plan.contract import review_tool
from app.providers.anthropic_api import AnthropicProvider
from app.providers.base import Completion, CompletionRequest, Provider, conversation
from app.providers.http_policy import retry_after_cap
from app.providers.openai_api import OpenAICompatProvider, gemini_schema
from app.providers.registry import PROVIDER_ENV, available, build_provider, open_providers
from app.review.findings import output_json_schema
from app.settings import GEMINI_OPENAI_URL, Settings
from tests.fakes import (
    DEFAULT_TEXT,
    FakeLLM,
    FaultKind,
    anthropic_fake,
    count_tokens,
    openai_fake,
    serve,
    sha256_hex,
)
from tests.fakes.llm_common import TOOL_CALL

HAIKU = "claude-haiku-5-5"  # the fake caches prefixes of 512 tokens and more
LUNA = "gpt-5.6-luna"  # 1024; a gpt-5 model, so no temperature
KEY = "sk-test-0123456789abcdef"  # must never show up in a repr or an error
SYSTEM = "".join(f"Rule {i}: name things for what they do, not how.\n" for i in range(100))
INSTRUCTIONS = "This repository prefers early returns.\n"
USER = "diff --git a/x.py b/x.py\n+print('hi')\n"
SCHEMA: dict[str, object] = {  # strict-mode shaped, as OpenAI's structured outputs require
    "type": "object",
    "properties": {"findings": {"type": "array"}},
    "required": ["findings"],
    "additionalProperties": False,
}

T = TypeVar("T")


def settings(**env: str) -> Settings:
    """Settings from exactly `env` (names as in the environment), never the process's own."""
    return Settings.from_env(env)


def request(
    model: str = HAIKU, instructions: str = INSTRUCTIONS, **changes: Any
) -> CompletionRequest:
    fields: dict[str, Any] = {
        "model": model,
        "system": SYSTEM,
        "instructions": instructions,
        "messages": (("user", USER),),
        "max_output_tokens": 512,
        "cache_key": "prefix-1/tenant-a",
        "json_schema": SCHEMA,
    }
    return CompletionRequest(**(fields | changes))


def run(provider: Provider, use: Callable[[Provider], Awaitable[T]]) -> T:
    """Run `use(provider)` on a fresh event loop, closing the provider after."""

    async def go() -> T:
        try:
            return await use(provider)
        finally:
            await provider.aclose()

    return asyncio.run(go())


def complete(provider: Provider, *requests: CompletionRequest) -> list[Completion]:
    """Send `requests` one after another (a cache entry is readable once its writer answered)."""

    async def use(p: Provider) -> list[Completion]:
        return [await p.complete(r) for r in requests]

    return run(provider, use)


def anthropic(url: str, **env: str) -> AnthropicProvider:
    return AnthropicProvider(KEY, url, settings(**env))


def openai(url: str, name: str = "openai", **env: str) -> OpenAICompatProvider:
    # The fake serves /v1/chat/completions; the OpenAI SDK wants /v1 in its base URL.
    on_openai = name == "openai"
    return OpenAICompatProvider(
        name,
        KEY,
        url + "/v1",
        settings(**env),
        send_cache_key=on_openai,
        json_schema=name != "local",
        strict_schema=on_openai,  # as the registry builds them
    )


# --- settings and registry ----------------------------------------------------------------------


def test_settings_read_exact_names_with_defaults_and_never_show_a_key() -> None:
    loaded = settings(
        ANTHROPIC_API_KEY=KEY,
        OPENAI_API_KEY="",  # Actions passes a secret a fork cannot see as ""
        TIERED_REVIEW_CONCURRENCY="3",
        TIERED_REVIEW_RETRY_AFTER_CAP_S="0.5",
        UNRELATED="x",
    )
    assert loaded.anthropic_api_key is not None
    assert loaded.anthropic_api_key.get_secret_value() == KEY
    assert loaded.openai_api_key is None
    assert (loaded.concurrency, loaded.retry_after_cap_s) == (3, 0.5)
    assert (loaded.llm_timeout_s, loaded.llm_max_retries) == (120.0, 2)
    assert loaded.gemini_base_url == GEMINI_OPENAI_URL
    for shown in (repr(loaded), str(loaded), loaded.model_dump_json(), str(loaded.model_dump())):
        assert KEY not in shown


@pytest.mark.parametrize(
    ("name", "value"),
    [("TIERED_REVIEW_CONCURRENCY", "-7"), ("TIERED_REVIEW_LLM_TIMEOUT_S", "soonish")],
)
def test_a_bad_knob_is_a_config_error_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name) as caught:
        settings(**{name: value})
    assert value not in str(caught.value)


def test_available_needs_every_variable_a_provider_lists() -> None:
    assert available(settings()) == frozenset()
    everything = settings(
        ANTHROPIC_API_KEY=KEY,
        OPENAI_API_KEY=KEY,
        GEMINI_API_KEY=KEY,
        LOCAL_LLM_BASE_URL="http://127.0.0.1:9/v1",
    )
    assert available(everything) == frozenset(PROVIDER_ENV)
    assert available(settings(LOCAL_LLM_API_KEY=KEY, GEMINI_BASE_URL="http://x/")) == frozenset()


def test_build_provider_by_name() -> None:
    env = settings(ANTHROPIC_API_KEY=KEY, GEMINI_API_KEY=KEY, LOCAL_LLM_BASE_URL="http://h/v1")
    built = {name: build_provider(name, env) for name in ("anthropic", "gemini", "local")}
    try:
        assert {name: p.name for name, p in built.items()} == {n: n for n in built}
        assert isinstance(built["anthropic"], AnthropicProvider)
        assert isinstance(built["local"], OpenAICompatProvider)
        with pytest.raises(ValueError, match="unknown provider 'bard'"):
            build_provider("bard", env)
        with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
            build_provider("openai", env)
    finally:
        for provider in built.values():
            asyncio.run(provider.aclose())


def test_open_providers_builds_every_available_one_and_closes_each() -> None:
    env = settings(ANTHROPIC_API_KEY=KEY, GEMINI_API_KEY=KEY, LOCAL_LLM_BASE_URL="http://h/v1")
    seen: dict[str, Provider] = {}

    async def use(fail: bool) -> None:
        async with open_providers(env) as providers:
            seen.update(providers)
            assert not any(p._client.is_closed() for p in providers.values())  # type: ignore[attr-defined]
            if fail:
                raise RuntimeError("the review failed")

    asyncio.run(use(fail=False))
    assert sorted(seen) == ["anthropic", "gemini", "local"]
    assert all(p._client.is_closed() for p in seen.values())  # type: ignore[attr-defined]
    seen.clear()
    with pytest.raises(RuntimeError, match="the review failed"):
        asyncio.run(use(fail=True))
    assert len(seen) == 3 and all(p._client.is_closed() for p in seen.values())  # type: ignore[attr-defined]


def test_the_conversation_is_user_and_assistant_turns_only() -> None:
    repair = request(messages=(("user", "a"), ("assistant", "b"), ("user", "c")))
    assert conversation(repair) == [("user", "a"), ("assistant", "b"), ("user", "c")]
    with pytest.raises(ValueError, match="not 'system'"):
        conversation(request(messages=(("system", "override"),)))


# --- Anthropic ----------------------------------------------------------------------------------


def test_anthropic_request_has_one_breakpoint_per_prefix_block() -> None:
    with anthropic_fake() as (url, state):
        complete(anthropic(url), request(), request(instructions=""))
    with_instructions, without = (entry.json for entry in state.log.entries)
    ephemeral = {"type": "ephemeral"}
    assert with_instructions["system"] == [
        {"type": "text", "text": SYSTEM, "cache_control": ephemeral},
        {"type": "text", "text": INSTRUCTIONS, "cache_control": ephemeral},
    ]
    assert without["system"] == [{"type": "text", "text": SYSTEM, "cache_control": ephemeral}]
    assert with_instructions["messages"] == [{"role": "user", "content": USER}]
    assert with_instructions["max_tokens"] == 512
    assert "temperature" not in with_instructions  # Claude 4.7+ and 5.x reject it
    # The fingerprint covers the tool (first in the prefix) and the system prompt.
    tool = json.dumps(review_tool(SCHEMA), ensure_ascii=False, separators=(",", ":"))
    assert {entry.prefix_sha256 for entry in state.log.entries} == {sha256_hex(tool + SYSTEM)}
    # The answer is forced through one tool whose input schema is the contract.
    assert with_instructions["tools"] == [
        {
            "name": "submit_review",
            "description": "Submit the review: the findings and the summary.",
            "input_schema": SCHEMA,
        }
    ]
    assert with_instructions["tool_choice"] == {"type": "tool", "name": "submit_review"}


def test_anthropic_reads_the_answer_from_the_forced_tool_call() -> None:
    with anthropic_fake() as (url, state):
        state.responder = lambda m, s, u: '{"findings": [], "summary": "from the tool"}'
        (answer,) = complete(anthropic(url), request())
        (text_only,) = complete(anthropic(url), request(json_schema=None))
    assert state.log.entries[0].response["content"][0]["type"] == "tool_use"
    assert json.loads(answer.text) == {"findings": [], "summary": "from the tool"}
    assert state.log.entries[1].response["content"][0]["type"] == "text"
    assert "tools" not in state.log.entries[1].json
    assert json.loads(text_only.text)["summary"] == "from the tool"


def test_openai_reads_an_answer_sent_as_a_tool_call() -> None:
    with openai_fake() as (url, state):
        state.responder = lambda m, s, u: TOOL_CALL + '{"findings": [], "summary": "in a call"}'
        (answer,) = complete(openai(url), request())
    assert state.log.entries[0].response["choices"][0]["message"]["content"] is None
    assert json.loads(answer.text)["summary"] == "in a call"


def test_anthropic_usage_writes_the_prefix_then_reads_it() -> None:
    system, instructions = count_tokens(SYSTEM), count_tokens(INSTRUCTIONS)
    user = count_tokens(USER)
    other = "This repository wants type hints everywhere.\n"
    assert system >= 512  # the fake's minimum for HAIKU
    with anthropic_fake() as (url, state):
        first, second, third = complete(
            anthropic(url), request(), request(), request(instructions=other)
        )
    # The forced tool's definition is the first part of the cached prefix.
    (tool,) = state.log.entries[0].json["tools"]
    system += count_tokens(json.dumps(tool, ensure_ascii=False, separators=(",", ":")))
    assert first.text == DEFAULT_TEXT and not first.truncated
    assert (first.usage.cache_write_tokens, first.usage.cache_read_tokens) == (
        system + instructions,
        0,
    )
    assert first.usage.fresh_input_tokens == user
    assert (second.usage.cache_write_tokens, second.usage.cache_read_tokens) == (
        0,
        system + instructions,
    )
    # Another repository's instructions still read the shared system prompt.
    assert (third.usage.cache_write_tokens, third.usage.cache_read_tokens) == (
        count_tokens(other),
        system,
    )
    assert first.usage.input_tokens == second.usage.input_tokens == system + instructions + user
    assert first.usage.output_tokens == count_tokens(DEFAULT_TEXT)


def test_anthropic_truncation_and_token_count() -> None:
    with anthropic_fake(responder=lambda model, system, user: "word " * 50) as (url, _):
        [cut] = complete(anthropic(url), request(max_output_tokens=5))
        counted = run(anthropic(url), lambda p: p.count_tokens(request(json_schema=None)))
    assert cut.truncated and cut.usage.output_tokens == 5
    assert counted == count_tokens(SYSTEM) + count_tokens(INSTRUCTIONS) + count_tokens(USER)


# --- OpenAI-compatible --------------------------------------------------------------------------


def test_openai_request_mapping() -> None:
    with openai_fake() as (url, state):
        complete(openai(url), request(model=LUNA))
    [entry] = state.log.entries
    body = entry.json
    assert body["messages"] == [
        {"role": "system", "content": SYSTEM},
        {"role": "system", "content": INSTRUCTIONS},
        {"role": "user", "content": USER},
    ]
    assert body["prompt_cache_key"] == "prefix-1/tenant-a"
    assert body["max_completion_tokens"] == 512 and "max_tokens" not in body
    assert "temperature" not in body  # gpt-5 models reject it
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "review", "schema": SCHEMA, "strict": True},
    }
    assert entry.prefix_sha256 == sha256_hex(SYSTEM + INSTRUCTIONS)


@pytest.mark.parametrize(("name", "json_schema"), [("gemini", True), ("local", False)])
def test_compatible_servers_get_the_older_parameters(name: str, json_schema: bool) -> None:
    with openai_fake() as (url, state):
        complete(openai(url, name), request(model="gemini-2.5-flash-lite", instructions=""))
    body = state.log.entries[0].json
    assert "prompt_cache_key" not in body
    assert body["max_tokens"] == 512 and "max_completion_tokens" not in body
    assert body["temperature"] == 0
    assert ("response_format" in body) == json_schema
    assert [m["role"] for m in body["messages"]] == ["system", "user"]


def test_openai_usage_counts_cached_tokens_as_reads() -> None:
    prefix, user = count_tokens(SYSTEM + INSTRUCTIONS), count_tokens(USER)
    assert prefix >= 1024  # the fake's minimum for LUNA
    with openai_fake() as (url, _):
        first, second = complete(openai(url), request(model=LUNA), request(model=LUNA))
    assert (first.usage.cache_read_tokens, first.usage.fresh_input_tokens) == (0, prefix + user)
    assert (second.usage.cache_read_tokens, second.usage.fresh_input_tokens) == (prefix, user)
    assert second.usage.cache_write_tokens == 0
    assert second.usage.output_tokens == count_tokens(DEFAULT_TEXT)


def test_openai_length_finish_is_truncation() -> None:
    with openai_fake() as (url, state):
        state.faults.add("truncated")
        [cut] = complete(openai(url), request(model=LUNA))
    assert cut.truncated and DEFAULT_TEXT.startswith(cut.text)


# --- errors -------------------------------------------------------------------------------------

FakeFactory = Callable[[], contextlib.AbstractContextManager[tuple[str, FakeLLM]]]
ProviderFactory = Callable[..., Provider]
BOTH: list[Any] = [
    pytest.param(anthropic_fake, anthropic, HAIKU, id="anthropic"),
    pytest.param(openai_fake, openai, LUNA, id="openai"),
]


def failure(provider: Provider, model: str, **changes: Any) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        complete(provider, request(model=model, **changes))
    message = str(caught.value)
    assert KEY not in message and SYSTEM[:40] not in message and USER not in message
    return caught.value


@pytest.mark.parametrize(("fake", "make", "model"), BOTH)
@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        ("429", ProviderErrorKind.RATE_LIMIT),
        ("500", ProviderErrorKind.SERVER),
        ("529", ProviderErrorKind.OVERLOADED),  # the OpenAI fake answers 503
        ("broken_body", ProviderErrorKind.MALFORMED),
    ],
)
def test_faults_map_to_error_kinds(
    fake: FakeFactory,
    make: ProviderFactory,
    model: str,
    fault: FaultKind,
    kind: ProviderErrorKind,
) -> None:
    with fake() as (url, state):
        state.faults.add(fault, retry_after=7)
        error = failure(make(url, TIERED_REVIEW_LLM_MAX_RETRIES="0"), model)
    assert error.kind is kind
    assert len(state.log) == 1  # no retries with max_retries=0


@pytest.mark.parametrize(("fake", "make", "model"), BOTH)
def test_a_slow_answer_is_a_timeout(fake: FakeFactory, make: ProviderFactory, model: str) -> None:
    with fake() as (url, state):
        state.faults.add("timeout", seconds=3)
        started = time.monotonic()
        provider = make(url, TIERED_REVIEW_LLM_TIMEOUT_S="0.3", TIERED_REVIEW_LLM_MAX_RETRIES="0")
        error = failure(provider, model)
    assert error.kind is ProviderErrorKind.TIMEOUT
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(("fake", "make", "model"), BOTH)
def test_a_request_the_api_rejects_is_a_bad_request(
    fake: FakeFactory, make: ProviderFactory, model: str
) -> None:
    with fake() as (url, _):
        error = failure(make(url, TIERED_REVIEW_LLM_MAX_RETRIES="0"), model, max_output_tokens=0)
    assert error.kind is ProviderErrorKind.BAD_REQUEST
    assert "HTTP 400" in str(error)


@pytest.mark.parametrize(("make", "model"), [(anthropic, HAIKU), (openai, LUNA)])
def test_nobody_listening_is_a_connection_error(make: ProviderFactory, model: str) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago, with nothing on it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    error = failure(make(f"http://127.0.0.1:{port}", TIERED_REVIEW_LLM_MAX_RETRIES="0"), model)
    assert error.kind is ProviderErrorKind.CONNECTION


@contextlib.contextmanager
def no_usage_fake() -> Iterator[str]:
    """Both APIs' success shapes, without `usage`: the SDKs parse it as None instead of failing."""
    app = FastAPI()

    @app.post("/v1/messages")
    async def messages() -> JSONResponse:
        content = [{"type": "text", "text": "{}"}]
        return JSONResponse({"type": "message", "content": content, "stop_reason": "end_turn"})

    @app.post("/v1/chat/completions")
    async def chat() -> JSONResponse:
        message = {"role": "assistant", "content": "{}"}
        choice = {"index": 0, "message": message, "finish_reason": "stop"}
        return JSONResponse({"object": "chat.completion", "choices": [choice]})

    with serve(app) as url:
        yield url


@pytest.mark.parametrize(("make", "model"), [(anthropic, HAIKU), (openai, LUNA)])
def test_a_reply_without_usage_is_malformed(make: ProviderFactory, model: str) -> None:
    with no_usage_fake() as url:
        assert failure(make(url), model).kind is ProviderErrorKind.MALFORMED


# --- the retry-after cap ------------------------------------------------------------------------


@pytest.mark.parametrize(("fake", "make", "model"), BOTH)
def test_an_hour_long_retry_after_is_capped(
    fake: FakeFactory, make: ProviderFactory, model: str
) -> None:
    # Uncapped, the anthropic SDK would sleep an hour and the openai SDK would not retry at all.
    with fake() as (url, state):
        state.faults.add("429", retry_after=3600)
        started = time.monotonic()
        cap = {"TIERED_REVIEW_RETRY_AFTER_CAP_S": "0.2", "TIERED_REVIEW_LLM_MAX_RETRIES": "1"}
        provider = make(url, **cap)
        [answer] = complete(provider, request(model=model))
    assert time.monotonic() - started < 5
    assert answer.text == DEFAULT_TEXT
    assert [entry.status for entry in state.log.entries] == [429, 200]


IN_AN_HOUR = email.utils.formatdate(time.time() + 3600, usegmt=True)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "3600"}, {"retry-after": "30"}),
        ({"retry-after": "2"}, {"retry-after": "2"}),
        ({"retry-after-ms": "90000"}, {"retry-after-ms": "30000"}),  # read before retry-after
        ({"retry-after": "soon"}, {"retry-after": "soon"}),  # the SDKs ignore it; so do we
        ({"retry-after": IN_AN_HOUR}, {"retry-after": "30"}),
    ],
)
def test_the_hook_rewrites_only_waits_above_the_cap(
    headers: dict[str, str],
    expected: dict[str, str],
) -> None:
    response = httpx2.Response(429, headers=headers)
    clamp = retry_after_cap(30.0)

    async def go() -> None:
        await clamp(response)

    asyncio.run(go())
    assert {name: response.headers[name] for name in expected} == expected


def test_openai_sends_the_review_schema_strict_and_the_fake_accepts_it() -> None:
    with openai_fake() as (url, state):
        (answer,) = complete(openai(url), request(json_schema=output_json_schema()))
    sent = state.log.entries[0].json["response_format"]
    assert sent["type"] == "json_schema" and sent["json_schema"]["strict"] is True
    assert sent["json_schema"]["schema"] == output_json_schema()
    assert answer.text == DEFAULT_TEXT


def test_the_openai_fake_refuses_a_schema_strict_mode_cannot_take() -> None:
    loose = {"type": "object", "properties": {"findings": {"type": "array"}}}
    with openai_fake() as (url, _), pytest.raises(ProviderError) as caught:
        complete(openai(url), request(json_schema=loose))
    assert caught.value.kind is ProviderErrorKind.BAD_REQUEST


def test_local_servers_get_a_schema_only_when_the_operator_says_they_take_it() -> None:
    with openai_fake() as (url, state):
        for flag in ("false", "true"):
            env = {"LOCAL_LLM_BASE_URL": url + "/v1", "LOCAL_LLM_JSON_SCHEMA": flag}
            provider = build_provider("local", Settings.from_env(env))
            complete(provider, request(json_schema=output_json_schema()))
    plain, constrained = (e.json for e in state.log.entries)
    assert "response_format" not in plain
    assert constrained["response_format"]["json_schema"]["strict"] is False


def test_gemini_gets_the_schema_in_the_subset_it_takes() -> None:
    with openai_fake() as (url, state):
        complete(openai(url, "gemini"), request(json_schema=output_json_schema()))
    sent = state.log.entries[0].json["response_format"]["json_schema"]
    assert sent["strict"] is False
    text = json.dumps(sent["schema"])
    assert "additionalProperties" not in text and "null" not in text.replace("nullable", "")
    finding = sent["schema"]["properties"]["findings"]["items"]["properties"]
    assert finding["start_line"] == {"type": "integer", "nullable": True}
    assert finding["start_side"] == {"type": "string", "nullable": True, "enum": ["RIGHT", "LEFT"]}
    assert gemini_schema(output_json_schema())["required"] == ["findings", "summary"]
