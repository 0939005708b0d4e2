"""The bundled eval set: enough cases of every kind, well-formed diffs, defects with no hints."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, get_args

import pytest
import yaml

from app.evals.command import bundled_cases
from app.evals.core import CASE_FILE, DIFF_FILE, TOLERANCE, Kind, load_cases
from app.plan.contract import Category
from app.plan.diff import FileDiff, parse_diff
from app.plan.planner import build_plan
from tests.conftest import ROOT, InputsFactory

CASES_DIR = ROOT / "app" / "data" / "evals"
CASE_IDS = sorted(p.name for p in CASES_DIR.iterdir() if p.is_dir())
KINDS = get_args(Kind)
CATEGORIES = get_args(Category)
HINT = re.compile(
    r"\b(bugs?|buggy|fixme|todo|hacks?|xxx|unsafe|insecure|races?|racy|vulnerable|"
    r"vulnerability|leaks?|leaky|wrong|broken|oops)\b",
    re.I,
)
_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@")
NEAR = 3  # diff lines either side of a defect that must not hint at it


def _case(case_id: str) -> dict[str, Any]:
    data = yaml.safe_load((CASES_DIR / case_id / CASE_FILE).read_text("utf-8"))
    assert isinstance(data, dict)
    return data


def _diff(case_id: str) -> str:
    return (CASES_DIR / case_id / DIFF_FILE).read_text("utf-8")


def _right_lines(f: FileDiff) -> dict[int, str]:
    """RIGHT-side line number -> its kind ("+" or " ") over the file's hunks."""
    out: dict[int, str] = {}
    for hunk in f.hunks:
        new = hunk.target_start
        for kind in hunk.kinds:
            if kind in "+ ":
                out[new] = kind
                new += 1
    return out


def _positions(diff: str) -> dict[tuple[str, int], int]:
    """(path, RIGHT-side line) -> the index of its line in the diff text."""
    out: dict[tuple[str, int], int] = {}
    path, new = "", 0
    for index, line in enumerate(diff.split("\n")):
        if line.startswith("+++ "):
            path = line[4:].removeprefix("b/")
            continue
        header = _HUNK.match(line)
        if header:
            new = int(header.group(1))
        elif line[:1] in ("+", " ") and not line.startswith("+++"):
            out[(path, new)] = index
            new += 1
    return out


def test_the_set_covers_every_kind_and_category() -> None:
    kinds = Counter(_case(c)["kind"] for c in CASE_IDS)
    categories = Counter(d["category"] for c in CASE_IDS for d in _case(c)["defects"])
    assert len(CASE_IDS) >= 30
    assert {k: kinds[k] for k in KINDS if kinds[k] < 3} == {}
    short = {c: categories[c] for c in CATEGORIES if c != "maintainability" and categories[c] < 3}
    assert short == {}


def test_the_loader_reads_every_bundled_case() -> None:
    assert bundled_cases() == CASES_DIR
    cases = load_cases(bundled_cases())
    assert [c.id for c in cases] == CASE_IDS
    assert all(c.defects for c in cases)


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_case_is_well_formed(case_id: str) -> None:
    case = _case(case_id)
    assert set(case) == {"kind", "title", "description", "defects"}
    assert case["kind"] in KINDS
    assert case_id.startswith(f"{case['kind']}-")
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)+", case_id)
    text = _diff(case_id)
    assert text.startswith("diff --git a/")
    assert text.count("\ndiff --git ") + 1 == text.count("\nindex ")  # real git headers
    files = {f.path: f for f in parse_diff(text)}
    assert sum(f.added + f.removed for f in files.values()) >= 15
    assert 1 <= len(case["defects"]) <= 3
    for defect in case["defects"]:
        assert set(defect) == {"path", "lines", "category"}
        assert defect["category"] in CATEGORIES
        assert defect["path"] in files, f"{defect['path']} is not a file of {DIFF_FILE}"
        start, end = defect["lines"]
        right = _right_lines(files[defect["path"]])
        span = range(start, end + 1)
        assert 1 <= start <= end
        missing = [n for n in span if n not in right]
        assert missing == [], f"{defect['path']} lines {missing} are not RIGHT-side diff lines"
        assert any(right[n] == "+" for n in span), f"{defect} holds no added line"


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_no_finding_can_match_two_defects(case_id: str) -> None:
    spans = sorted((d["path"], *d["lines"]) for d in _case(case_id)["defects"])
    for (path, _, end), (other, start, _) in zip(spans, spans[1:], strict=False):
        assert path != other or start - end > 2 * TOLERANCE, f"{path}: {end} and {start}"


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_nothing_near_a_defect_hints_at_it(case_id: str) -> None:
    case = _case(case_id)
    assert HINT.findall(case["title"]) == []
    assert HINT.findall(case["description"]) == []
    text = _diff(case_id)
    lines = text.split("\n")
    where = _positions(text)
    for defect in case["defects"]:
        start, end = defect["lines"]
        first = where[(defect["path"], start)]
        last = where[(defect["path"], end)]
        near = lines[max(0, first - NEAR) : last + NEAR + 1]
        hints = [line for line in near if HINT.search(line)]
        assert hints == [], f"{defect['path']}:{start}-{end} has hints nearby: {hints}"


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_case_plans_cleanly(case_id: str, make_inputs: InputsFactory) -> None:
    case = _case(case_id)
    plan = build_plan(_diff(case_id), make_inputs(title=case["title"]))
    planned = {c.path for c in plan.chunks if c.skipped is None}
    assert {d["path"] for d in case["defects"]} <= planned
    assert plan.requests
