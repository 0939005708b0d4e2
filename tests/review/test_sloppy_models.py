"""Findings survive a sloppy model: the bundled cases reviewed through the real SDKs and fakes.

The fakes answer from `app.evals.sloppy.ScriptedModel`, which means to report each planted defect
on its line and makes the mistakes small models make at set rates: numbers off by 1-5, the wrong
side, missing keys, prose and fences, trailing commas, cut answers, tool calls instead of text.
The draws are seeded by the request's text, so every figure below is deterministic.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from app.evals.core import EvalCase, load_cases
from app.evals.sloppy import Behaviour, IntentTally, ScriptedModel, tally_intents
from app.plan.planner import Plan, build_plan
from app.providers.registry import build_provider
from app.review.engine import EngineOptions, ReviewResult, run_review
from app.settings import Settings
from tests.conftest import ROOT, InputsFactory
from tests.fakes import FakeLLM, anthropic_fake, openai_fake
from tests.fakes.llm_common import scripted_responder

CASES = ROOT / "app" / "data" / "evals"
ON_OPENAI = {
    "tiers": {
        "small": {"model": "openai:gpt-5.6-luna"},
        "middle": {"model": "openai:gpt-5.6-terra"},
        "frontier": {"model": "openai:gpt-5.6-sol"},
    }
}


@dataclass
class Outcome:
    tally: IntentTally
    results: list[ReviewResult]
    answered_by_tool_call: int


@pytest.fixture(scope="module")
def cases() -> tuple[EvalCase, ...]:
    return load_cases(CASES)


@pytest.fixture
def servers() -> Iterator[tuple[FakeLLM, FakeLLM, dict[str, str]]]:
    with anthropic_fake() as (a_url, a_state), openai_fake() as (o_url, o_state):
        env = {
            "ANTHROPIC_API_KEY": "test-anthropic",
            "ANTHROPIC_BASE_URL": a_url,
            "OPENAI_API_KEY": "test-openai",
            "OPENAI_BASE_URL": o_url + "/v1",
            "TIERED_REVIEW_LLM_MAX_RETRIES": "0",
            "TIERED_REVIEW_LLM_TIMEOUT_S": "10",
        }
        yield a_state, o_state, env


def review_cases(
    cases: tuple[EvalCase, ...],
    servers: tuple[FakeLLM, FakeLLM, dict[str, str]],
    make_inputs: InputsFactory,
    behaviour: Behaviour,
    overrides: dict[str, Any] | None = None,
) -> Outcome:
    anthropic_state, openai_state, env = servers
    inputs = make_inputs(overrides)
    settings = Settings.from_env(env)
    tallies: list[IntentTally] = []
    results: list[ReviewResult] = []
    for case in cases:
        model = ScriptedModel(case, behaviour, skip_systems=frozenset({inputs.prompts.summary}))
        anthropic_state.responder = openai_state.responder = scripted_responder(model)
        plan = build_plan(case.diff, inputs)

        async def go(plan: Plan = plan) -> ReviewResult:
            providers = {n: build_provider(n, settings) for n in ("anthropic", "openai")}
            try:
                options = EngineOptions(tenant="sloppy", concurrency=4)
                return await run_review(plan, providers, inputs.config, inputs.catalog, options)
            finally:
                for p in providers.values():
                    await p.aclose()

        result = asyncio.run(go())
        results.append(result)
        tallies.append(tally_intents(list(model.intents.values()), result.findings))
    calls = sum(
        1
        for e in openai_state.log.entries
        if isinstance(e.response, dict) and e.response["choices"][0]["message"].get("tool_calls")
    )
    total = IntentTally(*(sum(getattr(t, k) for t in tallies) for k in IntentTally.__slots__))
    return Outcome(total, results, calls)


def test_a_careful_model_is_posted_exactly_where_it_meant(
    cases: tuple[EvalCase, ...],
    servers: tuple[FakeLLM, FakeLLM, dict[str, str]],
    make_inputs: InputsFactory,
) -> None:
    out = review_cases(cases[:12], servers, make_inputs, Behaviour.CAREFUL)
    assert out.tally.meant >= 20
    assert out.tally.inline_on_line == out.tally.meant
    assert all(o.repairs == 0 and not o.dropped for r in out.results for o in r.requests)


def test_a_sloppy_model_on_anthropic_still_lands_its_findings(
    cases: tuple[EvalCase, ...],
    servers: tuple[FakeLLM, FakeLLM, dict[str, str]],
    make_inputs: InputsFactory,
) -> None:
    out = review_cases(cases, servers, make_inputs, Behaviour.SLOPPY)
    requests = [o for r in out.results for o in r.requests]
    assert out.tally.meant >= 80
    # Left at the door: a quote left out on an off number, a category left out, a cut finding.
    assert out.tally.inline_on_line / out.tally.meant >= 0.85, out.tally
    assert sum(o.repairs for o in requests) / len(requests) <= 0.05
    assert not [o.reason for o in requests if o.status != "ok"]
    moved = [f for r in out.results for f in r.findings if f.moved]
    assert moved and all(f.inline for f in moved)  # numbers were off, the quotes placed them
    dropped = [reason for o in requests for reason in o.dropped]
    assert dropped  # and the unusable ones were counted, each with its reason
    notes = [n for r in out.results for n in r.notes if "unusable findings" in n]
    assert len(notes) == sum(1 for o in requests if o.dropped)


def test_a_sloppy_model_on_openai_answers_in_tool_calls_and_still_lands(
    cases: tuple[EvalCase, ...],
    servers: tuple[FakeLLM, FakeLLM, dict[str, str]],
    make_inputs: InputsFactory,
) -> None:
    out = review_cases(cases, servers, make_inputs, Behaviour.SLOPPY, ON_OPENAI)
    requests = [o for r in out.results for o in r.requests]
    assert {o.provider for o in requests} == {"openai"}
    assert out.answered_by_tool_call > 0  # some answers came as tool calls, and were read
    # Left at the door: a quote left out on an off number, a category left out, a cut finding.
    assert out.tally.inline_on_line / out.tally.meant >= 0.85, out.tally
    assert sum(o.repairs for o in requests) / len(requests) <= 0.05
