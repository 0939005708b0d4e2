"""`tiered-review action` as the runner starts it: real event files, the fakes, summary, outputs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from app.plan.wording import usd
from app.store import schema
from app.store.db import make_engine
from tests.conftest import EXAMPLE_DIFF
from tests.fakes import anthropic_fake
from tests.review.test_engine import reviewer
from tests.review.test_pull_request import pr_files
from tests.server.test_http import NUMBER, OWNER, REPO, _command, open_fixture_pr, payload
from tests.test_cli import run


@dataclass
class Runner:
    """One job's runner: its files, the fakes, and the environment `action.yml` sets."""

    tmp: Path
    gh: Any
    llm: Any
    env: dict[str, str]

    def start(self, event: str, data: dict[str, Any], **extra: str) -> tuple[int, str, str]:
        path = self.tmp / "event.json"
        path.write_text(json.dumps(data))
        for name in ("summary.md", "output.txt"):
            (self.tmp / name).write_text("")
        done = run(
            "action",
            env={**self.env, "GITHUB_EVENT_NAME": event, "GITHUB_EVENT_PATH": str(path), **extra},
        )
        return done.returncode, done.stdout, done.stderr

    @property
    def summary(self) -> str:
        return (self.tmp / "summary.md").read_text()

    @property
    def outputs(self) -> dict[str, str]:
        lines = (self.tmp / "output.txt").read_text().splitlines()
        return dict(line.split("=", 1) for line in lines)

    def ledger(self, table: sa.Table = schema.reviews) -> list[Any]:
        engine = make_engine(f"sqlite:///{self.tmp / 'runner' / 'tiered-review-ledger.db'}")
        try:
            with engine.connect() as conn:
                return list(conn.execute(sa.select(table)).all())
        finally:
            engine.dispose()


@pytest.fixture
def runner(tmp_path: Path, counter: object) -> Iterator[Runner]:
    from tests.fakes.github_fake import github_fake

    (tmp_path / "runner").mkdir()
    # The workflow token posts as github-actions[bot]: the fake answers as that user.
    bot = {"bot_login": "github-actions[bot]"}
    with github_fake(**bot) as (gh_url, gh), anthropic_fake(responder=reviewer) as (llm_url, llm):
        open_fixture_pr(gh)
        env = {
            "GITHUB_REPOSITORY": f"{OWNER}/{REPO}",
            "GITHUB_API_URL": gh_url,
            "GITHUB_TOKEN": "ghs_workflow",
            "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
            "GITHUB_OUTPUT": str(tmp_path / "output.txt"),
            "RUNNER_TEMP": str(tmp_path / "runner"),
            "ANTHROPIC_API_KEY": "k",
            "ANTHROPIC_BASE_URL": llm_url,
            "TIERED_REVIEW_GITHUB_THROTTLE": "false",
            "TIERED_REVIEW_LLM_MAX_RETRIES": "0",
        }
        yield Runner(tmp_path, gh, llm, env)


def test_a_pull_request_is_reviewed_with_summary_outputs_and_ledger(runner: Runner) -> None:
    code, stdout, stderr = runner.start("pull_request", payload("pull_request.opened.json"))
    assert code == 0, stderr
    (review,) = runner.gh.reviews(OWNER, REPO, NUMBER)
    assert review["user"] == "github-actions[bot]"
    summary = runner.summary
    assert summary.startswith("## tiered-review\n")
    assert "| request | task | tier | model |" in summary and "% saved" in summary
    assert "Cache hit rate" in summary
    out = runner.outputs
    assert set(out) == {"cost-usd", "baseline-usd", "savings-pct", "requests", "findings"} | {
        "status",
        "exit-code",
    }
    assert (out["status"], out["exit-code"]) == ("complete", "0")
    assert 0 < float(out["cost-usd"]) < float(out["baseline-usd"])
    assert 0 < float(out["savings-pct"]) <= 100 and int(out["requests"]) > 0
    assert int(out["findings"]) > 0
    (row,) = runner.ledger()
    assert (row.source, row.tenant, row.pr_number) == ("action", f"{OWNER}/{REPO}", NUMBER)
    assert row.cost_usd == pytest.approx(float(out["cost-usd"]), abs=1e-6)
    assert json.loads(stdout.splitlines()[-1])["cost-usd"] == out["cost-usd"]
    # A second run on the same push posts no second review.
    code, _, _ = runner.start("pull_request", payload("pull_request.opened.json"))
    assert code == 0 and len(runner.gh.reviews(OWNER, REPO, NUMBER)) == 1


def test_a_fork_without_keys_exits_0_with_a_note_and_spends_nothing(runner: Runner) -> None:
    data = payload("pull_request.opened.json")
    code, _, stderr = runner.start("pull_request_target", data, ANTHROPIC_API_KEY="")
    assert code == 0, stderr
    assert "No model provider key" in runner.summary and "/review" in runner.summary
    out = runner.outputs
    assert out.pop("status") == "skipped"
    assert out == dict.fromkeys(out, "0") and len(out) == 6
    assert runner.llm.log.entries == []
    writes = [r for r in runner.gh.requests if r.method != "GET"]
    assert writes == []


