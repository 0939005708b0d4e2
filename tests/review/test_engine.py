"""The review engine against loopback fakes of both providers, through the real SDKs."""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from app.plan.config import Task
from app.plan.planner import Plan, build_plan
from app.providers.registry import build_provider
from app.review.engine import EngineOptions, run_review
from app.review.result import ReviewResult
from app.settings import Settings
from tests.conftest import EXAMPLE_DIFF, InputsFactory
from tests.fakes import FakeLLM, anthropic_fake, openai_fake

_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@", re.M)
_FILE = re.compile(r"^diff --git a/\S+ b/(\S+)$", re.M)
_ADDED = re.compile(r"^R(\d+) \+")


def anchored_finding(user: str, *, off_diff: bool = False) -> dict[str, Any]:
    """A finding on the first added line of the first file in the request's diff."""
    path_match = _FILE.search(user)
    assert path_match, "no diff in the request"
    hunk = _HUNK.search(user, path_match.end())
    assert hunk
    line = int(hunk.group(1))
    for text in user[hunk.end() :].split("\n")[1:]:
        added = _ADDED.match(text)  # the numbered format names each line's anchor
        if added:
            line = int(added.group(1))
            break
    return {
        "path": path_match.group(1),
        "line": 99999 if off_diff else line,
        "start_line": None,
        "side": "RIGHT",
        "start_side": None,
        "severity": "major",
        "category": "bug",
        "title": "Off the diff" if off_diff else "Check this",
        "body": "Because.",
        "suggestion": None,
    }


def reviewer(model: str, system: str, user: str) -> str:
    """A scripted model: one anchored finding and one off-diff finding per review request."""
    if "## Hunks" in user and "## Changed signatures" not in user:
        return json.dumps({"findings": [], "summary": "This PR hardens the debugger."})
    findings = [anchored_finding(user), anchored_finding(user, off_diff=True)]
    return json.dumps({"findings": findings, "summary": f"reviewed by {model}"})


@dataclass
class Fakes:
    anthropic: FakeLLM
    openai: FakeLLM
    local: FakeLLM
    env: dict[str, str]


@pytest.fixture
def fakes() -> Iterator[Fakes]:
    with (
        anthropic_fake(responder=reviewer) as (a_url, a_state),
        openai_fake(responder=reviewer) as (o_url, o_state),
        openai_fake(responder=reviewer) as (l_url, l_state),
    ):
        env = {
            "ANTHROPIC_API_KEY": "test-anthropic",
            "ANTHROPIC_BASE_URL": a_url,
            "OPENAI_API_KEY": "test-openai",
            "OPENAI_BASE_URL": o_url + "/v1",
            "LOCAL_LLM_BASE_URL": l_url + "/v1",
            "TIERED_REVIEW_LLM_MAX_RETRIES": "0",
            "TIERED_REVIEW_LLM_TIMEOUT_S": "10",
        }
        yield Fakes(a_state, o_state, l_state, env)


def review(
    plan: Plan, inputs_config: Any, catalog: Any, env: Mapping[str, str], tenant: str = "acme/api"
) -> ReviewResult:
    settings = Settings.from_env(env)

    async def go() -> ReviewResult:
        providers = {n: build_provider(n, settings) for n in ("anthropic", "openai", "local")}
        try:
            return await run_review(
                plan, providers, inputs_config, catalog, EngineOptions(tenant=tenant, concurrency=4)
            )
        finally:
            for p in providers.values():
                await p.aclose()

    return asyncio.run(go())


def _messages(state: FakeLLM) -> list[Any]:
    return [e for e in state.log.entries if e.path.endswith(("/messages", "/chat/completions"))]


def test_prefix_bytes_hash_to_the_plan_fingerprint(
    fakes: Fakes, make_inputs: InputsFactory
) -> None:
    inputs = make_inputs({"instructions": "We use tabs."})
    plan = build_plan(EXAMPLE_DIFF.read_text(), inputs)
    result = review(plan, inputs.config, inputs.catalog, fakes.env)
    assert all(o.status == "ok" for o in result.requests), [o.reason for o in result.requests]
    sent = {e.prefix_sha256 for e in _messages(fakes.anthropic)}
    assert sent == {p.fingerprint for p in plan.requests}
    # the second breakpoint carries the repository instructions, after the stable prefix
    system = _messages(fakes.anthropic)[0].json["system"]
    assert [("cache_control" in b) for b in system] == [True, True]
    assert "We use tabs." in system[1]["text"]


