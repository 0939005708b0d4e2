"""Content patterns compiled with RE2: linear time, so no diff or config can stall the planner.

Python's `re` backtracks and tries every alternative at every position; RE2 runs a DFA, which
scans a 300 KB diff for dozens of alternatives in well under a millisecond. RE2 syntax has no
lookaround or backreferences; config patterns are validated against it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import re2  # type: ignore[import-untyped]

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False


class PatternError(ValueError):
    """A pattern is not valid RE2 syntax."""


@dataclass(frozen=True, slots=True)
class Patterns:
    """Several patterns as one alternation, matched across a multi-line text."""

    _regex: Any  # re2._Regexp; the binding ships no type information

    def first(self, text: str | bytes) -> str | None:
        """The first match in `text`, stripped and cut for use in a reason, or None."""
        data = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text
        match = self._regex.search(data)  # what first_code(text, ()) finds, without its loop
        return None if match is None else _shown(match.group(0))

    def first_code(self, text: str | bytes, comment_markers: tuple[str, ...]) -> str | None:
        """Like `first`, passing over matches on lines that are comments.

        Give bytes (UTF-8) for long texts: RE2 then reports byte offsets as they are, instead of
        converting each one back to a character offset.
        """
        data = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text
        markers = tuple(m.encode() for m in comment_markers)
        for match in self._regex.finditer(data):
            start = data.rfind(b"\n", 0, match.start()) + 1
            if markers and data[start : match.start() + 1].lstrip().startswith(markers):
                continue
            return _shown(match.group(0))
        return None

    def each_line(self, lines: Sequence[str]) -> bool:
        """Whether every line matches somewhere."""
        return all(self._regex.search(line) is not None for line in lines)


def _shown(found: object) -> str:
    """A match as a reason shows it: stripped, cut to 40 bytes."""
    return cast(bytes, found).strip()[:40].decode("utf-8", "replace")


def compile_patterns(patterns: Sequence[str]) -> Patterns:
    """Compile patterns into one multi-line alternation; raises PatternError naming a bad one."""
    for pattern in patterns:
        check_pattern(pattern)
    body = "|".join(f"(?:{p})" for p in patterns) or "[^\\s\\S]"
    return Patterns(re2.compile("(?m)" + body, _OPTIONS))


def check_pattern(pattern: str) -> None:
    """Raise PatternError unless `pattern` is valid RE2."""
    try:
        re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        detail = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        raise PatternError(
            f"bad pattern {pattern!r} (RE2 syntax: no lookaround): {detail}"
        ) from exc
