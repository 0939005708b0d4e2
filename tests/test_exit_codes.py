"""Exit codes that mean something: a complete, a partial and a failed review, CLI and Action."""

from __future__ import annotations

import json
from pathlib import Path

from app.errors import ExitCode
from tests.conftest import EXAMPLE_DIFF
from tests.fakes import anthropic_fake
from tests.review.test_engine import reviewer
from tests.test_cli import run


def _review(tmp_path: Path, fault_model: str | None, fmt: str) -> tuple[int, str, str]:
    with anthropic_fake(responder=reviewer) as (url, state):
        if fault_model is not None:
            state.faults.add("500", times=100, model=fault_model or None)
        env = {
            "ANTHROPIC_API_KEY": "k",
            "ANTHROPIC_BASE_URL": url,
            "TIERED_REVIEW_LLM_MAX_RETRIES": "0",
        }
        done = run("review", "--diff", str(EXAMPLE_DIFF), "--format", fmt, env=env, cwd=tmp_path)
    return done.returncode, done.stdout, done.stderr


def test_the_exit_codes_table_is_the_documented_one() -> None:
    assert {c.name: int(c) for c in ExitCode} == {
        "OK": 0,
        "CRASH": 1,
        "USAGE": 2,
        "EVAL_CLIFF": 3,
        "PARTIAL": 4,
        "NOTHING_REVIEWED": 5,
    }
    from tests.conftest import ROOT

    table = (ROOT / "docs" / "cli.md").read_text()
    for code in ExitCode:
        assert f"| {int(code)} |" in table, f"docs/cli.md does not list exit code {int(code)}"


def test_a_partial_review_exits_4_and_names_what_was_not_reviewed(
    tmp_path: Path, counter: object
) -> None:
    # Only the frontier model is down, and no OpenAI key for its alternate: those chunks fail.
    code, out, err = _review(tmp_path, "claude-opus-5-5", "markdown")
    assert code == ExitCode.PARTIAL, err
    assert err.count("\n") == 1 and "Partial review:" in err and "Traceback" not in err
    assert "**Partial review:" in out
    assert "failed: anthropic: server" in out and "src/werkzeug/security.py" in out  # named
    assert "## Findings" in out  # the rest of the review is still printed


def test_a_review_where_every_request_failed_exits_5(tmp_path: Path, counter: object) -> None:
    code, out, err = _review(tmp_path, "", "json")
    assert code == ExitCode.NOTHING_REVIEWED, err
    assert "Nothing was reviewed" in err and err.count("\n") == 1
    doc = json.loads(out)
    assert doc["status"] == "failed"
    assert {r["status"] for r in doc["requests"]} == {"failed"}


def test_a_complete_review_exits_0_with_status_complete(tmp_path: Path, counter: object) -> None:
    code, out, err = _review(tmp_path, None, "json")
    assert code == ExitCode.OK, err
    assert json.loads(out)["status"] == "complete" and err == ""
