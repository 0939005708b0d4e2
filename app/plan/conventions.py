"""Repository conventions files (AGENTS.md, CLAUDE.md, ...) as part of the instructions block.

Pure: the caller reads the files from the base branch (never the PR's head, which the PR
controls) and passes their texts; this joins them in the configured order under one heading per
file and cuts the whole to a token cap, saying so. The same base commit gives the same bytes,
so the block, which sits before the second cache breakpoint, stays cache-stable across PRs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

CUT_NOTE = "\n[... conventions cut at the token cap]"


def conventions_block(
    files: Sequence[tuple[str, str]], max_tokens: int, count: Callable[[str], int]
) -> tuple[str, bool]:
    """`(block, cut)`: the files' texts under `### path` headings, at most `max_tokens` tokens."""
    parts = [f"### {path}\n{text.strip()}\n" for path, text in files if text.strip()]
    if not parts or max_tokens <= 0:
        return "", False
    text = "## Repository conventions\n" + "\n".join(parts)
    tokens = count(text)
    if tokens <= max_tokens:
        return text, False
    cut = len(text) * max_tokens // tokens
    while cut > 0 and count(text[:cut] + CUT_NOTE) > max_tokens:
        cut = cut * 9 // 10
    return text[:cut] + CUT_NOTE, True


def with_conventions(instructions: str, block: str) -> str:
    """The repository's own instructions followed by the conventions block."""
    if not block:
        return instructions
    return f"{instructions.strip()}\n\n{block}".strip()
