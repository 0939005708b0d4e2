"""Path globs: `**` spans folders, `*` and `?` stay inside one; compiled once into one regex.

The regex runs on RE2, as content patterns do (`patterns.py`): Python's `re` backtracks, and a
glob such as `********************x` from a repository's config took seconds per path there.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import re2  # type: ignore[import-untyped]

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False
_SURROGATE = re.compile("[\udc80-\udcff]")


class GlobError(ValueError):
    """A glob (or a list of them) that does not compile."""


def glob_to_regex(glob: str) -> str:
    """Translate one glob into a regex body that must match a whole repository-relative path."""
    out: list[str] = []
    i, n = 0, len(glob)
    while i < n:
        c = glob[i]
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            end = glob.find("]", i + 1)
            if end == -1:
                out.append(re.escape(c))
                i += 1
            else:
                body = glob[i + 1 : end].replace("\\", "\\\\")
                out.append("[^" + body[1:] + "]" if body.startswith("!") else "[" + body + "]")
                i = end + 1
        else:
            out.append(re.escape(c))
            i += 1
    return "".join(out)


def _text(path: str) -> str:
    # RE2 reads UTF-8: a byte that was not UTF-8 (kept as a surrogate) matches as U+FFFD.
    return path if path.isascii() else _SURROGATE.sub("\ufffd", path)


@dataclass(frozen=True, slots=True)
class GlobSet:
    """Several globs matched together; an empty set matches nothing."""

    globs: tuple[str, ...]
    _regex: Any  # re2._Regexp; the binding ships no type information

    def match(self, path: str) -> bool:
        """Whether any glob matches the whole path."""
        # RE2 matches UTF-8 bytes either way; given bytes, the binding skips mapping its byte
        # offsets back to character offsets, which costs more than the match itself.
        return (
            self._regex is not None
            and self._regex.fullmatch(_text(path).encode("utf-8")) is not None
        )

    def first(self, path: str) -> str | None:
        """The first glob (in order) that matches, for explanations."""
        if not self.match(path):
            return None
        for glob in self.globs:
            if _compile([glob]).fullmatch(_text(path)):
                return glob
        return None  # pragma: no cover - the combined regex matched, so one glob does


def _compile(globs: tuple[str, ...] | list[str]) -> Any:
    return _compiled(tuple(globs))


@functools.lru_cache(maxsize=4096)
def _compiled(globs: tuple[str, ...]) -> Any:
    # Every job validates and compiles the same default globs again: compile each set once. RE2
    # patterns are immutable and safe to share between threads.
    try:
        return re2.compile("|".join(f"(?:{glob_to_regex(g)})" for g in globs), _OPTIONS)
    except re2.error as exc:
        detail = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        shown = repr(globs[0])[:80] if len(globs) == 1 else f"{len(globs)} globs"
        raise GlobError(f"bad glob {shown}: {detail}") from exc


def check_globs(globs: list[str]) -> None:
    """Raise GlobError unless every glob, and all of them together, compile."""
    for glob in globs:
        _compile([glob])
    if globs:
        _compile(globs)


def compile_globs(globs: Iterable[str]) -> GlobSet:
    """Compile globs into one alternation; GlobError names a bad one."""
    items = tuple(globs)
    if not items:
        return GlobSet((), None)
    return GlobSet(items, _compile(items))
