"""`eval`: cases, scoring by location and category, the ledger, and capability cliffs.

Runs go through the real planner, engine and anthropic SDK against the loopback fake, which
answers from a script that knows the planted defects: perfect, partial, near (within the
tolerance), wrong line, wrong category, or empty.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from sqlalchemy.engine import Engine

from app.cli import _parser, main
from app.errors import EvalError
from app.evals.command import (
    CLIFF_EXIT,
    EvalRun,
    load_history,
    parse_tiers,
    record_scores,
    run_eval,
)
from app.evals.core import (
    TOLERANCE,
    Defect,
    EvalCase,
    Score,
    compare,
    load_cases,
    parse_case,
    score_case,
)
from app.review.findings import Finding
from app.settings import Settings
from app.store import schema
from app.store.db import open_database
from tests.conftest import ROOT, InputsFactory
from tests.fakes import FakeLLM, anthropic_fake

CASES_DIR = ROOT / "tests" / "fixtures" / "evals"
_FILE = re.compile(r"^diff --git a/\S+ b/(\S+)$", re.M)
Mode = str  # perfect | partial | near | wrong_line | wrong_category | empty


def scripted(mode: Mode, cases: tuple[EvalCase, ...]) -> Callable[[str, str, str], str]:
    """A model that reports the planted defects of the files in its request, as `mode` says."""

    def answer(model: str, system: str, user: str) -> str:
        paths = set(_FILE.findall(user))
        findings = []
        for case in cases:
            for index, d in enumerate(case.defects):
                if d.path not in paths or mode == "empty" or (mode == "partial" and index):
                    continue
                start, line, category = d.start, d.end, d.category
                if mode == "near":
                    start = line = d.end + TOLERANCE  # the last line that still counts
                elif mode == "wrong_line":
                    start = line = d.end + TOLERANCE + 1
                elif mode == "wrong_category":
                    category = "maintainability"
                findings.append(
                    {
                        "path": d.path,
                        "line": line,
                        "start_line": start if start < line else None,
                        "side": "RIGHT",
                        "severity": "major",
                        "category": category,
                        "title": "Look here",
                        "body": "Something is wrong on these lines.",
                    }
                )
        return json.dumps({"findings": findings, "summary": f"reviewed by {model}"})

    return answer


@pytest.fixture(scope="module")
def cases() -> tuple[EvalCase, ...]:
    return load_cases(CASES_DIR)


@pytest.fixture
def fake() -> Iterator[tuple[FakeLLM, dict[str, str]]]:
    with anthropic_fake() as (url, state):
        env = {
            "ANTHROPIC_API_KEY": "test-anthropic",
            "ANTHROPIC_BASE_URL": url,
            "TIERED_REVIEW_LLM_MAX_RETRIES": "0",
            "TIERED_REVIEW_LLM_TIMEOUT_S": "10",
        }
        yield state, env


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Engine]:
    engine = open_database(str(tmp_path / "ledger.db"))
    yield engine
    engine.dispose()


def evaluate(
    mode: Mode,
    cases: tuple[EvalCase, ...],
    fake: tuple[FakeLLM, dict[str, str]],
    ledger: Engine,
    make_inputs: InputsFactory,
    tiers: tuple[str, ...] = ("small",),
    now: float = 1_000.0,
) -> EvalRun:
    state, env = fake
    state.responder = scripted(mode, cases)
    return run_eval(cases, tiers, make_inputs(), Settings.from_env(env), ledger, now)


def figures(run: EvalRun) -> dict[tuple[str, str], tuple[int, int, int, int]]:
    """(tier, category) -> (expected, found, reported, correct), summed over cases."""
    return {
        (c.tier, c.category): (
            c.current.expected,
            c.current.found,
            c.current.reported,
            c.current.correct,
        )
        for c in run.comparisons
    }


# The fixture set by hand: pagination has two bugs; the price cache a concurrency and a
# performance defect; the payment settings a config defect and a docs defect (another file).
PERFECT = {
    ("small", "bug"): (2, 2, 2, 2),
    ("small", "concurrency"): (1, 1, 1, 1),
    ("small", "config"): (1, 1, 1, 1),
    ("small", "docs"): (1, 1, 1, 1),
    ("small", "performance"): (1, 1, 1, 1),
}


# --- cases --------------------------------------------------------------------------------------


def test_fixture_cases_load(cases: tuple[EvalCase, ...]) -> None:
    assert [c.id for c in cases] == [
        "bugfix-pagination",
        "concurrency-price-cache",
        "config-payment-timeouts",
    ]
    assert cases[0].kind == "bugfix" and cases[0].title.startswith("Validate")
    assert cases[2].defects[1] == Defect("docs/timeouts.md", 13, 14, "docs")


@pytest.mark.parametrize(
    ("case_yaml", "message"),
    [
        ("kind: bugfix\n", "title: Field required"),
        ("kind: refactor\ntitle: t\ndefects: []\n", "kind: Input should be"),
        ("kind: bugfix\ntitle: t\ndefects: []\nowner: me\n", "owner: Extra inputs"),
        (
            "kind: bugfix\ntitle: t\ndefects: [{path: src/shop/pagination.py, lines: [9, 3], "
            "category: bug}]\n",
            "defects.0.lines: Value error, must be [start, end]",
        ),
        (
            "kind: bugfix\ntitle: t\ndefects: [{path: src/shop/pagination.py, lines: [17, 17], "
            "category: typo}]\n",
            "defects.0.category",
        ),
        (
            "kind: bugfix\ntitle: t\ndefects: [{path: src/other.py, lines: [1, 2], "
            "category: bug}]\n",
            "defects.0.path: 'src/other.py' is not in change.diff",
        ),
        (
            "kind: bugfix\ntitle: t\ndefects: [{path: src/shop/pagination.py, lines: [2, 5], "
            "category: bug}]\n",
            "defects.0.lines: [2, 5] holds no RIGHT-side line",
        ),
        ("kind: [unclosed\n", "not valid YAML"),
        ("- just a list\n", "Input should be a valid dictionary"),
    ],
)
def test_malformed_case_names_the_file(case_yaml: str, message: str) -> None:
    diff = (CASES_DIR / "bugfix-pagination" / "change.diff").read_text()
    with pytest.raises(EvalError) as caught:
        parse_case("some-case", case_yaml, diff, "evals/some-case/case.yaml")
    assert str(caught.value).startswith("evals/some-case/case.yaml: ")
    assert message in str(caught.value)


def test_case_folders_must_be_complete(tmp_path: Path) -> None:
    with pytest.raises(EvalError, match="holds no case folders"):
        load_cases(tmp_path)
    (tmp_path / "half-done").mkdir()
    (tmp_path / "half-done" / "case.yaml").write_text("kind: docs\ntitle: t\ndefects: []\n")
    with pytest.raises(EvalError, match="half-done: cannot read case.yaml and change.diff"):
        load_cases(tmp_path)
    with pytest.raises(EvalError, match="no such folder"):
        load_cases(tmp_path / "missing")
    with pytest.raises(EvalError, match="case folder name 'Bad Name'"):
        parse_case("Bad Name", "", "", "x")


# --- scoring (pure) -----------------------------------------------------------------------------


def finding(
    path: str, line: int, category: Any, start: int | None = None, side: Any = "RIGHT"
) -> Finding:
    return Finding(
        path=path,
        line=line,
        start_line=start,
        side=side,
        start_side=None,
        severity="major",
        category=category,
        title="t",
        body="b",
        suggestion=None,
        chunk_id=None,
        inline=True,
        fingerprint="f",
        request_id="review-small-01",
    )


def test_score_counts_location_category_duplicates_and_side() -> None:
    bug = Defect("a.py", 10, 12, "bug")
    leak = Defect("a.py", 30, 30, "security")
    found = [
        ("small", finding("a.py", 14, "bug")),  # 2 below the end: inside the tolerance
        ("small", finding("a.py", 12, "bug", start=9)),  # the same defect again
        ("small", finding("a.py", 30, "bug")),  # on the leak, wrong category
        ("small", finding("a.py", 7, "bug")),  # 3 above the start: outside
        ("small", finding("b.py", 11, "bug")),  # another file
        ("small", finding("a.py", 30, "security", side="LEFT")),  # the old file's line 30
    ]
    scores = score_case("c", [("small", bug), ("small", leak)], found, {"small": "m"})
    assert scores == (
        Score("c", "small", "m", "bug", expected=1, found=1, reported=5, correct=2),
        Score("c", "small", "m", "security", expected=1, found=0, reported=1, correct=0),
    )


def test_score_charges_defects_and_findings_to_their_own_tiers() -> None:
    bug = Defect("a.py", 10, 10, "bug")
    found = [("routed:frontier", finding("a.py", 10, "bug"))]
    scores = score_case("c", [("routed:small", bug)], found, {})
    assert {(s.tier, s.expected, s.found, s.reported, s.correct) for s in scores} == {
        ("routed:small", 1, 1, 0, 0),
        ("routed:frontier", 0, 0, 1, 1),
    }


# --- runs against the fake ----------------------------------------------------------------------


def test_perfect_answers_score_full_marks_and_land_in_the_ledger(
    cases: tuple[EvalCase, ...],
    fake: tuple[FakeLLM, dict[str, str]],
    ledger: Engine,
    make_inputs: InputsFactory,
) -> None:
    run = evaluate("perfect", cases, fake, ledger, make_inputs, tiers=("small", "frontier"))
    assert figures(run) == {
        **PERFECT,
        **{("frontier", cat): counts for (_, cat), counts in PERFECT.items()},
    }
    assert all(c.current.recall == 1.0 and c.current.precision == 1.0 for c in run.comparisons)
    assert all(c.baseline_run is None and not c.cliff for c in run.comparisons)
    # every request of a case went to the forced tier's model, and was priced there
    for case_run in run.runs:
        models = {(o.tier, o.model) for o in case_run.result.requests}
        expected = "claude-haiku-5-5" if case_run.tier == "small" else "claude-opus-5-5"
        assert models == {(case_run.tier, expected)}
        assert all(o.status == "ok" for o in case_run.result.requests)
    with ledger.connect() as conn:
        eval_reviews = sa.select(schema.reviews).where(schema.reviews.c.source == "eval")
        reviews = list(conn.execute(eval_reviews).mappings())
        requests = list(conn.execute(sa.select(schema.review_requests)).mappings())
        results = list(conn.execute(sa.select(schema.eval_results)).mappings())
    assert len(reviews) == 6
    assert {r["repository"] for r in reviews} == {c.id for c in cases}
    assert {(r["tenant"], r["run_uid"]) for r in reviews} == {("eval", run.run_uid)}
    assert sum(r["cost_usd"] for r in reviews) == pytest.approx(run.cost_usd)
    by_tier = {
        t: sum(r["cost_usd"] for r in requests if r["tier"] == t) for t in ("small", "frontier")
    }
    assert 0 < by_tier["small"] < by_tier["frontier"]
    assert {r["run_uid"] for r in results} == {run.run_uid}
    assert {(r["case_id"], r["tier"], r["category"]): r["found"] for r in results} == {
        (case.id, tier, d.category): sum(1 for x in case.defects if x.category == d.category)
        for case in cases
        for d in case.defects
        for tier in ("small", "frontier")
    }
    assert {r["model"] for r in results} == {
        "anthropic:claude-haiku-5-5",
        "anthropic:claude-opus-5-5",
    }


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        (
            "partial",  # only the first defect each case lists
            {
                ("small", "bug"): (2, 1, 1, 1),
                ("small", "concurrency"): (1, 1, 1, 1),
                ("small", "config"): (1, 1, 1, 1),
                ("small", "docs"): (1, 0, 0, 0),
                ("small", "performance"): (1, 0, 0, 0),
            },
        ),
        ("near", PERFECT),
        (
            "wrong_line",
            {key: (n, 0, n, 0) for key, (n, *_) in PERFECT.items()},
        ),
        (
            "wrong_category",
            {
                **{key: (n, 0, 0, 0) for key, (n, *_) in PERFECT.items()},
                ("small", "maintainability"): (0, 0, 6, 0),
            },
        ),
        ("empty", {key: (n, 0, 0, 0) for key, (n, *_) in PERFECT.items()}),
    ],
)
def test_scripted_answers_score_as_counted_by_hand(
    mode: Mode,
    expected: dict[tuple[str, str], tuple[int, int, int, int]],
    cases: tuple[EvalCase, ...],
    fake: tuple[FakeLLM, dict[str, str]],
    ledger: Engine,
    make_inputs: InputsFactory,
) -> None:
    run = evaluate(mode, cases, fake, ledger, make_inputs)
    assert figures(run) == expected
    recall = {(c.tier, c.category): c.current.recall for c in run.comparisons}
    precision = {(c.tier, c.category): c.current.precision for c in run.comparisons}
    if mode == "partial":
        assert recall[("small", "bug")] == 0.5 and precision[("small", "bug")] == 1.0
        assert precision[("small", "docs")] is None  # nothing reported: undefined, not zero
    if mode == "wrong_line":
        assert set(recall.values()) == {0.0} and set(precision.values()) == {0.0}
    if mode == "wrong_category":
        assert recall[("small", "maintainability")] is None
        assert precision[("small", "maintainability")] == 0.0


def test_routed_run_charges_each_defect_to_its_chunks_tier(
    cases: tuple[EvalCase, ...],
    fake: tuple[FakeLLM, dict[str, str]],
    ledger: Engine,
    make_inputs: InputsFactory,
) -> None:
    run = evaluate("perfect", cases, fake, ledger, make_inputs, tiers=("routed",))
    got = figures(run)
    # the price cache takes a threading.Lock: architectural, so frontier; the docs are trivial
    assert got[("routed:frontier", "concurrency")] == (1, 1, 1, 1)
    assert got[("routed:frontier", "performance")] == (1, 1, 1, 1)
    assert got[("routed:small", "docs")] == (1, 1, 1, 1)
    assert sum(v[0] for v in got.values()) == 6 and sum(v[1] for v in got.values()) == 6
    tiers_used = {o.tier for r in run.runs for o in r.result.requests}
    assert {"small", "frontier"} <= tiers_used


def test_tiers_are_checked(make_inputs: InputsFactory) -> None:
    config = make_inputs().config
    assert parse_tiers(None, config) == ("routed",)
    assert parse_tiers("small, frontier,small", config) == ("small", "frontier")
    with pytest.raises(EvalError, match="unknown tier 'huge'"):
        parse_tiers("small,huge", config)
    with pytest.raises(EvalError, match="tier 'local' is not configured"):
        parse_tiers("local", config)


# --- baselines and cliffs -----------------------------------------------------------------------


def stored(engine: Engine, uid: str, now: float, rows: list[tuple[str, int, int]]) -> None:
    """Store a run's (case, expected, found) on small/bug."""
    record_scores(engine, uid, now, [Score(c, "small", "m", "bug", e, f, f, f) for c, e, f in rows])


