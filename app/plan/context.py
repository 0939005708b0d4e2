"""Surrounding code: the enclosing function or class of each changed hunk, from the new file."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from app.plan.diff import Hunk

# A line that opens a definition, in the languages we label (indentation or braces decide its end).
_OPENER = re.compile(
    r"^\s*(?:@\w|(?:export\s+)?(?:default\s+)?(?:pub(?:\([^)]*\))?\s+)?(?:async\s+)?"
    r"(?:def|class|function|func|fn|impl|struct|interface|trait|enum|module|"
    r"(?:public|private|protected|internal|static|final|override)\b))"
)
_INDENTED = frozenset({"py", "pyi", "rb", "yaml", "yml", "coffee", "nim"})
_MAX_SCAN = 400  # lines looked at above a hunk for its opener


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _block(lines: Sequence[str], first: int, indented: bool) -> tuple[int, int] | None:
    """The 0-based [start, end) of the definition enclosing line `first`, if one is found."""
    target = lines[first] if first < len(lines) else ""
    limit = _indent(target) if target.strip() else 10**6
    for start in range(first, max(-1, first - _MAX_SCAN), -1):
        line = lines[start]
        if not line.strip() or not _OPENER.match(line):
            continue
        if indented and _indent(line) >= limit and start != first:
            continue
        end = _block_end(lines, start, indented)
        if end > first:
            return start, end
    return None


def _block_end(lines: Sequence[str], start: int, indented: bool) -> int:
    if indented:
        base = _indent(lines[start])
        end = start + 1
        while end < len(lines) and (not lines[end].strip() or _indent(lines[end]) > base):
            end += 1
        while end > start + 1 and not lines[end - 1].strip():
            end -= 1
        return end
    depth, opened = 0, False
    for end in range(start, len(lines)):
        depth += lines[end].count("{") - lines[end].count("}")
        opened = opened or "{" in lines[end]
        if opened and depth <= 0:
            return end + 1
    return len(lines)


def surrounding_code(
    path: str, content: str, hunks: Sequence[Hunk], cap_tokens: int, count: Callable[[str], int]
) -> str:
    """Enclosing definitions of the hunks, numbered, under `cap_tokens`; empty if none is found."""
    ext = path.rsplit(".", 1)[-1].lower() if "." in path.rsplit("/", 1)[-1] else ""
    lines = content.splitlines()
    spans: list[tuple[int, int]] = []
    for hunk in hunks:
        first = max(0, hunk.target_start - 1)
        span = _block(lines, min(first, len(lines) - 1), ext in _INDENTED) if lines else None
        if span and not any(s <= span[0] and span[1] <= e for s, e in spans):
            spans.append(span)
    if not spans:
        return ""
    out = f"### Surrounding code of {path} (new version, for reference)\n"
    used = count(out)
    for start, end in sorted(spans):
        body = "".join(f"{n + 1:>6}  {lines[n]}\n" for n in range(start, end))
        fence = "`" * max(3, _longest_backticks(body) + 1)
        block = f"{fence}\n{body}{fence}\n"
        tokens = count(block)
        if used + tokens > cap_tokens:
            note = f"[... {end - start} lines of lines {start + 1}-{end} left out: token cap]\n"
            out += note
            used += count(note)
            continue
        out += block
        used += tokens
    return out


def _longest_backticks(text: str) -> int:
    return max((len(m) for m in re.findall(r"`+", text)), default=0)
