"""Path globs: `**` spans folders, `*` and `?` stay inside one; compiled once into one regex."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass


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


@dataclass(frozen=True, slots=True)
class GlobSet:
    """Several globs matched together; an empty set matches nothing."""

    globs: tuple[str, ...]
    _regex: re.Pattern[str] | None

    def match(self, path: str) -> bool:
        """Whether any glob matches the whole path."""
        return self._regex is not None and self._regex.fullmatch(path) is not None

    def first(self, path: str) -> str | None:
        """The first glob (in order) that matches, for explanations."""
        if not self.match(path):
            return None
        for glob in self.globs:
            if re.fullmatch(glob_to_regex(glob), path):
                return glob
        return None  # pragma: no cover - the combined regex matched, so one glob does


def compile_globs(globs: Iterable[str]) -> GlobSet:
    """Compile globs into one alternation."""
    items = tuple(globs)
    if not items:
        return GlobSet((), None)
    return GlobSet(items, re.compile("|".join(f"(?:{glob_to_regex(g)})" for g in items)))
