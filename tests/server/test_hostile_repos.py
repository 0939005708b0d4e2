"""Hostile repositories and late state through the real server: what a config or a PR cannot do."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from app.errors import ConfigError
from app.plan.config import parse_repo_config
from app.resources import load_catalog, load_config
from tests.conftest import EXAMPLE_DIFF
from tests.server.test_http import NUMBER, OWNER, REPO, App, _command, payload
from tests.server.test_http import app as app  # noqa: F401 - the fixture

BASE = "b" * 40
REPRICE = """
models:
  anthropic:claude-opus-5-5:
    window: 1000000
    max_output: 128000
    min_cacheable: 512
    tokenizer: {kind: o200k}
    prices:
      - {input: 0, cache_read: 0, cache_write: 0, output: 0}
"""
UNPRICED = """
tiers:
  frontier: {model: "anthropic:claude-free-forever", alternate: null}
"""


@pytest.mark.parametrize(
    ("config", "said"),
    [(REPRICE, "models: model definitions and prices are the operator's"), (UNPRICED, "unknown")],
)
def test_a_repository_cannot_price_or_add_models(app: App, config: str, said: str) -> None:
    app.gh.set_file(OWNER, REPO, BASE, ".github/tiered-review.yml", config)
    answer = app.deliver("pull_request", payload("pull_request.opened.json"), "d-price")
    assert app.wait(answer.json()["job_id"]) == "done"
    assert app.gh.reviews(OWNER, REPO, NUMBER) == []  # nothing ran on the operator's key
    (note,) = app.gh.issue_comments(OWNER, REPO, NUMBER)
    assert "could not use its configuration" in note["body"] and said in note["body"]


def test_the_operator_prices_models_in_the_file_the_environment_names(tmp_path: Path) -> None:
    operator = tmp_path / "models.yaml"
    operator.write_text(REPRICE.replace("input: 0,", "input: 9.5,"))
    config = load_config(None)
    packaged = load_catalog(config).get("anthropic:claude-opus-5-5").prices[0].input
    priced = load_catalog(config, models_file=str(operator)).get("anthropic:claude-opus-5-5")
    assert (packaged, priced.prices[0].input) == (4.0, 9.5)
    operator.write_text("models: [1, 2]\n")
    with pytest.raises(ConfigError, match="TIERED_REVIEW_MODELS_FILE"):
        load_catalog(config, models_file=str(operator))


@pytest.mark.parametrize(
    "setting",
    [
        "requests:\n  max_output_tokens: {review: 1%s}\n" % ("0" * 400),
        "tiers:\n  small: {max_input_tokens: 1%s}\n" % ("0" * 40),
        "budget:\n  max_usd_per_pr: .inf\n",
    ],
)
def test_huge_numbers_in_a_config_are_refused_with_a_message(tmp_path: Path, setting: str) -> None:
    from tests.test_cli import run

    config = tmp_path / "tiered-review.yml"
    config.write_text(setting)
    done = run("plan", "--config", str(config), "--diff", str(EXAMPLE_DIFF))
    assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr
    assert "too large" in done.stderr or "not finite" in done.stderr, done.stderr


def test_a_deep_review_queued_before_the_pr_closed_runs_nothing(app: App) -> None:
    app.gh.set_permission(OWNER, REPO, "maintainer", "maintain")
    app.gh.close_pr(OWNER, REPO, NUMBER)  # closed after the comment, before the job runs
    deep = app.deliver("issue_comment", _command("/review deep", "maintainer", 903), "d-late")
    assert deep.status_code == 202
    assert app.wait(deep.json()["job_id"]) == "done"
    assert app.gh.reviews(OWNER, REPO, NUMBER) == []
    assert app.gh.issue_comments(OWNER, REPO, NUMBER) == []
    assert app.gh.check_runs(OWNER, REPO) == []


def test_deeply_nested_yaml_is_refused_before_parsing() -> None:
    started = time.perf_counter()
    with pytest.raises(ConfigError, match="nested too deeply"):
        parse_repo_config("instructions: " + "[" * 7000, "x")
    assert time.perf_counter() - started < 1.0  # PyYAML itself took seconds to give up
