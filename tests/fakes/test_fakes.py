"""The loopback LLM fakes, driven by the real anthropic and openai SDKs over HTTP."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import urllib.error
import urllib.request
from typing import Any

import anthropic
import openai
import pytest

from tests.fakes import (
    DEFAULT_TEXT,
    CacheEmulator,
    FaultPlan,
    RecordedRequest,
    anthropic_fake,
    count_tokens,
    openai_fake,
)

HAIKU = "claude-haiku-5-5"  # 512-token minimum in the fake's default table
LUNA = "gpt-5.6-luna"  # 1024-token minimum
GUIDELINES = "".join(f"Guideline {i}: name things for what they do, not how.\n" for i in range(120))
SHORT = "Review the diff."
USER = [{"role": "user", "content": "diff --git a/x.py b/x.py\n+print('hi')\n"}]


def _system(*texts: str, cached: tuple[int, ...] = (0,), ttl: str | None = None) -> list[Any]:
    """System text blocks, with cache_control on the blocks at the `cached` indices."""
    control: dict[str, str] = {"type": "ephemeral"} | ({"ttl": ttl} if ttl else {})
    return [
        {"type": "text", "text": text} | ({"cache_control": control} if i in cached else {})
        for i, text in enumerate(texts)
    ]


def _ask(client: anthropic.Anthropic, system: Any, **extra: Any) -> anthropic.types.Message:
    """One Messages call with the shared user turn."""
    return client.messages.create(
        model=extra.pop("model", HAIKU),
        max_tokens=extra.pop("max_tokens", 512),
        system=system,
        messages=extra.pop("messages", USER),
        **extra,
    )


def _chat(client: openai.OpenAI, system: str, **extra: Any) -> Any:
    """One Chat Completions call with a system prefix and the shared user turn."""
    return client.chat.completions.create(
        model=extra.pop("model", LUNA),
        messages=[{"role": "system", "content": system}, *USER],
        **extra,
    )


def _total_input(usage: anthropic.types.Usage) -> int:
    return (
        usage.input_tokens
        + (usage.cache_creation_input_tokens or 0)
        + (usage.cache_read_input_tokens or 0)
    )


def _wait_completed(entry: RecordedRequest, seconds: float = 3.0) -> None:
    deadline = time.monotonic() + seconds
    while entry.completed is None and time.monotonic() < deadline:
        time.sleep(0.01)


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


# --- Anthropic ----------------------------------------------------------------------------------


def test_anthropic_basic_completion_reports_usage_and_records_the_request() -> None:
    with (
        anthropic_fake() as (url, state),
        anthropic.Anthropic(api_key="k", base_url=url, max_retries=0) as client,
    ):
        message = _ask(client, SHORT)
    assert message.content[0].type == "text"
    assert json.loads(message.content[0].text) == json.loads(DEFAULT_TEXT)
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens == count_tokens(SHORT) + count_tokens(USER[0]["content"])
    assert message.usage.output_tokens == count_tokens(DEFAULT_TEXT)
    assert message.usage.cache_read_input_tokens == 0
    [entry] = state.log.entries
    assert (entry.method, entry.path, entry.status) == ("POST", "/v1/messages", 200)
    assert entry.headers["authorization"] == "Bearer k"
    assert entry.json["model"] == HAIKU and json.loads(entry.body) == entry.json
    assert entry.completed is not None and entry.completed >= entry.arrived


def test_anthropic_warm_then_read_and_prefix_fingerprint() -> None:
    system = _system(GUIDELINES)
    prefix_tokens = count_tokens(GUIDELINES)
    with (
        anthropic_fake() as (url, state),
        anthropic.Anthropic(api_key="k", base_url=url, max_retries=0) as client,
    ):
        first = _ask(client, system)
        second = _ask(client, system, messages=[{"role": "user", "content": "another diff"}])
    assert first.usage.cache_creation_input_tokens == prefix_tokens
    assert first.usage.cache_creation is not None
    assert first.usage.cache_creation.ephemeral_5m_input_tokens == prefix_tokens
    assert first.usage.cache_read_input_tokens == 0
    assert second.usage.cache_read_input_tokens == prefix_tokens
    assert second.usage.cache_creation_input_tokens == 0
    assert second.usage.input_tokens == count_tokens("another diff")
    assert _total_input(first.usage) == prefix_tokens + count_tokens(USER[0]["content"])
    expected = hashlib.sha256(GUIDELINES.encode()).hexdigest()
    assert [entry.prefix_sha256 for entry in state.log.entries] == [expected, expected]


def test_anthropic_fingerprint_stops_at_the_first_cached_system_block() -> None:
    system = _system("A" * 10, GUIDELINES, "per-tenant rules", cached=(1, 2))
    with (
        anthropic_fake() as (url, state),
        anthropic.Anthropic(api_key="k", base_url=url, max_retries=0) as client,
    ):
        _ask(client, system)
        tokens = client.messages.count_tokens(model=HAIKU, system=system, messages=USER)
    expected = hashlib.sha256(("A" * 10 + GUIDELINES).encode()).hexdigest()
    assert [entry.prefix_sha256 for entry in state.log.entries] == [expected, expected]
    assert state.log.entries[1].path == "/v1/messages/count_tokens"
    assert tokens.input_tokens == sum(
        count_tokens(t) for t in ("A" * 10, GUIDELINES, "per-tenant rules", USER[0]["content"])
    )


def test_anthropic_reads_the_longest_cached_prefix_and_writes_the_rest() -> None:
    stable, tenant_a, tenant_b = GUIDELINES, "Tenant A rules. " * 40, "Tenant B rules. " * 40
    with (
        anthropic_fake() as (url, _),
        anthropic.Anthropic(api_key="k", base_url=url, max_retries=0) as client,
    ):
        _ask(client, _system(stable, tenant_a, cached=(0, 1)))
        other = _ask(client, _system(stable, tenant_b, cached=(0, 1)))
        again = _ask(client, _system(stable, tenant_b, cached=(0, 1)))
    assert other.usage.cache_read_input_tokens == count_tokens(stable)
    assert other.usage.cache_creation_input_tokens == count_tokens(tenant_b)
    # The fakes count per block, so a prefix's tokens are the sum over its blocks.
    assert again.usage.cache_read_input_tokens == count_tokens(stable) + count_tokens(tenant_b)
    assert again.usage.cache_creation_input_tokens == 0


def test_anthropic_cold_fan_out_misses_and_warm_fan_out_hits_concurrently() -> None:
    system = _system(GUIDELINES)

    async def run(url: str) -> tuple[list[Any], list[Any], float]:
        async with anthropic.AsyncAnthropic(api_key="k", base_url=url, max_retries=0) as client:

            def call() -> Any:
                return client.messages.create(
                    model=HAIKU, max_tokens=64, system=system, messages=USER
                )

            cold = await asyncio.gather(*(call() for _ in range(3)))
            started = time.monotonic()
            warm = await asyncio.gather(*(call() for _ in range(4)))
            return cold, warm, time.monotonic() - started

    with anthropic_fake(latency=0.2) as (url, _):
        cold, warm, elapsed = asyncio.run(run(url))
    # Nothing is readable until a writing response has been sent, as with the real API.
    assert [m.usage.cache_read_input_tokens for m in cold] == [0, 0, 0]
    assert all(m.usage.cache_creation_input_tokens == count_tokens(GUIDELINES) for m in cold)
    assert all(m.usage.cache_read_input_tokens == count_tokens(GUIDELINES) for m in warm)
    assert elapsed < 0.6  # four 0.2 s calls overlapped


def test_anthropic_below_minimum_is_never_cached_unless_the_minimum_is_lowered() -> None:
    with (
        anthropic_fake() as (url, _),
        anthropic.Anthropic(api_key="k", base_url=url, max_retries=0) as client,
    ):
        usages = [_ask(client, _system(SHORT)).usage for _ in range(2)]
    assert [(u.cache_creation_input_tokens, u.cache_read_input_tokens) for u in usages] == [
        (0, 0),
        (0, 0),
    ]
    with anthropic_fake(cache=CacheEmulator(min_cacheable={HAIKU: 1})) as (url, _):
        with anthropic.Anthropic(api_key="k", base_url=url, max_retries=0) as client:
            usages = [_ask(client, _system(SHORT)).usage for _ in range(2)]
    assert usages[1].cache_read_input_tokens == count_tokens(SHORT)


def test_anthropic_cache_is_per_api_key_and_expires_after_its_ttl() -> None:
    now = [1000.0]
    system_5m, system_1h = _system(GUIDELINES), _system(GUIDELINES + "!", ttl="1h")
    with anthropic_fake(clock=lambda: now[0]) as (url, _):
        with (
            anthropic.Anthropic(api_key="org-a", base_url=url, max_retries=0) as org_a,
            anthropic.Anthropic(api_key="org-b", base_url=url, max_retries=0) as org_b,
        ):
            _ask(org_a, system_5m)
            one_hour = _ask(org_a, system_1h)
            assert _ask(org_b, system_5m).usage.cache_read_input_tokens == 0
            now[0] += 301
            assert _ask(org_a, system_5m).usage.cache_read_input_tokens == 0
            assert _ask(org_a, system_1h).usage.cache_read_input_tokens > 0
    assert one_hour.usage.cache_creation is not None
    assert one_hour.usage.cache_creation.ephemeral_1h_input_tokens == count_tokens(GUIDELINES + "!")


def test_anthropic_more_than_four_breakpoints_is_a_bad_request() -> None:
    system = _system(*[GUIDELINES] * 5, cached=(0, 1, 2, 3, 4))
    with (
        anthropic_fake() as (url, state),
        anthropic.Anthropic(api_key="k", base_url=url, max_retries=0) as client,
    ):
        with pytest.raises(anthropic.BadRequestError, match="maximum of 4"):
            _ask(client, system)
    assert state.log.entries[0].status == 400


def test_anthropic_rejects_missing_auth_and_bad_bodies_in_its_error_shape() -> None:
    with anthropic_fake() as (url, _):
        status, body = _post(url + "/v1/messages", b"{}", {"content-type": "application/json"})
        assert (status, body["type"], body["error"]["type"]) == (
            401,
            "error",
            "authentication_error",
        )
        status, body = _post(url + "/v1/messages", b"not json", {"x-api-key": "k"})
        assert (status, body["error"]["type"]) == (400, "invalid_request_error")
        request = json.dumps({"model": HAIKU, "max_tokens": 10, "messages": []}).encode()
        status, body = _post(url + "/v1/messages", request, {"x-api-key": "k"})
        assert (status, body["error"]["type"]) == (400, "invalid_request_error")


def test_anthropic_base_url_with_v1_is_a_not_found() -> None:
    with (
        anthropic_fake() as (url, state),
        anthropic.Anthropic(api_key="k", base_url=url + "/v1", max_retries=0) as client,
    ):
        with pytest.raises(anthropic.NotFoundError):
            _ask(client, SHORT)
    assert state.log.entries[0].path == "/v1/v1/messages"


def test_anthropic_429_with_retry_after_is_retried_by_the_sdk() -> None:
    with anthropic_fake() as (url, state):
        state.faults.add("429", retry_after=0.05)
        with anthropic.Anthropic(api_key="k", base_url=url, max_retries=1) as client:
            message = _ask(client, SHORT)
        assert message.stop_reason == "end_turn"
        assert [(e.status, e.fault) for e in state.log.entries] == [(429, "429"), (200, None)]
        state.faults.add("429", retry_after=7)
        with anthropic.Anthropic(api_key="k", base_url=url, max_retries=0) as client:
            with pytest.raises(anthropic.RateLimitError) as caught:
                _ask(client, SHORT)
    assert caught.value.response.headers["retry-after"] == "7"
    assert caught.value.body == {
        "type": "error",
        "error": {"type": "rate_limit_error", "message": caught.value.body["error"]["message"]},
    }


@pytest.mark.parametrize(
    ("kind", "error"),
    [("500", anthropic.InternalServerError), ("529", anthropic.OverloadedError)],
)
def test_anthropic_server_faults_raise_sdk_errors(kind: str, error: type[Exception]) -> None:
    with (
        anthropic_fake() as (url, state),
        anthropic.Anthropic(api_key="k", base_url=url, max_retries=0) as client,
    ):
        state.faults.add(kind)  # type: ignore[arg-type]
        with pytest.raises(error):
            _ask(client, SHORT)
        assert _ask(client, SHORT).stop_reason == "end_turn"  # one fault, one call


def test_anthropic_faults_can_target_one_model() -> None:
    with (
        anthropic_fake() as (url, state),
        anthropic.Anthropic(api_key="k", base_url=url, max_retries=0) as client,
    ):
        state.faults.add("500", times=2, model="claude-opus-5-5")
        assert _ask(client, SHORT).stop_reason == "end_turn"
        with pytest.raises(anthropic.InternalServerError):
            _ask(client, SHORT, model="claude-opus-5-5")
        assert state.faults.pending() == 1


def test_anthropic_timeout_raises_and_the_fake_sees_the_hang_up() -> None:
    with (
        anthropic_fake() as (url, state),
        anthropic.Anthropic(api_key="k", base_url=url, max_retries=0, timeout=0.3) as client,
    ):
        state.faults.add("timeout", seconds=3)
        started = time.monotonic()
        with pytest.raises(anthropic.APITimeoutError):
            _ask(client, _system(GUIDELINES))
        assert time.monotonic() - started < 1.5
        entry = state.log.entries[0]
        _wait_completed(entry)
        assert entry.disconnected and entry.fault == "timeout"
        # The abandoned answer wrote nothing to the cache.
        assert _ask(client, _system(GUIDELINES)).usage.cache_read_input_tokens == 0


def test_anthropic_malformed_and_truncated_text_come_back_as_text() -> None:
    with (
        anthropic_fake() as (url, state),
        anthropic.Anthropic(api_key="k", base_url=url, max_retries=0) as client,
    ):
        state.faults.add("malformed_json")
        state.faults.add("truncated")
        malformed, truncated = _ask(client, SHORT), _ask(client, SHORT)
    for message in (malformed, truncated):
        with pytest.raises(ValueError):
            json.loads(message.content[0].text)  # type: ignore[union-attr]
    assert malformed.stop_reason == "end_turn"
    assert truncated.stop_reason == "max_tokens"
    assert DEFAULT_TEXT.startswith(truncated.content[0].text)  # type: ignore[union-attr]


def test_anthropic_broken_body_escapes_the_sdk_as_a_json_error() -> None:
    with (
        anthropic_fake() as (url, state),
        anthropic.Anthropic(api_key="k", base_url=url, max_retries=0) as client,
    ):
        state.faults.add("broken_body")
        with pytest.raises(json.JSONDecodeError):
            _ask(client, SHORT)


def test_responder_sees_model_system_and_user_text_and_max_tokens_truncates() -> None:
    seen: list[tuple[str, str, str]] = []

    def responder(model: str, system_text: str, user_text: str) -> str:
        seen.append((model, system_text, user_text))
        return "word " * 50

    with (
        anthropic_fake(responder=responder) as (url, _),
        anthropic.Anthropic(api_key="k", base_url=url, max_retries=0) as client,
    ):
        message = _ask(client, _system("part one. ", "part two."), max_tokens=5)
    assert seen == [(HAIKU, "part one. part two.", USER[0]["content"])]
    assert message.stop_reason == "max_tokens"
    assert message.usage.output_tokens == 5


def test_fault_plan_rejects_unknown_kinds() -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        FaultPlan().add("418")  # type: ignore[arg-type]


# --- OpenAI -------------------------------------------------------------------------------------


def _openai(url: str, **opts: Any) -> openai.OpenAI:
    return openai.OpenAI(api_key="k", base_url=url + "/v1", **{"max_retries": 0, **opts})


def test_openai_basic_completion_with_structured_output_options() -> None:
    strict = {"type": "object", "properties": {}, "required": [], "additionalProperties": False}
    schema = {"name": "review", "schema": strict, "strict": True}
    with openai_fake() as (url, state), _openai(url) as client:
        reply = _chat(
            client,
            SHORT,
            response_format={"type": "json_schema", "json_schema": schema},
            prompt_cache_key="tenant-1",
            max_completion_tokens=256,
        )
    assert reply.object == "chat.completion"
    assert json.loads(reply.choices[0].message.content) == json.loads(DEFAULT_TEXT)
    assert reply.choices[0].finish_reason == "stop"
    prompt = count_tokens(SHORT) + count_tokens(USER[0]["content"])
    assert reply.usage.prompt_tokens == prompt
    assert reply.usage.total_tokens == prompt + count_tokens(DEFAULT_TEXT)
    assert reply.usage.prompt_tokens_details.cached_tokens == 0
    [entry] = state.log.entries
    assert entry.path == "/v1/chat/completions" and entry.headers["authorization"] == "Bearer k"
    assert entry.json["prompt_cache_key"] == "tenant-1"
    assert entry.prefix_sha256 == hashlib.sha256(SHORT.encode()).hexdigest()


def test_openai_cache_reads_per_prompt_cache_key_and_above_the_minimum() -> None:
    short = GUIDELINES[: len(GUIDELINES) // 3]
    assert count_tokens(short) < 1024 < count_tokens(GUIDELINES)

    def cached(client: openai.OpenAI, system: str, key: str | None) -> int:
        extra = {"prompt_cache_key": key} if key else {}
        return _chat(client, system, **extra).usage.prompt_tokens_details.cached_tokens

    with openai_fake() as (url, state), _openai(url) as client:
        assert cached(client, GUIDELINES, "tenant-a") == 0
        assert cached(client, GUIDELINES, "tenant-a") == count_tokens(GUIDELINES)
        assert cached(client, GUIDELINES, "tenant-b") == 0
        assert cached(client, GUIDELINES, None) == 0
        assert cached(client, short, None) == 0
        assert cached(client, short, None) == 0  # below gpt-5.6-luna's 1024
    expected = hashlib.sha256(GUIDELINES.encode()).hexdigest()
    assert {e.prefix_sha256 for e in state.log.entries[:4]} == {expected}


def test_openai_faults_map_to_sdk_errors() -> None:
    with openai_fake() as (url, state):
        state.faults.add("429", retry_after=0.05)
        with _openai(url, max_retries=1) as client:
            assert _chat(client, SHORT).choices[0].finish_reason == "stop"
        with _openai(url) as client:
            for kind, error in [
                ("429", openai.RateLimitError),
                ("500", openai.InternalServerError),
                ("529", openai.InternalServerError),
            ]:
                state.faults.add(kind)  # type: ignore[arg-type]
                with pytest.raises(error):
                    _chat(client, SHORT)
            state.faults.add("broken_body")
            with pytest.raises(json.JSONDecodeError):
                _chat(client, SHORT)
    assert [e.status for e in state.log.entries] == [429, 200, 429, 500, 503, 200]
    assert state.log.entries[2].response["error"]["code"] == "rate_limit_exceeded"


def test_openai_timeout_malformed_and_truncated() -> None:
    with openai_fake() as (url, state), _openai(url, timeout=0.3) as client:
        state.faults.add("timeout", seconds=3)
        with pytest.raises(openai.APITimeoutError):
            _chat(client, SHORT)
        state.faults.add("malformed_json")
        state.faults.add("truncated")
        malformed, truncated = _chat(client, SHORT), _chat(client, SHORT)
    with pytest.raises(ValueError):
        json.loads(malformed.choices[0].message.content)
    assert truncated.choices[0].finish_reason == "length"
    assert DEFAULT_TEXT.startswith(truncated.choices[0].message.content)
    assert DEFAULT_TEXT != truncated.choices[0].message.content


def test_openai_missing_auth_uses_openai_error_shape() -> None:
    request = json.dumps({"model": LUNA, "messages": USER}).encode()
    with openai_fake() as (url, _):
        status, body = _post(url + "/v1/chat/completions", request, {})
    assert status == 401
    assert set(body["error"]) == {"message", "type", "param", "code"}


def test_latency_overlaps_concurrent_openai_calls() -> None:
    async def run(url: str) -> float:
        async with openai.AsyncOpenAI(api_key="k", base_url=url + "/v1", max_retries=0) as client:
            started = time.monotonic()
            await asyncio.gather(
                *(
                    client.chat.completions.create(model=LUNA, messages=USER)  # type: ignore[arg-type]
                    for _ in range(5)
                )
            )
            return time.monotonic() - started

    with openai_fake(latency=0.2) as (url, fake):
        elapsed = asyncio.run(run(url))
    assert elapsed < 0.7
    entries = fake.log.entries
    assert len(entries) == 5 and all(e.completed is not None for e in entries)
    assert max(e.arrived for e in entries) < min(e.completed or 0 for e in entries)
