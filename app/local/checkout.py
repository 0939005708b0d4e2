"""The local checkout at the edge: new file contents for surrounding code, when the diff is ours."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from app.plan.diff import FileDiff, FileStatus

_MAX_BYTES = 1_000_000


def _matches(lines: list[str], file: FileDiff) -> bool:
    """Whether the file's new lines agree with the first hunk (the diff was made here)."""
    hunk = file.hunks[0]
    new = [
        ln for kind, ln in zip(hunk.kinds, hunk.text.split("\n")[1:], strict=False) if kind in "+ "
    ]
    start = hunk.target_start - 1
    window = lines[start : start + len(new)]
    return [ln[1:] for ln in new] == window


def read_sources(root: Path, files: Sequence[FileDiff]) -> dict[str, str]:
    """path -> content for changed files whose checkout matches the diff (never outside root)."""
    out: dict[str, str] = {}
    base = root.resolve()
    for file in files:
        if file.status is FileStatus.DELETED or file.is_binary or not file.hunks:
            continue
        path = (base / file.path).resolve()
        if not path.is_relative_to(base) or not path.is_file():
            continue  # a diff may name ../ paths: never read outside the checkout
        if path.stat().st_size > _MAX_BYTES:
            continue
        try:
            text = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if _matches(text.splitlines(), file):
            out[file.path] = text
    return out
