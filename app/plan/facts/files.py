"""Change facts from the whole files before and after, when both are at hand.

A local repository (`plan`, `forecast`, `calibrate --repos`) has the file at the base and at the
head, so nothing needs rebuilding from hunks: each side is parsed whole, the changed rows are
placed exactly from the hunks' line numbers, and the facts read complete trees. Definitions have
their whole headers (no cut-off parameter list to repair), strings and comments are blanked by
the parser (no docstring guesses), a package counts as imported anew only if no import of it
existed anywhere in the old file, the enclosing definitions of the changed rows are exact, and a
formatter run is a whole-file token stream unchanged.

The contents are trusted only as far as they agree with the diff: every hunk's old lines must be
the old file's lines at its source start, and its new lines the new file's at its target start.
Otherwise `whole_files` (and `compare_files`) return None and the caller parses the hunks as for a
bare diff.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from app.plan.diff import Hunk
from app.plan.facts.syntax import FileSyntax, side_view

Rows = frozenset[int]


def _at(lines: Sequence[str], row: int, text: str) -> bool:
    return 0 <= row < len(lines) and lines[row] == text


def changed_rows(
    hunks: Sequence[Hunk], old_lines: Sequence[str], new_lines: Sequence[str]
) -> tuple[Rows, Rows] | None:
    """The 0-based rows the hunks remove from the old file and add to the new, or None if any
    hunk line disagrees with the files."""
    old_rows: set[int] = set()
    new_rows: set[int] = set()
    for hunk in hunks:
        old_at, new_at = hunk.source_start - 1, hunk.target_start - 1
        for kind, line in zip(hunk.kinds, hunk.text.split("\n")[1:], strict=False):
            body = line[1:]
            if kind in " -":
                if not _at(old_lines, old_at, body):
                    return None
                if kind == "-":
                    old_rows.add(old_at)
                old_at += 1
            if kind in " +":
                if not _at(new_lines, new_at, body):
                    return None
                if kind == "+":
                    new_rows.add(new_at)
                new_at += 1
    return frozenset(old_rows), frozenset(new_rows)


def whole_files(
    language: str, hunks: Sequence[Hunk], old_text: str, new_text: str
) -> Callable[[], FileSyntax] | None:
    """What parses both whole files with the hunks' changed rows, or None when they disagree.

    The agreement is checked now (line by line, cheap); the parse waits until it is called, so a
    change the hunks' text already shows as mechanical never pays for parsing two whole files.
    `old_text` is "" for an added file and `new_text` "" for a deleted one.
    """
    rows = changed_rows(hunks, old_text.split("\n"), new_text.split("\n"))
    if rows is None or not hunks:
        return None
    old_rows, new_rows = rows

    def parse() -> FileSyntax:
        old = old_text.encode("utf-8", "surrogateescape")
        new = new_text.encode("utf-8", "surrogateescape")
        return FileSyntax(
            language, side_view(language, old, old_rows), side_view(language, new, new_rows)
        )

    return parse


def compare_files(
    language: str, hunks: Sequence[Hunk], old_text: str, new_text: str
) -> FileSyntax | None:
    """Both whole files parsed, with the hunks' changed rows; None when they disagree."""
    parse = whole_files(language, hunks, old_text, new_text)
    return None if parse is None else parse()