def test_warm_then_fan_out_reads_the_cache(fakes: Fakes, make_inputs: InputsFactory) -> None:
    # Five packages make one request per chunk group on each tier, several per prefix.
    inputs = make_inputs({"requests": {"max_chunks": 1}})
    plan = build_plan(EXAMPLE_DIFF.read_text(), inputs)
    result = review(plan, inputs.config, inputs.catalog, fakes.env)
    by_prefix: dict[tuple[str, str], list[Any]] = {}
    fingerprints = {p.request.id: p.fingerprint for p in plan.requests}
    for outcome in result.requests:
        by_prefix.setdefault((outcome.model, fingerprints[outcome.id]), []).append(outcome)
    assert any(len(group) > 1 for group in by_prefix.values())
    for group in by_prefix.values():
        first, rest = group[0], group[1:]
        assert first.first_of_prefix and first.usage.cache_write_tokens > 0
        for later in rest:
            assert not later.first_of_prefix and later.usage.cache_read_tokens > 0
    assert result.totals.cache_hit_rate_by_provider["anthropic"] == pytest.approx(1.0, abs=0.02)
    # and the fake saw every later request arrive after the first had completed
    entries = _messages(fakes.anthropic)
    for group in by_prefix.values():
        if len(group) < 2:
            continue
        same = [
            e
            for e in entries
            if e.model == group[0].model and e.prefix_sha256 == fingerprints[group[0].id]
        ]
        first_done = min(e.completed for e in same if e.completed is not None)
        assert sorted(e.arrived for e in same)[1] >= first_done


def test_outage_falls_back_to_the_alternate_model(fakes: Fakes, make_inputs: InputsFactory) -> None:
    inputs = make_inputs()
    plan = build_plan(EXAMPLE_DIFF.read_text(), inputs)
    fakes.anthropic.faults.add("500", times=50, model="claude-opus-5-5")
    result = review(plan, inputs.config, inputs.catalog, fakes.env)
    frontier = [o for o in result.requests if o.tier == "frontier"]
    assert frontier and all(o.status == "fallback" for o in frontier)
    assert all((o.provider, o.model) == ("openai", "gpt-5.6-sol") for o in frontier)
    assert all(o.usage.output_tokens > 0 and o.cost_usd > 0 for o in frontier)
    assert any("answered by openai:gpt-5.6-sol" in n for n in result.notes)
    assert {o.status for o in result.requests if o.tier != "frontier"} == {"ok"}


def test_private_code_never_falls_back_to_a_third_party(
    fakes: Fakes, make_inputs: InputsFactory
) -> None:
    overrides = {
        "tiers": {"local": {"model": "local:qwen3-coder", "alternate": "openai:gpt-5.6-luna"}},
        "paths": {"private": ["src/werkzeug/security.py"]},
    }
    inputs = make_inputs(overrides)
    plan = build_plan(EXAMPLE_DIFF.read_text(), inputs)
    fakes.local.faults.add("500", times=50)
    result = review(plan, inputs.config, inputs.catalog, fakes.env)
    local = [o for o in result.requests if o.tier == "local"]
    assert local and all(o.status == "failed" for o in local)
    for state in (fakes.anthropic, fakes.openai):
        for entry in _messages(state):
            assert b"src/werkzeug/security.py" not in entry.body
    assert any("not reviewed: src/werkzeug/security.py" in n for n in result.notes)


# The example PR under the legacy classifier has substantive chunks, so its plan holds a middle
# request; these engine tests need one (the facts model sends that PR to small and frontier).
WITH_MIDDLE: dict[str, Any] = {"difficulty": {"model": {"kind": "legacy"}}}


