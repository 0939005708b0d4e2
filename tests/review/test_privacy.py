"""Private paths on the wire: never in a third-party provider's requests, whatever the config says.

The review runs for real against three fake servers (Anthropic, OpenAI, a local OpenAI-compatible
model); what each received is searched for the private file's lines.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.errors import ConfigError
from app.plan.config import Mode
from app.plan.diff import parse_diff
from app.plan.planner import build_plan
from tests.conftest import EXAMPLE_DIFF, InputsFactory
from tests.fakes.llm_common import FakeLLM
from tests.review.test_engine import Fakes, _messages, fakes, review  # noqa: F401 (fixture)

PRIVATE = "src/werkzeug/security.py"
LOCAL = {"local": {"model": "local:qwen3-coder", "max_input_tokens": 16000}}
HOSTILE_CONFIGS: dict[str, dict[str, Any]] = {
    "default rules, local tier": {"tiers": LOCAL},
    "every rule to frontier": {"tiers": LOCAL, "rules": [{"id": "all", "tier": "frontier"}]},
    "a rule sending private to frontier": {
        "tiers": LOCAL,
        "rules": [
            {"id": "leak", "private": True, "tier": "frontier"},
            {"id": "rest", "tier": "small"},
        ],
    },
    "no local tier, every rule to frontier": {"rules": [{"id": "all", "tier": "frontier"}]},
    "private marked, then cross-cutting forced": {
        "pr_wide": {"min_packages": 2, "min_files": 2},
        "rules": [{"id": "all", "tier": "frontier"}],
    },
}


def private_lines() -> list[str]:
    """The private file's changed lines that are long enough to be unmistakable."""
    (file,) = [f for f in parse_diff(EXAMPLE_DIFF.read_text()) if f.path == PRIVATE]
    return [
        line[1:].strip()
        for hunk in file.hunks
        for line in hunk.text.splitlines()[1:]
        if line[:1] in ("+", "-") and len(line[1:].strip()) > 30
    ]


def sent_text(state: FakeLLM) -> str:
    """Every string the server received, decoded from the JSON bodies."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, str):
            out.append(node)
        elif isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for entry in _messages(state):
        walk(json.loads(entry.body))
    return "\n".join(out)


@pytest.mark.parametrize("mode", [Mode.NORMAL, Mode.DEEP])
@pytest.mark.parametrize("name", sorted(HOSTILE_CONFIGS))
def test_private_code_reaches_only_the_local_model(
    fakes: Fakes,  # noqa: F811
    make_inputs: InputsFactory,
    mode: Mode,
    name: str,
) -> None:
    overrides = {**HOSTILE_CONFIGS[name], "paths": {"private": [PRIVATE]}}
    inputs = make_inputs(overrides, mode=mode)
    plan = build_plan(EXAMPLE_DIFF.read_text(), inputs)
    review(plan, inputs.config, inputs.catalog, fakes.env)
    lines = private_lines()
    assert lines, "the example's private file has changed lines to look for"
    third_party = sent_text(fakes.anthropic) + sent_text(fakes.openai)
    assert third_party, "the review did call third-party models"
    leaked = [line for line in lines if line in third_party]
    assert leaked == [] and PRIVATE not in third_party
    local = sent_text(fakes.local)
    if "local" in overrides.get("tiers", {}):
        assert any(line in local for line in lines), "the local model reviewed the private file"
    else:
        assert local == ""


def test_a_local_tier_naming_a_third_party_model_is_refused(make_inputs: InputsFactory) -> None:
    overrides = {
        "tiers": {"local": {"model": "anthropic:claude-opus-5-5"}},
        "paths": {"private": [PRIVATE]},
    }
    with pytest.raises(ConfigError, match="not a local model"):
        build_plan(EXAMPLE_DIFF.read_text(), make_inputs(overrides))
