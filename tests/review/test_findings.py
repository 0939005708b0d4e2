"""Model output: the contract's validation and the placement of findings on the diff."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.errors import OutputError
from app.plan.chunks import Chunk
from app.plan.planner import build_plan
from app.review.findings import fingerprint_of, parse_output, place
from tests.conftest import InputsFactory

DIFF = (
    "diff --git a/app/m.py b/app/m.py\n--- a/app/m.py\n+++ b/app/m.py\n"
    "@@ -10,4 +10,5 @@ def f():\n a = 1\n-b = 2\n+b = 3\n+c = 4\n d = 5\n e = 6\n"
    "@@ -40,3 +41,3 @@ def g():\n x = 1\n-y = 2\n+y = 20\n z = 3\n"
)


def _finding(**over: Any) -> dict[str, Any]:
    base = {
        "path": "app/m.py",
        "line": 12,
        "start_line": None,
        "side": "RIGHT",
        "start_side": None,
        "severity": "minor",
        "category": "bug",
        "title": "T",
        "body": "B",
        "suggestion": None,
    }
    return {**base, **over}


@pytest.fixture
def chunks(make_inputs: InputsFactory) -> list[Chunk]:
    return list(build_plan(DIFF, make_inputs()).chunks)


@pytest.mark.parametrize(
    "text",
    [
        json.dumps({"findings": [], "summary": "ok"}),
        "```json\n" + json.dumps({"findings": [], "summary": "ok"}) + "\n```",
        "Sure! Here it is:\n" + json.dumps({"findings": [], "summary": "ok"}) + "\nThanks.",
    ],
)
def test_parse_accepts_the_contract_with_light_wrapping(text: str) -> None:
    assert parse_output(text).summary == "ok"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("no json here", "no JSON object"),
        ('{"findings": [}', "not valid JSON"),
        ('{"findings": [{"path": "a"}]}', "findings.0.line"),
        (json.dumps({"findings": [_finding(severity="blocker")]}), "findings.0.severity"),
        (json.dumps({"findings": [_finding(side="MIDDLE")]}), "findings.0.side"),
    ],
)
def test_parse_rejects_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(OutputError, match=reason):
        parse_output(text)


def test_place_checks_anchors_against_hunks(chunks: list[Chunk]) -> None:
    out = parse_output(
        json.dumps(
            {
                "findings": [
                    _finding(line=12),  # added line, RIGHT: inline
                    _finding(
                        line=11, side="LEFT", title="gone"
                    ),  # removed line b = 2, LEFT: inline
                    _finding(line=11, start_line=10, suggestion="x\n"),  # range in one hunk: inline
                    _finding(line=42, start_line=12),  # range across hunks: not inline
                    _finding(line=30),  # between hunks: not inline
                    _finding(path="other.py", line=1),  # not in the request: not inline
                    _finding(line=11, side="LEFT", suggestion="nope"),  # suggestions only on RIGHT
                ],
                "summary": "",
            }
        )
    )
    placed = place(out, chunks, "review-middle-01")
    assert [f.inline for f in placed] == [True, True, True, False, False, False, True]
    assert placed[3].why_not_inline and "one hunk" in placed[3].why_not_inline
    assert placed[4].why_not_inline and "not a changed or context line" in placed[4].why_not_inline
    assert placed[6].suggestion is None and placed[2].suggestion == "x\n"
    assert placed[0].chunk_id == chunks[0].id and placed[5].chunk_id is None


def test_fingerprint_ignores_case_and_spacing_but_not_path_or_line_content() -> None:
    a = fingerprint_of("a.py", "Off-by-one in loop", "for i in range(n + 1):")
    assert a == fingerprint_of("a.py", "off by one in loop!", "for i in  range(n + 1):")
    assert a != fingerprint_of("b.py", "Off-by-one in loop", "for i in range(n + 1):")
    assert a != fingerprint_of("a.py", "Off-by-one in loop", "for i in range(n):")


def test_fingerprint_uses_the_anchored_line(chunks: list[Chunk]) -> None:
    out = parse_output(json.dumps({"findings": [_finding(line=12)], "summary": ""}))
    (placed,) = place(out, chunks, "r")
    assert placed.fingerprint == fingerprint_of("app/m.py", "T", "c = 4")