def test_invalid_json_gets_one_repair(fakes: Fakes, make_inputs: InputsFactory) -> None:
    inputs = make_inputs(WITH_MIDDLE)
    plan = build_plan(EXAMPLE_DIFF.read_text(), inputs)
    calls: list[str] = []

    def flaky(model: str, system: str, user: str) -> str:
        calls.append(model)
        if model == "claude-sonnet-5-5" and "could not be used" not in user:
            return "Here you go: {not json"
        return reviewer(model, system, user)

    fakes.anthropic.responder = flaky
    result = review(plan, inputs.config, inputs.catalog, fakes.env)
    middle = [o for o in result.requests if o.tier == "middle"]
    assert middle and all(o.status == "ok" for o in middle)
    assert calls.count("claude-sonnet-5-5") == 2 * len(middle)
    repair = [e for e in _messages(fakes.anthropic) if e.model == "claude-sonnet-5-5"][-1]
    roles = [m["role"] for m in repair.json["messages"]]
    assert roles == ["user", "assistant", "user"]
    # The repair turn is a second call that reads the prefix again: counted per call, the hit
    # rate stays a rate (it read up to twice the prefix; it could have read that much).
    assert all(o.calls == 2 for o in middle)
    assert all(o.calls == 1 for o in result.requests if o.tier != "middle")
    assert all(o.usage.cache_read_tokens > 0 for o in middle)  # the repair turns read it
    assert 0.9 <= result.totals.cache_hit_rate <= 1.0
    assert all(0 < r <= 1.0 for r in result.totals.cache_hit_rate_by_provider.values())


def test_still_invalid_fails_that_request_and_the_review_goes_on(
    fakes: Fakes, make_inputs: InputsFactory
) -> None:
    inputs = make_inputs()
    plan = build_plan(EXAMPLE_DIFF.read_text(), inputs)

    def broken(model: str, system: str, user: str) -> str:
        if model == "claude-opus-5-5":
            return '{"findings": [{"path": 3}]}'
        return reviewer(model, system, user)

    fakes.anthropic.responder = broken
    result = review(plan, inputs.config, inputs.catalog, fakes.env)
    frontier = [o for o in result.requests if o.tier == "frontier"]
    assert all(o.status == "failed" and "after one repair" in (o.reason or "") for o in frontier)
    assert all(o.cost_usd > 0 for o in frontier)  # the failed calls were still billed
    assert any(o.status == "ok" for o in result.requests)
    assert result.findings


def test_off_diff_findings_stay_out_of_inline_comments(
    fakes: Fakes, make_inputs: InputsFactory
) -> None:
    inputs = make_inputs()
    plan = build_plan(EXAMPLE_DIFF.read_text(), inputs)
    result = review(plan, inputs.config, inputs.catalog, fakes.env)
    inline = [f for f in result.findings if f.inline]
    off = [f for f in result.findings if not f.inline]
    assert inline and off
    assert all(f.line == 99999 for f in off) and all(f.line != 99999 for f in inline)
    assert all(any("Off the diff" in n and f.path in n for n in result.notes) for f in off)
    assert result.summary.startswith("This PR hardens the debugger.")


def test_usage_becomes_cost_and_baselines(fakes: Fakes, make_inputs: InputsFactory) -> None:
    inputs = make_inputs()
    plan = build_plan(EXAMPLE_DIFF.read_text(), inputs)
    result = review(plan, inputs.config, inputs.catalog, fakes.env)
    opus = inputs.catalog.get("anthropic:claude-opus-5-5")
    for o in result.requests:
        spec = inputs.catalog.get(f"{o.provider}:{o.model}")
        price = spec.price_for(o.usage.input_tokens)
        expected = (
            o.usage.fresh_input_tokens * price.input
            + o.usage.cache_write_tokens * price.cache_write
            + o.usage.cache_read_tokens * price.cache_read
            + o.usage.output_tokens * price.output
        ) / 1e6
        assert o.cost_usd == pytest.approx(expected)
        if spec.key == opus.key:
            assert o.all_frontier_usd == pytest.approx(o.cost_usd)
    t = result.totals
    assert t.all_frontier_usd > t.cost_usd > 0
    assert t.savings_pct == pytest.approx(100 * (1 - t.cost_usd / t.all_frontier_usd))
    assert any(o.task is Task.SUMMARY for o in result.requests)


def _secrets() -> dict[str, str]:
    """Fake credentials of six kinds, built at run time so none sits in the repository."""
    return {
        "github": "ghp_" + "a1B2c3D4" * 4 + "e5F6",
        "anthropic": "sk-ant-api03-" + "Zq9Xw8Vu7Ts6" * 6,
        "openai": "sk-proj-" + "Ab3De5Gh7Jk9" * 4,
        "aws_id": "AKIA" + "QWERTYUIOP234567",
        "aws_secret": "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYzX9qLm2Ws4Vt",
        "slack": "xoxb-" + "123456789012-" + "1234567890123-" + "AbCdEfGhIjKlMnOpQrStUvWx",
        "pem": "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC" + "BKcwggSjAgEAAoIBAQC7" * 3,
    }