def now_vs_history(engine: Engine, rows: list[tuple[str, int, int]]) -> Any:
    current = [Score(c, "small", "m", "bug", e, f, f, f) for c, e, f in rows]
    [comparison] = compare(current, load_history(engine, {"small"}, "current"))
    return comparison


def test_a_drop_of_ten_points_is_a_cliff_and_nine_is_not(ledger: Engine) -> None:
    stored(ledger, "old", 1_000.0, [("x", 100, 40)])
    stored(ledger, "last", 2_000.0, [("x", 100, 100)])  # the baseline: the latest run
    nine = now_vs_history(ledger, [("x", 100, 91)])
    assert nine.baseline_run == "last" and nine.change_pts == pytest.approx(-9.0)
    assert not nine.cliff
    ten = now_vs_history(ledger, [("x", 100, 90)])
    assert ten.change_pts == pytest.approx(-10.0) and ten.cliff
    assert ten.shared_baseline.recall == 1.0 and ten.current.expected == 100


def test_baseline_counts_only_the_cases_both_runs_share(ledger: Engine) -> None:
    stored(ledger, "last", 2_000.0, [("x", 10, 10), ("gone", 10, 0)])
    # a new hard case lowers the overall recall, but over the shared case nothing changed
    c = now_vs_history(ledger, [("x", 10, 10), ("new", 10, 0)])
    assert c.current.recall == 0.5 and c.change_pts == 0.0 and not c.cliff
    assert c.shared_current.cases == 1
    # a run that shares no case is no baseline: look further back
    stored(ledger, "other", 3_000.0, [("elsewhere", 5, 0)])
    assert now_vs_history(ledger, [("x", 10, 5)]).baseline_run == "last"
    # and with no earlier run at all there is nothing to compare
    [alone] = compare([Score("x", "middle", "m", "bug", 1, 0, 0, 0)], [])
    assert alone.baseline_run is None and alone.change_pts is None and not alone.cliff


