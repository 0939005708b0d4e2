"""Model output: the contract's validation and the placement of findings on the diff."""

from __future__ import annotations

import json
from typing import Any, get_args

import pytest

from app.errors import OutputError
from app.plan.chunks import Chunk
from app.plan.contract import CATEGORIES, SEVERITIES
from app.plan.planner import build_plan
from app.review.findings import (
    Category,
    FindingOut,
    Severity,
    fingerprint_of,
    output_json_schema,
    parse_output,
    place,
)
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
    assert parse_output(text).output.summary == "ok"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("no json here", "no JSON object"),
        ('{"findings": [}', "not valid JSON"),
        ('{"findings": [{"path": "a"}]}', "finding 1: category: Field required"),
        (json.dumps({"findings": [_finding(severity="blocker")]}), "finding 1: severity"),
        (json.dumps({"findings": [_finding(side="MIDDLE")]}), "finding 1: side"),
        (json.dumps({"findings": [_finding(line=None, quote=None)]}), "neither a line nor a quote"),
        (json.dumps({"findings": [_finding(title="", body="")]}), "no title and no body"),
        ('{"findings": [{"path": "a", "line": 3, "si', "cut short"),
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
    ).output
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
    out = parse_output(json.dumps({"findings": [_finding(line=12)], "summary": ""})).output
    (placed,) = place(out, chunks, "r")
    assert placed.fingerprint == fingerprint_of("app/m.py", "T", "c = 4")


# --- what small models get wrong -----------------------------------------------------------------


def test_one_unusable_finding_is_dropped_with_its_reason_and_the_rest_kept() -> None:
    text = json.dumps(
        {"findings": [_finding(category="style"), _finding(title="kept")], "summary": "s"}
    )
    parsed = parse_output(text)
    assert [f.title for f in parsed.output.findings] == ["kept"]
    assert parsed.dropped == (
        "finding 1: category: Input should be 'bug', 'security', "
        "'performance', 'concurrency', 'api', 'config', 'maintainability', "
        "'tests' or 'docs'",
    )


def test_trailing_commas_prose_and_fences_are_tolerated() -> None:
    body = json.dumps({"findings": [_finding()], "summary": "s"}, indent=1)
    sloppy = body.replace("\n}", ",\n}").replace("\n ]", ",\n ]")
    assert sloppy != body
    text = f"Here you go:\n```json\n{sloppy}\n```\nHope it helps, {{really}}."
    parsed = parse_output(text)
    assert [f.line for f in parsed.output.findings] == [12] and parsed.dropped == ()
    assert parsed.output.summary == "s"


def test_a_truncated_last_finding_is_dropped_and_the_complete_ones_kept() -> None:
    whole = json.dumps({"findings": [_finding(title="first"), _finding(title="second")]})
    cut = whole[: whole.rindex('"second"') - 3]
    parsed = parse_output(cut, truncated=True)
    assert [f.title for f in parsed.output.findings] == ["first"]
    assert parsed.dropped == ("finding 2: cut short at the output limit",)


def test_left_out_keys_that_can_be_recovered_are_recovered() -> None:
    item = _finding(title="")
    del item["severity"]
    item["body"] = "The loop skips the last row. Use len(rows)."
    (finding,) = parse_output(json.dumps({"findings": [item]})).output.findings
    assert finding.severity == "minor"  # the lower level, as the prompt asks on doubt
    assert finding.title == "The loop skips the last row."


@pytest.mark.parametrize(
    ("over", "where"),
    [
        ({"line": 14, "quote": "c = 4"}, ("RIGHT", 12)),  # off by two
        ({"line": 12, "side": "LEFT", "quote": "c = 4"}, ("RIGHT", 12)),  # wrong side
        ({"line": 9, "quote": "   b = 2  "}, ("LEFT", 11)),  # a removed line, spacing lost
        ({"line": None, "quote": "y = 20"}, ("RIGHT", 42)),  # no line at all
        ({"path": None, "line": 40, "quote": "y = 20"}, ("RIGHT", 42)),  # no path
        ({"side": None, "line": 45, "quote": "z = 3"}, ("RIGHT", 43)),  # no side
    ],
)
def test_a_wrong_number_is_corrected_by_the_quote(
    chunks: list[Chunk], over: dict[str, Any], where: tuple[str, int]
) -> None:
    out = parse_output(json.dumps({"findings": [_finding(**over)]})).output
    (placed,) = place(out, chunks, "r")
    assert placed.inline and (placed.side, placed.line) == where and placed.path == "app/m.py"
    assert placed.moved is not None and placed.moved.endswith(f"{where[0]} {where[1]} by its quote")


def test_a_quote_found_twice_goes_to_the_nearest_copy(make_inputs: InputsFactory) -> None:
    diff = (
        "diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n"
        "@@ -1,3 +1,4 @@\n x\n+    return None\n y\n z\n"
        "@@ -20,2 +21,3 @@\n p\n+    return None\n q\n"
    )
    chunks = list(build_plan(diff, make_inputs()).chunks)
    near = [_finding(path="a.py", line=n, quote="    return None") for n in (4, 20)]
    out = parse_output(json.dumps({"findings": near})).output
    assert [(f.line, f.inline) for f in place(out, chunks, "r")] == [(2, True), (22, True)]


def test_a_right_number_with_a_matching_quote_is_not_moved(chunks: list[Chunk]) -> None:
    out = parse_output(json.dumps({"findings": [_finding(line=12, quote=" c = 4")]})).output
    (placed,) = place(out, chunks, "r")
    assert placed.inline and placed.line == 12 and placed.moved is None


def test_a_quote_that_matches_nothing_leaves_the_number_to_decide(chunks: list[Chunk]) -> None:
    out = parse_output(json.dumps({"findings": [_finding(line=30, quote="nowhere at all")]}))
    (placed,) = place(out.output, chunks, "r")
    assert not placed.inline and placed.moved is None


def test_a_moved_range_moves_with_its_end(chunks: list[Chunk]) -> None:
    item = _finding(line=14, start_line=13, start_side="RIGHT", quote="c = 4")
    (placed,) = place(parse_output(json.dumps({"findings": [item]})).output, chunks, "r")
    assert placed.inline and (placed.start_line, placed.line) == (11, 12)


def test_the_schema_names_what_the_validator_accepts() -> None:
    assert get_args(Severity) == SEVERITIES and get_args(Category) == CATEGORIES
    schema = output_json_schema()
    finding = schema["properties"]["findings"]["items"]
    assert set(finding["required"]) == set(FindingOut.model_fields)  # strict: all listed
    assert finding["additionalProperties"] is False and schema["additionalProperties"] is False