def test_secrets_never_reach_a_provider(fakes: Fakes, make_inputs: InputsFactory) -> None:
    s = _secrets()
    pem = f"+-----BEGIN PRIVATE KEY-----\n+{s['pem']}\n+-----END PRIVATE KEY-----\n"
    lines = [
        f'+GITHUB_TOKEN = "{s["github"]}"\n',
        f'+client = Anthropic(api_key="{s["anthropic"]}")\n',
        f'+OPENAI = "{s["openai"]}"\n',
        f'+aws_access_key_id = "{s["aws_id"]}"\n',
        f'+aws_secret_access_key = "{s["aws_secret"]}"\n',
        f'+slack_token = "{s["slack"]}"\n',
    ]
    body = "".join(lines) + pem
    count = body.count("\n")
    leaky = f"config/{s['github']}.py"
    diff = (
        f"diff --git a/{leaky} b/{leaky}\nnew file mode 100644\n--- /dev/null\n+++ b/{leaky}\n"
        f"@@ -0,0 +1,{count} @@\n{body}"
        "diff --git a/app/settings.py b/app/settings.py\nnew file mode 100644\n--- /dev/null\n"
        f"+++ b/app/settings.py\n@@ -0,0 +1,{count} @@\n{body}"
    )
    inputs = make_inputs(title=f"Rotate {s['openai']}")
    inputs = type(inputs)(
        **{
            **{f: getattr(inputs, f) for f in inputs.__dataclass_fields__},
            "pr": type(inputs.pr)(title=f"Rotate {s['openai']}", body=f"old key {s['anthropic']}"),
        }
    )
    plan = build_plan(diff, inputs)
    result = review(plan, inputs.config, inputs.catalog, fakes.env)
    assert plan.requests and all(o.status == "ok" for o in result.requests)
    received = b"".join(
        e.body for st in (fakes.anthropic, fakes.openai, fakes.local) for e in st.log.entries
    )
    assert received  # the fakes did get the review
    for kind, secret in s.items():
        assert secret.encode() not in received, kind
    assert sum(result.redactions.values()) >= 7
    assert {"github_token", "anthropic_key", "openai_key", "aws_access_key", "private_key"} <= set(
        result.redactions
    )


def test_estimates_near_a_limit_are_recounted_once(
    fakes: Fakes, make_inputs: InputsFactory
) -> None:
    # A middle model whose window sits just above the plan's upper-bound estimate (so the plan
    # keeps the request there) and within 10% of the typical estimate: worth an exact count.
    inputs = make_inputs(WITH_MIDDLE)
    plan = build_plan(EXAMPLE_DIFF.read_text(), inputs)
    middle = next(p for p in plan.requests if p.request.route.tier == "middle")
    window = math.ceil(middle.request.input_o200k * 1.25) + middle.request.max_output_tokens + 1
    model = {
        "window": window,
        "max_output": 128000,
        "min_cacheable": 512,
        "tokenizer": {"kind": "factor", "factor": 1.2, "factor_max": 1.25},
        "prices": [{"input": 2, "cache_read": 0.1, "cache_write": 2.5, "output": 10}],
    }
    overrides = {
        **WITH_MIDDLE,
        "models": {"anthropic:claude-sonnet-5-5": model},
        "tiers": {"long": {"model": "anthropic:claude-opus-5-5"}},
    }
    inputs = make_inputs(overrides)
    plan = build_plan(EXAMPLE_DIFF.read_text(), inputs)
    counts: dict[str, int] = {}
    settings = Settings.from_env(fakes.env)

    async def go() -> ReviewResult:
        providers = {
            "anthropic": build_provider("anthropic", settings),
            "openai": build_provider("openai", settings),
        }
        try:
            options = EngineOptions(tenant="t", concurrency=4)
            await run_review(plan, providers, inputs.config, inputs.catalog, options, counts)
            return await run_review(plan, providers, inputs.config, inputs.catalog, options, counts)
        finally:
            for p in providers.values():
                await p.aclose()

    result = asyncio.run(go())
    counted = [e for e in fakes.anthropic.log.entries if e.path.endswith("/count_tokens")]
    recounted = [o for o in result.requests if o.exact_input_tokens is not None]
    assert recounted and all(o.tier == "middle" for o in recounted)
    assert len(counted) == len(recounted)  # the second review used the memo
    assert all(o.status == "ok" for o in recounted)
