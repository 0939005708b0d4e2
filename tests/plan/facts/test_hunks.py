"""The text-level helpers the facts read before any parse: moves and squashed lines."""

from __future__ import annotations

from app.plan.diff import parse_diff
from app.plan.facts.hunks import _squash, _squash_each, lines_moved

from .helpers import file_diff

# Lines with everything squashing touches: whitespace, both quotes, a comma before a closing
# bracket, a trailing comma, parentheses, a line continuation, a non-UTF-8 byte, a NUL.
TRICKY = [
    "",
    "   ",
    "call(a, b,)",
    "x = {'k': 1,}",
    'name = "value",',
    "(,)",
    "a,,",
    "total = a + \\",
    "bad = '\udcff'",
    "nul\x00 = 1,",
    "[1, 2, ]",
]


def test_each_line_squashes_as_it_would_alone() -> None:
    alone = [_squash([line]).rstrip(b",") for line in TRICKY]
    assert _squash_each(TRICKY) == alone
    assert _squash_each(TRICKY[:-2]) == alone[:-2]  # without the NUL: the joined pass
    assert _squash_each([]) == []
    assert alone[2] == b"calla,b"  # the comma before ")" and the parentheses are gone


def test_reordered_lines_that_differ_in_quotes_and_commas_are_a_move() -> None:
    old = "A = call('a', 1,)\nB = {'b': 2}\nC = [3, 4]\nD = 4\n"
    new = 'D = 4\nC = [3,4]\nB = {"b": 2}\nA = call("a", 1)\n'
    hunks = parse_diff(file_diff("src/mod.py", old, new))[0].hunks
    assert lines_moved(hunks) == 3  # the 3 lines removed come back, reordered and requoted


def test_added_lines_alone_are_no_move() -> None:
    hunks = parse_diff(file_diff("src/mod.py", "a = 1\n", "a = 1\nb = 2\nc = 3\nd = 4\n"))[0].hunks
    assert lines_moved(hunks) == 0
