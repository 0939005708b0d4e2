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

    def first(self, text: str) -> str | None:
        """The first match in `text`, stripped and cut for use in a reason, or None."""
        match = self._regex.search(text)
        if match is None:
            return None
        return cast(str, match.group(0)).strip()[:40]

    def each_line(self, lines: Sequence[str]) -> bool:
        """Whether every line matches somewhere."""
        return all(self._regex.search(line) is not None for line in lines)

    def named(self, text: str, group: str) -> list[tuple[str, str]]:
        """(group value, whole matched line) for each match; multi-line mode."""
        out: list[tuple[str, str]] = []
        for match in self._regex.finditer(text):
            value = match.group(group)
            if value:
                end = text.find("\n", match.end())
                line = text[match.start() : end if end >= 0 else len(text)]
                out.append((cast(str, value), line.strip()))
        return out


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
