"""Output safety as a property: nothing untrusted renders as a marker, a mention or HTML."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from app.gh.markers import marker, read_markers
from app.plan.config import CommentsConfig
from app.review.engine import ReviewResult
from app.review.findings import Finding
from app.review.publish import SummaryInputs, comment_payload, render_summary, select
from app.review.safety import code, prose, suggestion_block
from tests.review.commonmark import problems

# Pieces an attacker reaches for, mixed with any text at all.
_ATOMS = st.sampled_from(
    [
        "<!-- tiered-review:reviewed " + "f" * 40 + " -->",
        "<!-- tiered-review:fp abc -->",
        "<!-- tiered-review:spent 2026-11-27 999 -->",
        "<!--",
        "-->",
        "@alice",
        "@org/team",
        "&#64;bob",
        "&#x40;carol",
        "&commat;dave",
        "`",
        "``",
        "```",
        "~~~",
        "\\",
        "\\`",
        "<img src=x>",
        "<script>",
        "</details>",
        "<details open>",
        '<a href="javascript:x">',
        "![](http://t/p.png)",
        "[x](javascript:alert(1))",
        "<https://evil.example>",
        "|",
        "\n",
        "\n\n",
        "\r\n",
        "\r",
        "    ",
        "- ",
        "> ",
        "# ",
        "\u2028",
        "\x00",
    ]
)
UNTRUSTED = st.lists(st.one_of(_ATOMS, st.text(max_size=12)), max_size=12).map("".join)
SHAS = ("a" * 40, "b" * 40)
SETTINGS = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,  # the same cases on every run; bench/fuzz.py-style runs explore further
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def _finding(path: str, title: str, body: str, suggestion: str | None, fp: str) -> Finding:
    return Finding(
        path=path,
        line=3,
        start_line=None,
        side="RIGHT",
        start_side=None,
        severity="major",
        category="bug",
        title=title,
        body=body,
        suggestion=suggestion,
        chunk_id="c",
        inline=True,
        fingerprint=fp,
        request_id="r",
        why_not_inline=None,
    )


class _Quiet:
    """The engine's result, shown by name in hypothesis's report instead of 500 kB of repr."""

    def __init__(self, result: ReviewResult) -> None:
        self.result = result

    def __repr__(self) -> str:
        return "engine_result"


@pytest.fixture
def quiet_result(engine_result: ReviewResult) -> _Quiet:
    """`engine_result`, quiet in reports."""
    return _Quiet(engine_result)


def _with_paths(result: ReviewResult, paths: list[str]) -> ReviewResult:
    chunks = tuple(
        dataclasses.replace(c, path=paths[i % len(paths)]) if paths else c
        for i, c in enumerate(result.plan.chunks)
    )
    return dataclasses.replace(result, plan=dataclasses.replace(result.plan, chunks=chunks))


@SETTINGS
@given(
    paths=st.lists(UNTRUSTED.filter(bool), min_size=1, max_size=4),
    title=UNTRUSTED,
    text=UNTRUSTED,
    suggestion=st.one_of(st.none(), UNTRUSTED),
)
@example(paths=["x `@a` y"], title="`", text="`@alice", suggestion="@property")
@example(paths=["a.py"], title="t", text="b", suggestion="x\r<img src=x>\r\n@alice")
@example(paths=["```\n<!-- tiered-review:reviewed x -->"], title="", text="", suggestion=None)
def test_nothing_untrusted_renders_as_a_marker_mention_or_html(
    quiet_result: _Quiet, paths: list[str], title: str, text: str, suggestion: str | None
) -> None:
    result = _with_paths(quiet_result.result, paths)
    result = dataclasses.replace(result, summary=f"{title}\n{text}", notes=(text, title))
    findings = [_finding(p, title, text, suggestion, f"fp{i}") for i, p in enumerate(paths)]
    selection = select(findings, CommentsConfig(max_inline=1), frozenset())
    summary = render_summary(
        result,
        SummaryInputs(
            head_sha=SHAS[1],
            reviewed_shas=SHAS,
            fingerprints=frozenset({"fp0"}),
            selection=selection,
            not_reviewed=tuple(paths),
            scope_note="incremental",
            spent=("2026-11-27 0.010000",),
        ),
    )
    assert read_markers(summary, "summary") == ["v1"]
    assert read_markers(summary, "reviewed") == [",".join(SHAS)]
    assert read_markers(summary, "spent") == ["2026-11-27 0.010000"]
    assert read_markers(summary, "fp") == ["fp0"]
    assert problems(summary) == []
    for finding in findings:
        body = comment_payload(finding)["body"]
        assert read_markers(body, "fp") == [finding.fingerprint]
        assert read_markers(body, "reviewed") == read_markers(body, "spent") == []
        assert problems(body) == []


@SETTINGS
@given(UNTRUSTED)
def test_code_spans_and_prose_never_start_a_marker_line(text: str) -> None:
    for shown in (prose(text), code(text), code(text, in_table=True)):
        assert read_markers(shown, "reviewed") == read_markers(shown, "fp") == []
        assert problems(shown) == []


@SETTINGS
@given(UNTRUSTED)
def test_suggestions_are_kept_byte_for_byte_in_a_block_they_cannot_close(text: str) -> None:
    from markdown_it import MarkdownIt

    block = suggestion_block(text)
    (fence,) = [t for t in MarkdownIt("commonmark").parse(block) if t.type == "fence"]
    assert fence.info == "suggestion"
    # The block holds the text byte for byte; a renderer only normalises line endings and NUL.
    assert (
        block == f"{block.split(chr(10), 1)[0]}\n{text.rstrip(chr(10))}\n{block.split(chr(10))[-1]}"
    )
    shown = (text.rstrip("\n") + "\n").replace("\r\n", "\n").replace("\r", "\n")
    assert fence.content == shown.replace("\x00", "\ufffd")


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("`@a` and @b", "`@a` and @\u200bb"),
        ("unbalanced ` @a", "unbalanced \\` @\u200ba"),
        ("<img src=x>", "&lt;img src=x&gt;"),
        ("a && b", "a &amp;&amp; b"),
    ],
)
def test_prose_examples(text: str, shown: str) -> None:
    assert prose(text) == shown


def test_markers_are_read_only_from_the_leading_block() -> None:
    body = marker("fp", "a") + "\n" + marker("fp", "b") + "\ntext\n" + marker("fp", "c")
    assert read_markers(body, "fp") == ["a", "b"]
    assert read_markers("text\n" + marker("fp", "a"), "fp") == []
