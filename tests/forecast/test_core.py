"""`tiered-review forecast` over a constructed git history: tier mix, totals, months, errors."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from app.cli import main
from app.forecast.command import forecast_inputs, forecast_repository
from app.forecast.core import PR_LEVEL, Forecast, pr_title
from app.forecast.output import forecast_html, forecast_json
from app.local.blobs import BlobReader, read_sides
from app.local.history import Window, _read, changes, commit_diff, count_changes
from app.plan.diff import decode_diff, parse_diff
from app.plan.output import plan_json
from app.plan.packing import PullRequestInfo
from app.plan.planner import build_plan
from tests.history_repo import MERGE_TITLE, build_history, commit, git
from tests.test_cli import run

ORDER = ("docs", "tests", "security", "refactor", "merge")


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The constructed repository and its commit ids by name (built once per module)."""
    repo = tmp_path_factory.mktemp("history") / "repo"
    return repo, build_history(repo)


@pytest.fixture(scope="module")
def forecast(history: tuple[Path, dict[str, str]], counter: object) -> Forecast:
    """The forecast of the whole constructed history, in process."""
    repo, _ = history
    return forecast_repository(repo, Window(), forecast_inputs(repo, None))


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """The real entry point in process (fast); argparse's own exits become exit codes."""
    try:
        code = main(list(args))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def clone(history: tuple[Path, dict[str, str]], tmp_path: Path) -> Path:
    """A throwaway clone of the constructed repository, to commit more on top."""
    target = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(history[0]), str(target))
    return target


def by_name(forecast: Forecast, ids: dict[str, str]) -> dict[str, Any]:
    names = {v: k for k, v in ids.items()}
    return {names[pr.commit]: pr for pr in forecast.prs}


def test_stream_reads_first_parent_changes_as_git_diff_does(
    history: tuple[Path, dict[str, str]],
) -> None:
    repo, ids = history
    got = list(changes(repo, Window()))
    # Newest first; the root commit and the merged branch's own commit are not PRs.
    assert [c.commit for c in got] == [ids[n] for n in reversed(ORDER)]
    assert count_changes(repo, Window()) == len(ORDER)
    for change in got:
        assert change.diff == commit_diff(repo, change.parent, change.commit)
        plain = git(repo, "diff", "--no-color", change.parent, change.commit)
        assert decode_diff(change.diff).strip() == plain.strip()
    merge = got[0]
    assert merge.parent == ids["refactor"]  # the first parent, not the branch
    assert b"docs/guide.md" in merge.diff and b"src/" not in merge.diff
    assert merge.date.isoformat() == "2026-04-10T12:00:00+00:00"


@pytest.mark.parametrize("size", [1, 65535, 65536, 65537, 300_000])
def test_fields_spanning_read_blocks_are_whole(size: int) -> None:
    stream = b"\0" + b"x" * size + b"\0\0y\n"
    assert list(_read(io.BytesIO(stream))) == [b"", b"x" * size, b"", b"y\n"]


def test_stopping_early_ends_git(history: tuple[Path, dict[str, str]]) -> None:
    stream = changes(history[0], Window())
    assert next(stream).commit == history[1]["merge"]
    stream.close()  # git is stopped and reaped; nothing raised


def test_tier_mix_per_kind_of_change(
    forecast: Forecast, history: tuple[Path, dict[str, str]]
) -> None:
    prs = by_name(forecast, history[1])
    assert list(prs) == list(ORDER)  # oldest first
    assert set(prs["docs"].tiers) == {"small"}
    assert set(prs["docs"].difficulties) == {"trivial", PR_LEVEL}
    assert set(prs["tests"].tiers) == {"small"}
    assert set(prs["tests"].difficulties) == {"routine", PR_LEVEL}
    assert prs["security"].tiers["frontier"].requests == 1
    assert "architectural" in prs["security"].difficulties
    assert any("src/app/auth.py" in r for r in prs["security"].reasons)
    refactor = prs["refactor"]
    assert "cross_cutting" in refactor.tasks and refactor.tiers["middle"].requests >= 1
    assert any("cross-cutting: code changes in 4 packages" in r for r in refactor.reasons)
    assert prs["merge"].title == MERGE_TITLE and prs["merge"].subject.startswith("Merge pull")
    cheap = prs["docs"].totals.est_cost_usd
    assert cheap < prs["security"].totals.est_cost_usd
    assert cheap < prs["refactor"].totals.est_cost_usd
    assert forecast.top[0].commit in {history[1]["security"], history[1]["refactor"]}


