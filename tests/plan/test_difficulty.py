"""Difficulty labels over a table of real-world hunks, negatives included, each with its reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from app.plan.config import Difficulty, build_config
from app.plan.diff import parse_diff
from app.plan.difficulty import ChangeView, FileKind, build_classifier, path_words
from app.resources import default_config_data

HUNKS = Path(__file__).parents[1] / "fixtures" / "hunks"
CASES: list[dict[str, Any]] = yaml.safe_load((HUNKS / "labels.yaml").read_text())
CLASSIFIER = build_classifier(build_config(default_config_data(), {}, "test").difficulty)
LEGACY = build_classifier(
    build_config(
        default_config_data(), {"difficulty": {"model": {"kind": "legacy"}}}, "t"
    ).difficulty
)


def _view(name: str) -> ChangeView:
    (file,) = parse_diff((HUNKS / name).read_text())
    return ChangeView(
        path=file.path,
        status=file.status,
        added=[line for h in file.hunks for line in h.added_lines],
        removed=[line for h in file.hunks for line in h.removed_lines],
        hunks=file.hunks,
    )


def test_the_table_is_big_and_balanced() -> None:
    labels = [case["label"] for case in CASES]
    assert len(CASES) >= 20
    minimum = {"trivial": 3, "routine": 5, "substantive": 4, "architectural": 8}
    assert all(labels.count(label) >= n for label, n in minimum.items()), labels
    assert sum("Trap" in case["why"] for case in CASES) >= 8


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_real_world_hunk_label_and_reason(case: dict[str, Any]) -> None:
    label = LEGACY.classify(_view(case["file"]))
    assert label.difficulty is Difficulty(case["label"]), (case["why"], label.reasons)
    assert case["signal"] in label.signals, label.reasons
    assert all(": " in reason for reason in label.reasons)  # "signal: human text"


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_real_world_hunk_facts(case: dict[str, Any]) -> None:
    """The facts model reports the table's fact; its label follows the fitted weights."""
    label = CLASSIFIER.classify(_view(case["file"]))
    assert case.get("facts_signal", case["signal"]) in label.signals, label.reasons
    assert label.score is not None and 0 <= label.score <= 4
    assert all(": " in reason for reason in label.reasons)


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("src/OAuthClient/user_session.py", ["src", "oauth", "client", "user", "session", "py"]),
        ("scholarly/author.py", ["scholarly", "author", "py"]),
    ],
)
def test_path_words_split_camel_case_and_separators(path: str, words: list[str]) -> None:
    assert path_words(path) == words


def test_author_is_not_auth_but_oauth_is() -> None:
    assert (
        "path.security"
        not in CLASSIFIER.classify(
            ChangeView("lib/author.py", _view(CASES[0]["file"]).status, ["x = 1\n"], [])
        ).signals
    )
    assert (
        "path.security"
        in CLASSIFIER.classify(
            ChangeView("lib/oauth/client.py", _view(CASES[0]["file"]).status, ["x = 1\n"], [])
        ).signals
    )


def test_levels_are_config() -> None:
    """A repo's signal level is still obeyed: it sets the fact's weight in the facts model."""
    data = default_config_data()
    config = build_config(
        data, {"difficulty": {"signals": {"file.new_module": "architectural"}}}, "test"
    )
    classifier = build_classifier(config.difficulty)
    new_module = next(c for c in CASES if c["signal"] == "file.new_module")
    assert classifier.classify(_view(new_module["file"])).difficulty is Difficulty.ARCHITECTURAL


def test_kind_order_puts_tests_before_security_paths() -> None:
    assert CLASSIFIER.kind_of("tests/test_auth.py") is FileKind.TESTS
    assert CLASSIFIER.kind_of("docs/security.md") is FileKind.DOCS
    assert CLASSIFIER.kind_of(".github/workflows/ci.yml") is FileKind.CI