@pytest.mark.parametrize(
    ("user", "permission", "reviewed"),
    [("mallory", "read", False), ("maintainer", "maintain", True)],
)
def test_review_deep_needs_write_access(
    runner: Runner, user: str, permission: str, reviewed: bool
) -> None:
    runner.gh.set_permission(OWNER, REPO, user, permission)
    code, _, stderr = runner.start("issue_comment", _command("/review deep", user, 77))
    assert code == 0, stderr
    replies = [c["body"] for c in runner.gh.issue_comments(OWNER, REPO, NUMBER)]
    assert len(runner.gh.reviews(OWNER, REPO, NUMBER)) == int(reviewed)
    if reviewed:
        assert any("Running a deep review" in b for b in replies)
        assert "(deep mode)" in runner.summary
        tiers = {(q.task, q.tier) for q in runner.ledger(schema.review_requests)}
        assert ("review", "frontier") in tiers
        assert {t for task, t in tiers if task == "review"} == {"frontier"}
    else:
        assert any("needs write access" in b for b in replies)
        assert "refused /review deep" in runner.summary
        assert runner.llm.log.entries == []
        assert runner.outputs["cost-usd"] == "0"


def test_skipped_events_and_a_bad_environment(runner: Runner) -> None:
    closed = payload("pull_request.closed.json")
    code, _, _ = runner.start("pull_request", closed)
    assert code == 0 and runner.summary.startswith("## tiered-review\n\nNothing to review")
    assert runner.gh.reviews(OWNER, REPO, NUMBER) == []
    code, _, stderr = runner.start("pull_request", {}, GITHUB_EVENT_PATH="")
    assert code == 2 and "GITHUB_EVENT_PATH" in stderr
    code, _, stderr = runner.start("pull_request", {}, TIERED_REVIEW_MAX_COST_USD="lots")
    assert code == 2 and "TIERED_REVIEW_MAX_COST_USD" in stderr and "lots" not in stderr


def test_max_cost_binds_on_the_worst_case(runner: Runner) -> None:
    data = payload("pull_request.opened.json")
    code, _, stderr = runner.start("pull_request", data, TIERED_REVIEW_MAX_COST_USD="0.0001")
    assert code == 0, stderr
    assert runner.llm.log.entries == []  # not even the summary fits: nothing is sent
    assert runner.outputs["requests"] == "0" and runner.outputs["cost-usd"] == "0.000000"
    (sticky,) = runner.gh.issue_comments(OWNER, REPO, NUMBER)
    assert "not reviewed: even the smallest review's worst case is over" in sticky["body"]


def test_the_daily_cap_counts_what_the_action_spent_today_from_its_markers(
    runner: Runner,
) -> None:
    data = payload("pull_request.opened.json")
    code, _, stderr = runner.start("pull_request", data)
    assert code == 0, stderr
    spent = float(runner.outputs["cost-usd"])
    assert spent > 0
    # The repository caps a day at a little over what the first review cost; a second PR today
    # has about nothing left, so nothing is sent, and its summary says why.
    cap = round(spent * 1.01, 6)
    runner.gh.set_file(
        OWNER, REPO, "c" * 40, ".github/tiered-review.yml", f"budget:\n  max_usd_per_day: {cap}\n"
    )
    second = json.loads(json.dumps(data))
    second["number"] = second["pull_request"]["number"] = 3
    second["pull_request"]["head"]["sha"] = "d" * 40
    second["pull_request"]["base"]["sha"] = "c" * 40
    runner.gh.open_pr(
        OWNER,
        REPO,
        3,
        title="Another change",
        body="",
        base_sha="c" * 40,
        head_sha="d" * 40,
        files=pr_files(EXAMPLE_DIFF.read_text()),
        user="Codertocat",
    )
    calls = len(runner.llm.log.entries)
    code, _, stderr = runner.start("pull_request", second)
    assert code == 0, stderr
    assert len(runner.llm.log.entries) == calls
    (sticky,) = runner.gh.issue_comments(OWNER, REPO, 3)
    left = cap - spent
    assert f"daily budget: {usd(left)} of {usd(cap)} left today" in sticky["body"]
    assert runner.outputs["requests"] == "0"


@pytest.mark.parametrize(("fail_on_error", "step_code"), [("", 0), ("true", 5)])
def test_the_action_reports_the_code_and_fails_only_when_asked(
    runner: Runner, fail_on_error: str, step_code: int
) -> None:
    from tests.server.test_http import payload

    runner.llm.faults.add("500", times=100)
    extra = {"TIERED_REVIEW_FAIL_ON_ERROR": fail_on_error}
    code, _, stderr = runner.start("pull_request", payload("pull_request.opened.json"), **extra)
    assert code == step_code, stderr
    assert runner.outputs["exit-code"] == "5" and runner.outputs["status"] == "failed"
    assert "Nothing was reviewed" in runner.summary


def test_action_yml_maps_its_inputs_to_what_the_entrypoint_reads() -> None:
    import yaml

    from app.action import OUTPUT_NAMES, ActionEnv
    from app.settings import Settings
    from tests.conftest import ROOT

    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert set(action["inputs"]) == {
        "github-token",
        "anthropic-api-key",
        "openai-api-key",
        "gemini-api-key",
        "config",
        "mode",
        "post",
        "max-cost-usd",
        "fail-on-error",
    }
    assert action["inputs"]["fail-on-error"]["default"] == "false"
    assert action["inputs"]["mode"]["default"] == "normal"
    assert action["inputs"]["post"]["default"] == "true"
    assert set(action["outputs"]) == set(OUTPUT_NAMES)
    for name, output in action["outputs"].items():
        assert output["value"] == f"${{{{ steps.review.outputs.{name} }}}}"
    (step,) = [s for s in action["runs"]["steps"] if s.get("id") == "review"]
    read = {f.alias for f in ActionEnv.model_fields.values()}
    read |= {f.alias for f in Settings.model_fields.values()}
    mapped = {k for k in step["env"] if k not in ("VENV", "TIKTOKEN_CACHE_DIR")}
    assert mapped <= read, mapped - read
    for name in action["inputs"]:
        assert f"inputs.{name} }}}}" in json.dumps(step["env"]), f"input {name} is not passed on"
    assert step["run"].strip("'\"").endswith('tiered-review" action')