def test_cli_flags_a_cliff_against_the_previous_run(
    cases: tuple[EvalCase, ...],
    fake: tuple[FakeLLM, dict[str, str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    state, env = fake
    for name, value in {**env, "TIERED_REVIEW_DB": str(tmp_path / "ledger.db")}.items():
        monkeypatch.setenv(name, value)
    args = ["eval", "--cases", str(CASES_DIR), "--tiers", "small"]

    state.responder = scripted("perfect", cases)
    assert main([*args, "--format", "json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["schema"] == "tiered-review/eval@1"
    assert first["totals"]["cliffs"] == 0 and first["totals"]["cost_usd"] > 0
    assert all(r["baseline"] is None for r in first["results"])

    state.responder = scripted("partial", cases)
    report = tmp_path / "eval.json"
    assert main([*args, "--format", "json", "--report", str(report)]) == CLIFF_EXIT
    second = json.loads(capsys.readouterr().out)
    assert json.loads(report.read_text()) == second
    results = {r["category"]: r for r in second["results"]}
    assert {k for k, r in results.items() if r["cliff"]} == {"bug", "docs", "performance"}
    assert results["bug"]["change_pts"] == -50.0 and results["bug"]["recall"] == 0.5
    assert results["bug"]["baseline"]["run_uid"] == first["run_uid"]
    assert results["concurrency"]["change_pts"] == 0.0 and not results["concurrency"]["cliff"]

    # the baseline is now the partial run: the same answers again are no cliff
    assert main(args) == 0
    table = capsys.readouterr().out
    assert "CLIFF" not in table and "+0.0 pts" in table and "cost $" in table


def test_cli_eval_without_keys_names_the_variables(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY", "LOCAL_LLM_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    assert main(["eval", "--cases", str(CASES_DIR), "--tiers", "small,frontier"]) == 2
    err = capsys.readouterr().err
    assert "missing credentials: set ANTHROPIC_API_KEY" in err and "small" in err
    assert main(["eval", "--cases", str(CASES_DIR), "--tiers", "huge"]) == 2
    assert "unknown tier 'huge'" in capsys.readouterr().err


def test_weekly_workflow_runs_the_eval_and_keeps_the_baseline() -> None:
    flow = yaml.safe_load((ROOT / ".github" / "workflows" / "eval.yml").read_text())
    triggers = flow[True]  # YAML 1.1 reads the bare key `on` as a boolean
    assert triggers["schedule"][0]["cron"].endswith("* * 1") and "workflow_dispatch" in triggers
    assert flow["permissions"] == {"contents": "read", "actions": "read"}
    steps = flow["jobs"]["eval"]["steps"]
    evaluate_step = next(s for s in steps if s.get("id") == "eval")
    assert {"ANTHROPIC_API_KEY", "OPENAI_API_KEY"} <= set(evaluate_step["env"])
    command = next(
        line.strip().rstrip("\\").split()
        for line in evaluate_step["run"].splitlines()
        if "tiered-review eval" in line
    )
    args = _parser().parse_args([a.strip('"') for a in command[1:]])
    assert args.command == "eval" and args.tiers == "$TIERS" and args.report is not None
    assert flow["jobs"]["eval"]["env"]["TIERS"].endswith("'small,middle,frontier' }}")
    uploads = [s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact")]
    ledger = next(s for s in uploads if s["with"]["name"] == "eval-ledger")
    assert ledger["if"] == "always()"
    restore = next(s for s in steps if "eval-ledger" in s.get("run", ""))
    assert "gh run download" in restore["run"]


def test_cli_eval_with_a_scripted_model_needs_no_key_and_stores_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for name in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY", "LOCAL_LLM_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    db = tmp_path / "ledger.db"
    monkeypatch.setenv("TIERED_REVIEW_DB", str(db))
    args = ["eval", "--cases", str(CASES_DIR), "--format", "json"]
    figures = {}
    for behaviour in ("careful", "sloppy"):
        assert main([*args, "--model-behaviour", behaviour]) == 0
        figures[behaviour] = json.loads(capsys.readouterr().out)["model_behaviour"]
    careful, sloppy = figures["careful"], figures["sloppy"]
    assert careful["behaviour"] == "careful" and sloppy["behaviour"] == "sloppy"
    assert careful["intended_findings"] == sloppy["intended_findings"] > 0
    assert careful["inline_on_intended_line"] == careful["intended_findings"]
    assert careful["repair_turns"] == careful["lost"] == 0 and careful["cost_usd"] > 0
    parts = ("inline_on_intended_line", "kept_elsewhere", "lost")
    assert sum(sloppy[k] for k in parts) == sloppy["intended_findings"]
    assert sloppy["inline_share"] >= 0.85 and sloppy["repairs_per_request"] <= 0.05
    engine = open_database(str(db))
    try:
        with engine.connect() as conn:
            stored = [
                conn.execute(sa.select(sa.func.count()).select_from(t)).scalar()
                for t in (schema.reviews, schema.eval_results)
            ]
    finally:
        engine.dispose()
    assert stored == [0, 0]  # scripted runs are no baseline for real ones
    assert main(["eval", "--cases", str(CASES_DIR), "--model-behaviour", "sloppy"]) == 0
    assert "Scripted model (sloppy):" in capsys.readouterr().out
