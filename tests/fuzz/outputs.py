"""Hostile model answers: JSON-ish text around findings anchored on a real diff, or off it.

Findings aim at the diff's real anchors most of the time, so placement runs on in-diff lines;
their fields are sometimes wrong (types, ranges, enums, sizes, lone surrogates). The answer is
then written the ways models write it: bare, fenced, wrapped in prose, truncated at the output
limit, with single quotes or trailing commas, NaN, huge numbers, deep nesting, two objects.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st

SEVERITIES = ["critical", "major", "minor", "nit"]
CATEGORIES = ["bug", "security", "performance", "concurrency", "api", "config", "maintainability"]
Anchor = tuple[str, int, str]

odd = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from([0, -1, 10**30, 1.5, float("nan"), "12", "", [], {}]),
    st.text(max_size=10),
)
texts = st.one_of(
    st.text(max_size=80),
    st.sampled_from(["", " ", "Use `x`", "```suggestion\nx = 1\n```", "<!-- tiered-review -->"]),
    st.sampled_from(["\ud800", "bad \udc80 byte", "\u202eevil"]),
    st.integers(290, 70_000).map(lambda n: "w" * n),
)


titles = st.one_of(*[st.text(min_size=1, max_size=80)] * 4, texts)
bodies = st.one_of(*[st.text(max_size=200)] * 4, texts)


def _maybe(draw: st.DrawFn, good: st.SearchStrategy[Any], bad_one_in: int = 20) -> Any:
    return draw(odd) if draw(st.integers(0, bad_one_in - 1)) == 0 else draw(good)


@st.composite
def findings(draw: st.DrawFn, anchors: Sequence[Anchor]) -> dict[str, Any]:
    """One finding, usually on a real anchor of the diff."""
    if anchors and draw(st.integers(0, 3)) > 0:
        path, line, side = draw(st.sampled_from(list(anchors)))
    else:
        path = draw(
            st.sampled_from(["", "../etc/passwd", "nope.py", "a" * 2000]) | st.text(max_size=20)
        )
        line, side = draw(st.integers(-5, 10**6)), draw(st.sampled_from(["RIGHT", "LEFT"]))
    item: dict[str, Any] = {
        "path": _maybe(draw, st.just(path)),
        "line": _maybe(draw, st.just(line)),
        "side": _maybe(draw, st.sampled_from([side] * 6 + ["RIGHT", "LEFT", "right", "MIDDLE"])),
        "severity": _maybe(draw, st.sampled_from([*SEVERITIES * 3, "blocker"])),
        "category": _maybe(draw, st.sampled_from([*CATEGORIES * 2, "style"])),
        "title": _maybe(draw, titles),
        "body": _maybe(draw, bodies),
    }
    if draw(st.booleans()):
        item["start_line"] = _maybe(
            draw, st.integers(line - 5, line + 2) if isinstance(line, int) else odd
        )
        if draw(st.booleans()):
            item["start_side"] = _maybe(draw, st.sampled_from(["RIGHT", "LEFT"]))
    if draw(st.booleans()):
        item["suggestion"] = _maybe(draw, texts)
    if draw(st.integers(0, 9)) == 0:
        item.pop(draw(st.sampled_from(sorted(item))))  # a missing required field
    if draw(st.integers(0, 9)) == 0:
        item["confidence"] = 0.9  # an extra key the contract ignores
    return item


@st.composite
def answer_objects(draw: st.DrawFn, anchors: Sequence[Anchor]) -> Any:
    """The decoded answer: usually the contract's shape, sometimes not."""
    listed = draw(st.lists(findings(anchors), max_size=4))
    summary = _maybe(draw, texts, 10)
    shape = draw(st.integers(0, 19))
    if shape == 0:
        return listed
    if shape == 1:
        return {"findings": {"0": listed[:1]}, "summary": summary}
    if shape == 2:
        return {"findings": None, "summary": None}
    if shape == 3:
        return {"findings": listed * 40, "summary": summary}  # over the 200-finding cap
    return {"findings": listed, "summary": summary}


def _deep(n: int) -> str:
    return '{"findings": ' + "[" * n + "]" * n + ', "summary": "x"}'


@st.composite
def answers(draw: st.DrawFn, anchors: Sequence[Anchor]) -> str:
    """A model's answer as text."""
    obj = draw(answer_objects(anchors))
    text = json.dumps(
        obj, ensure_ascii=draw(st.booleans()), indent=draw(st.sampled_from([None, 2]))
    )
    style = draw(st.integers(0, 29))  # 11 and up: the bare object
    if style == 0:
        return "```json\n" + text + "\n```"
    if style == 1:
        return "Here is my review:\n" + text + "\nLet me know if you need more."
    if style == 2:
        return text[: draw(st.integers(0, len(text)))]  # cut at the output limit
    if style == 3:
        return text.replace('"', "'")
    if style == 4:
        return text.replace("]", ",]").replace("}", ",}")
    if style == 5:
        return _deep(draw(st.integers(100, 100_000)))
    if style == 6:
        return '{"findings": [{"line": 1' + "0" * draw(st.integers(4000, 20_000)) + "}]}"
    if style == 7:
        return text + "\n" + text
    if style == 8:
        return draw(st.sampled_from(["", " ", "{", "}{", "null", "[]", "```json\n```", "{}"]))
    if style == 9:
        return "\ufeff" + text
    if style == 10:
        return "[" * draw(st.integers(100, 100_000)) + "{}"
    return text
