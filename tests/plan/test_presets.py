"""Provider presets set every tier; the repo's own `tiers:` still wins; an OpenAI-only example."""

from __future__ import annotations

import pytest

from app.errors import ConfigError, TieredReviewError
from app.plan.config import TIERS, build_config
from app.plan.planner import build_plan
from app.plan.presets import PRESETS
from app.providers.registry import require_keys
from app.resources import default_config_data, load_catalog, load_config
from tests.conftest import EXAMPLE_DIFF, ROOT, InputsFactory


def test_mixed_is_the_shipped_default() -> None:
    defaults = build_config(default_config_data(), {}, "defaults")
    mixed = build_config(default_config_data(), {"providers": "mixed"}, "t")
    assert mixed.tiers == defaults.tiers


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_each_preset_sets_every_tier_to_its_provider_with_known_models(name: str) -> None:
    config = build_config(default_config_data(), {"providers": name}, "t")
    catalog = load_catalog(config)
    assert set(config.tiers) == {t for t in TIERS if t != "local"}
    for tier in config.tiers.values():
        catalog.get(tier.model)  # a RoutingError if the catalog does not know it
        if name != "mixed":
            assert tier.model.startswith(f"{name}:") and tier.alternate is None
    assert config.tiers["long"].max_input_tokens <= catalog.get(config.tiers["long"].model).window


def test_the_repo_tiers_win_over_the_preset() -> None:
    repo = {"providers": "openai", "tiers": {"frontier": {"model": "anthropic:claude-opus-5-5"}}}
    config = build_config(default_config_data(), repo, "t")
    assert config.tiers["frontier"].model == "anthropic:claude-opus-5-5"
    assert config.tiers["frontier"].max_input_tokens == 48000  # the rest of the preset's tier
    assert config.tiers["small"].model == "openai:gpt-5.6-luna"


def test_an_unknown_preset_names_the_choices() -> None:
    with pytest.raises(ConfigError, match="providers") as err:
        build_config(default_config_data(), {"providers": "azure"}, "repo.yml")
    assert "'openai'" in str(err.value) and "'gemini'" in str(err.value)


def test_the_openai_only_example_needs_only_an_openai_key(make_inputs: InputsFactory) -> None:
    config = load_config(ROOT / "examples" / "openai-only.yml")
    assert {t.model.split(":")[0] for t in config.tiers.values()} == {"openai"}
    assert config.tiers["frontier"].max_input_tokens == 64000
    inputs = make_inputs(
        {"providers": "openai", "tiers": {"frontier": {"max_input_tokens": 64000}}}
    )
    plan = build_plan(EXAMPLE_DIFF.read_text(), inputs)
    assert plan.requests
    assert {p.request.route.model.provider for p in plan.requests} == {"openai"}
    require_keys(plan, frozenset({"openai"}))  # enough
    with pytest.raises(TieredReviewError, match="OPENAI_API_KEY") as err:
        require_keys(plan, frozenset({"anthropic"}))
    assert "ANTHROPIC" not in str(err.value)
