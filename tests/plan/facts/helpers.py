"""Build one file's diff from before/after text and read its facts."""

from __future__ import annotations

import difflib
import re

from app.plan.diff import parse_diff
from app.plan.facts.facts import code_facts, compile_apis, manifest_facts
from app.plan.facts.grammar import language_of
from app.resources import default_config_data

APIS = compile_apis(default_config_data()["difficulty"]["model"]["apis"])


_HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+\d+(?:,\d+)? @@$")
_FUNCNAME = re.compile(r"^[A-Za-z_$]")  # git's default section-header rule


def file_diff(path: str, old: str, new: str, context: int = 3) -> str:
    """A `git diff`-style text of one file, with git's default section headers."""
    before = old.splitlines(keepends=True)
    lines = list(
        difflib.unified_diff(
            before, new.splitlines(keepends=True), f"a/{path}", f"b/{path}", n=context
        )
    )
    for i, line in enumerate(lines):
        match = _HUNK.match(line.rstrip("\n"))
        if match:
            start = int(match.group(1)) - 1
            heading = next(
                (b.rstrip("\n") for b in reversed(before[:start]) if _FUNCNAME.match(b)), ""
            )
            lines[i] = line.rstrip("\n") + (f" {heading}" if heading else "") + "\n"
    return f"diff --git a/{path} b/{path}\n" + "".join(lines)


def facts(path: str, old: str, new: str) -> dict[str, str]:
    """The facts of a code file's change: id -> reason."""
    (file,) = parse_diff(file_diff(path, old, new))
    language = language_of(path)
    assert language is not None
    return dict(code_facts(path, language, file.hunks, APIS))


def deps(path: str, old: str, new: str) -> dict[str, str]:
    """The dependency facts of a manifest's change."""
    (file,) = parse_diff(file_diff(path, old, new))
    return dict(manifest_facts(path, file.hunks))
