"""Reading the JSON object out of a sloppy answer."""

from __future__ import annotations

import pytest

from app.review.salvage import NoJSONError, salvage_json


@pytest.mark.parametrize(
    ("text", "data"),
    [
        ('{"a": 1}', {"a": 1}),
        ('Sure.\n```json\n{"a": [1, 2,],}\n```\nAnything else?', {"a": [1, 2]}),
        ('{"a": "a } ] , in a string,}"} and {"b": 2}', {"a": "a } ] , in a string,}"}),
        (
            '{"a": "escaped \\" quote", "b": [{"c": null,},]}',
            {"a": 'escaped " quote', "b": [{"c": None}]},
        ),
        ('prose {\n  "a": true,\n}\n', {"a": True}),
    ],
)
def test_whole_objects(text: str, data: object) -> None:
    salvaged = salvage_json(text)
    assert salvaged.data == data and not salvaged.cut_short


@pytest.mark.parametrize(
    ("text", "data", "partial"),
    [
        ('{"findings": [{"a": 1}, {"b": "x", "ti', {"findings": [{"a": 1}, {"b": "x"}]}, True),
        ('{"findings": [{"a": 1}, {"b": "x", "title":', {"findings": [{"a": 1}, {"b": "x"}]}, True),
        ('{"findings": [{"a": 1}], "summary": "cut her', {"findings": [{"a": 1}]}, False),
        ('{"findings": [{"a": 1},', {"findings": [{"a": 1}]}, False),
    ],
)
def test_cut_answers_keep_what_was_complete(text: str, data: object, partial: bool) -> None:
    salvaged = salvage_json(text)
    assert salvaged.data == data and salvaged.cut_short and salvaged.partial_item is partial


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("no object here", "no JSON object"),
        ('{"a": [1}', "unexpected '}'"),
        ('{"a', "cut before its JSON object had any content"),
        ('{"a": 01}', "not valid JSON"),
    ],
)
def test_what_cannot_be_read_says_why(text: str, reason: str) -> None:
    with pytest.raises(NoJSONError, match=reason):
        salvage_json(text)


def test_a_fenced_answer_keeps_the_fences_inside_its_strings() -> None:
    # A suggestion may itself hold a fence: only fences around the object are dropped.
    text = '```json\n{"findings": [{"suggestion": "x = \'```\'\\n"}]}\n```'
    salvaged = salvage_json(text)
    assert salvaged.data == {"findings": [{"suggestion": "x = '```'\n"}]}
    assert not salvaged.cut_short