def test_totals_equal_the_sum_of_per_commit_plans(
    forecast: Forecast, history: tuple[Path, dict[str, str]]
) -> None:
    repo, ids = history
    inputs = forecast_inputs(repo, None)
    doc = forecast_json(forecast, "demo", inputs.catalog.as_of)
    assert doc["schema"] == "tiered-review/forecast@1"
    sums: dict[str, float] = {}
    for pr, name in zip(doc["prs"], ORDER, strict=True):
        assert pr["commit"] == ids[name]
        assert set(pr) >= {"commit", "parent", "subject", "date", "totals"}
        text = decode_diff(commit_diff(repo, pr["parent"], pr["commit"]))
        with BlobReader(repo) as reader:  # the whole files at parent and commit, as plan reads
            sides = read_sides(reader, parse_diff(text), pr["parent"], pr["commit"])
        titled = replace(inputs, pr=PullRequestInfo(pr["title"]))
        plan = build_plan(text, replace(titled, sources=sides.sources, originals=sides.originals))
        alone = plan_json(plan, 0.0)["totals"]
        assert set(pr["totals"]) == set(alone)
        assert {k: v for k, v in pr["totals"].items() if k != "plan_ms"} == {
            k: v for k, v in alone.items() if k != "plan_ms"
        }
        for key, value in alone.items():
            sums[key] = sums.get(key, 0) + value
    totals = doc["totals"]
    assert totals["prs"] == len(ORDER) and totals["requests"] == sums["requests"]
    for key in ("est_cost_usd", "worst_case_usd", "all_frontier_usd", "all_middle_usd"):
        assert totals[key] == pytest.approx(sums[key], abs=1e-5), key
    assert sum(doc["by_task"].values()) == pytest.approx(totals["est_cost_usd"], abs=1e-5)
    assert sum(doc["by_difficulty"].values()) == pytest.approx(totals["est_cost_usd"], abs=1e-5)
    by_tier = doc["by_tier"]
    assert sum(t["est_cost_usd"] for t in by_tier.values()) == pytest.approx(
        totals["est_cost_usd"], abs=1e-5
    )
    assert sum(t["requests"] for t in by_tier.values()) == totals["requests"]
    assert 0 < totals["est_cost_usd"] < totals["all_frontier_usd"]


def test_months_and_projection(forecast: Forecast) -> None:
    months = [(m.month, m.prs) for m in forecast.months]
    assert months == [("2026-01", 1), ("2026-02", 2), ("2026-03", 0), ("2026-04", 2)]
    p = forecast.projection
    assert p is not None
    assert p.span_days == pytest.approx(80.0)  # 2026-01-20 .. 2026-04-10
    assert p.prs_per_month == pytest.approx(4 / 80 * 365.25 / 12)
    average = forecast.totals.est_cost_usd / len(forecast.prs)
    assert p.est_cost_usd == pytest.approx(average * p.prs_per_month)
    assert p.all_frontier_usd > p.est_cost_usd


def test_pr_title() -> None:
    assert pr_title("Merge pull request #3 from a/b", "\nFix it\n\nmore") == "Fix it"
    assert pr_title("Merge pull request #3 from a/b", "") == "Merge pull request #3 from a/b"
    assert pr_title("Fix it (#3)", "body") == "Fix it (#3)"


def test_cli_json_matches_a_standalone_plan(
    history: tuple[Path, dict[str, str]], tmp_path: Path, counter: object
) -> None:
    repo, ids = history
    out = tmp_path / "forecast.json"
    done = run(
        "forecast", "--repo", str(repo), "--format", "json", "--last", "2", "--output", str(out)
    )
    assert done.returncode == 0 and done.stdout == "", done.stderr
    doc = json.loads(out.read_text())
    assert [pr["commit"] for pr in doc["prs"]] == [ids["refactor"], ids["merge"]]
    # The real `plan` command on the same change, titled as the PR was.
    pr = doc["prs"][1]
    diff = tmp_path / "merge.diff"
    diff.write_bytes(commit_diff(repo, pr["parent"], pr["commit"]))
    plan = run("plan", "--diff", str(diff), "--title", MERGE_TITLE, "--format", "json")
    assert plan.returncode == 0, plan.stderr
    alone = json.loads(plan.stdout)["totals"]
    del alone["plan_ms"], pr["totals"]["plan_ms"]
    assert pr["totals"] == alone


