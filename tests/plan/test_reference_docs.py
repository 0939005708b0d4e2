"""docs/configuration.md and docs/models.md are generated, complete and current."""

from __future__ import annotations

import json

from app.plan.config import Config
from app.plan.config_docs import config_reference
from app.plan.model_table import models_json, models_markdown
from app.resources import default_config_text, load_catalog, load_config
from tests.conftest import ROOT
from tests.test_cli import run


def _leaf_keys(model: type, prefix: str = "") -> set[str]:
    """Every key path of the pydantic model, as the reference writes them."""
    from app.plan.config_docs import _model_of, _origin

    keys: set[str] = set()
    for name, field in model.model_fields.items():  # type: ignore[attr-defined]
        path = f"{prefix}{name}"
        keys.add(path)
        inner = _model_of(field.annotation)
        if inner is not None:
            origin = _origin(field.annotation)
            joint = ".<name>." if origin is dict else "[]." if origin is list else "."
            keys |= _leaf_keys(inner, f"{path}{joint}")
    return keys


def test_configuration_md_is_current() -> None:
    committed = (ROOT / "docs" / "configuration.md").read_text()
    assert committed == config_reference(default_config_text()), (
        "docs/configuration.md is stale: run `tiered-review config-docs > docs/configuration.md`"
    )


def test_the_reference_lists_every_key_with_its_type_and_default() -> None:
    text = config_reference(default_config_text())
    rows = {line.split("`")[1]: line for line in text.splitlines() if line.startswith("| `")}
    keys = _leaf_keys(Config)
    leaves = {k for k in keys if not any(o.startswith((f"{k}.", f"{k}[]")) for o in keys)}
    assert len(leaves) > 60
    # models: is the operator's (TIERED_REVIEW_MODELS_FILE); a repository config may not set it.
    missing = sorted(k for k in leaves if k not in rows and k.split(".")[0] != "models")
    assert not any(path.startswith("models") for path in rows)
    assert not missing, f"keys missing from the reference: {missing}"
    assert "| integer | `8` |" in rows["requests.max_chunks"]
    assert "one of `critical`, `major`, `minor`, `nit`" in rows["comments.min_severity"]
    assert "`5.0`" in rows["budget.max_usd_per_deep_review"]
    assert "openai:gpt-5.6-luna" in text and "providers: openai" in text  # presets and example


def test_models_md_is_current_and_lists_every_catalog_model() -> None:
    config = load_config(None)
    catalog = load_catalog(config)
    committed = (ROOT / "docs" / "models.md").read_text()
    assert committed == models_markdown(catalog, config), (
        "docs/models.md is stale: run `tiered-review models --format markdown > docs/models.md`"
    )
    for key in catalog.models:
        assert f"| `{key}` |" in committed
    haiku = next(line for line in committed.splitlines() if "`anthropic:claude-haiku-5-5`" in line)
    assert "small" in haiku and "0.1 (up to 100,000) / 0.5" in haiku
    pro = next(line for line in committed.splitlines() if "`gemini:gemini-2.5-pro`" in line)
    assert "2026-12-01" in pro and "gemini/frontier" in pro


def test_models_command_prints_table_and_json() -> None:
    done = run("models", "--format", "json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    config = load_config(None)
    assert doc == json.loads(json.dumps(models_json(load_catalog(config), config)))
    by_key = {m["model"]: m for m in doc["models"]}
    assert by_key["anthropic:claude-opus-5-5"]["tiers"][0] == "frontier"
    assert by_key["openai:gpt-5"]["retires"] == "2026-12-11"
    table = run("models")
    assert table.returncode == 0 and "claude-opus-5-5" in table.stdout
    docs = run("config-docs")
    assert docs.returncode == 0 and docs.stdout == config_reference(default_config_text())
