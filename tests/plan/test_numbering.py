"""The numbered hunk format: every anchor in a real multi-hunk diff names the right line."""

from __future__ import annotations

import re

import pytest
from unidiff import PatchSet

from app.plan.diff import parse_diff
from app.plan.numbering import number_lines
from tests.conftest import ROOT
from tests.history_repo import git

_ANCHOR = re.compile(r"^([LR])(\d+) ([-+ ])(.*)$")
OLD = [f"line {i}: value = {i * 7}" for i in range(1, 121)]


def _new() -> list[str]:
    new = list(OLD)
    new[4] = "line 5: value = changed"  # a replaced line near the top
    del new[30:33]  # three removed lines
    new[60:60] = ["added a", "added b"]  # two added lines further down
    new[95] = "    indented = True"
    return new + ["last line, no newline"]


@pytest.fixture(scope="module")
def real_diff(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[str], list[str]]:
    """A multi-hunk diff that git itself wrote, and the two versions of the file."""
    repo = tmp_path_factory.mktemp("numbering")
    git(repo, "init", "-q")
    path = repo / "src" / "values.py"
    path.parent.mkdir()
    path.write_text("\n".join(OLD) + "\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "old")
    new = _new()
    path.write_text("\n".join(new))  # the last line has no newline
    diff = git(repo, "diff", "--no-color", "-U2")
    return diff, OLD, new


def _anchored(text: str) -> list[tuple[str, int, str, str]]:
    return [
        (m.group(1), int(m.group(2)), m.group(3), m.group(4))
        for m in map(_ANCHOR.match, text.splitlines())
        if m is not None
    ]


def test_every_anchor_of_a_git_diff_names_its_line(
    real_diff: tuple[str, list[str], list[str]],
) -> None:
    diff, old, new = real_diff
    (file,) = parse_diff(diff)
    assert len(file.hunks) >= 4  # a real multi-hunk diff
    seen = 0
    for hunk in file.hunks:
        lines = _anchored(hunk.numbered)
        body = [ln for ln in hunk.text.splitlines()[1:] if not ln.startswith("\\")]
        assert len(lines) == len(body)  # every line of the hunk is numbered, none invented
        for side, number, marker, code in lines:
            source = old if side == "L" else new
            assert source[number - 1] == code, (side, number)
            assert (side == "L") == (marker == "-")
            seen += 1
    assert seen == sum(1 for k in "".join(h.kinds for h in file.hunks) if k in "+- ")
    last = file.hunks[-1].numbered.splitlines()
    assert last[-1] == "\\ No newline at end of file"  # shown, but not numbered


def test_the_anchors_agree_with_unidiff_on_every_bundled_case() -> None:
    cases = sorted((ROOT / "app" / "data" / "evals").glob("*/change.diff"))
    assert len(cases) >= 30
    checked = 0
    for path in cases:
        text = path.read_text()
        files = {f.path: f for f in parse_diff(text)}
        for patched in PatchSet(text):
            name = patched.path
            if name not in files:
                continue
            for hunk, ours in zip(patched, files[name].hunks, strict=True):
                expected = [
                    ("L", ln.source_line_no, ln.value.rstrip("\r\n"))
                    if ln.is_removed
                    else ("R", ln.target_line_no, ln.value.rstrip("\r\n"))
                    for ln in hunk
                    if ln.line_type in "+- "
                ]
                got = [(s, n, code) for s, n, _, code in _anchored(ours.numbered)]
                assert got == expected, f"{path.parent.name}: {name}"
                checked += len(got)
    assert checked > 1000


def test_the_documented_example_is_what_the_code_renders() -> None:
    doc = (ROOT / "docs" / "prompt-format.md").read_text()
    example = doc.split("```text\n", 1)[1].split("```", 1)[0]
    header, *lines = example.rstrip("\n").split("\n")
    unified = [ln.split(" ", 1)[1] for ln in lines]
    kinds = "".join(u[0] for u in unified)
    m = re.match(r"@@ -(\d+),\d+ \+(\d+),\d+ @@", header)
    assert m is not None
    assert number_lines(header, kinds, unified, int(m.group(1)), int(m.group(2))) == example
    assert example in (ROOT / "prompts" / "review.md").read_text()


def test_the_prompts_carry_no_unnumbered_hunk() -> None:
    for name in ("review.md", "cross_cutting.md"):
        text = (ROOT / "prompts" / name).read_text()
        in_hunk = False
        for line in text.splitlines():
            if line.startswith("@@ "):
                in_hunk = True
            elif in_hunk and line.startswith("```"):
                in_hunk = False
            elif (
                in_hunk
                and not line.startswith("diff --git")
                and not line.startswith(("---", "+++"))
            ):
                assert _ANCHOR.match(line), f"{name}: {line!r}"