def test_config_at_head_is_used_not_the_work_tree(
    history: tuple[Path, dict[str, str]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    counter: object,
) -> None:
    repo = clone(history, tmp_path)
    no_frontier = (
        "rules:\n  - {id: summary-small, task: summary, tier: small}\n"
        "  - {id: default-middle, tier: middle}\n"
    )
    commit(
        repo,
        "Route everything to middle",
        "2026-04-11T00:00:00+00:00",
        {".github/tiered-review.yml": no_frontier},
    )
    (repo / ".github/tiered-review.yml").write_text("nonsense: [")  # uncommitted: ignored
    result = forecast_repository(repo, Window(), forecast_inputs(repo, None))
    assert "frontier" not in result.tiers and result.tiers["middle"].requests >= 5
    bad = tmp_path / "bad.yml"
    bad.write_text("unknown_key: 1\n")
    code, _, err = cli(capsys, "forecast", "--repo", str(repo), "--config", str(bad))
    assert code == 2 and "unknown key 'unknown_key'" in err
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "Break the config")
    code, _, err = cli(capsys, "forecast", "--repo", str(repo))
    assert code == 2 and "HEAD:.github/tiered-review.yml: not valid YAML" in err


def test_untrusted_subjects_are_escaped(
    history: tuple[Path, dict[str, str]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    counter: object,
) -> None:
    repo = clone(history, tmp_path)
    commit(
        repo,
        '<script>alert("x")</script> & [bold]co',
        "2026-04-12T00:00:00+00:00",
        {"src/app/auth.py": "import secrets\n\ntoken = secrets.token_hex(8)\n"},
    )
    result = forecast_repository(repo, Window(last=1), forecast_inputs(repo, None))
    page = forecast_html(result, "<repo>", result.prs[0].date.date())
    assert "<script" not in page and "&lt;script&gt;alert(&quot;x&quot;)" in page
    assert "&lt;repo&gt;" in page and "http" not in page.replace('xmlns="http://www.w3.org', "")
    code, out, _ = cli(capsys, "forecast", "--repo", str(repo), "--last", "1")
    assert code == 0
    assert "[bold]co" in out  # shown as written, not read as rich markup
    assert "1 PRs: routed $" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--last", "0"], "must be 1 or more"),
        (["--since", "yesterday"], "not a YYYY-MM-DD date"),
        (["--last", "2", "--since", "2026-01-01"], "not allowed with argument"),
        (["--since", "2031-01-01"], "no commits in range (since 2031-01-01"),
    ],
)
def test_bad_windows_exit_2(
    history: tuple[Path, dict[str, str]],
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    code, out, err = cli(capsys, "forecast", "--repo", str(history[0]), *args)
    assert code == 2 and message in err and out == "", err


def test_since_selects_by_commit_date(
    history: tuple[Path, dict[str, str]], forecast: Forecast
) -> None:
    repo, ids = history
    window = Window(since=forecast.prs[2].date.date())
    assert [c.commit for c in changes(repo, window)] == [
        ids[n] for n in ("merge", "refactor", "security")
    ]
    assert "since 2026-02-15" in window.describe()


def test_not_a_repository_and_empty_ranges(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    done = run("forecast", "--repo", str(plain))  # once as a user runs it: one line, exit 2
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "is not a git repository" in done.stderr and "Traceback" not in done.stderr
    code, _, err = cli(capsys, "forecast", "--repo", str(tmp_path / "missing"))
    assert code == 2 and "no such folder" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    git(empty, "init", "-q", "-b", "main")
    code, _, err = cli(capsys, "forecast", "--repo", str(empty))
    assert code == 2 and "the repository has no commits yet" in err
    commit(empty, "Initial import", "2026-01-01T00:00:00+00:00", {"a.py": "x = 1\n"})
    code, _, err = cli(capsys, "forecast", "--repo", str(empty))
    assert code == 2 and "no commits in range (all; root commits are not PRs)" in err


def test_plan_warnings_are_counted_once_per_code(
    history: tuple[Path, dict[str, str]], tmp_path: Path, counter: object
) -> None:
    repo, _ = history
    config = tmp_path / "budget.yml"
    config.write_text("budget: {max_usd_per_pr: 0.002}\n")
    result = forecast_repository(repo, Window(), forecast_inputs(repo, config))
    codes = {code: n for code, _, n in result.warnings}
    assert codes["over_budget"] >= 2  # the frontier-bound changes cannot fit $0.002
    doc = forecast_json(result, "demo", result.prs[0].date.date())
    listed = {w["code"]: w["prs"] for w in doc["warnings"]}
    assert listed == codes  # dates may add model_retiring: compared by code, not position
