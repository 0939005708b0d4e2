"""Whole files at two commits, read from git's object store for the whole-file change facts.

`plan` in a repository, `forecast` and `calibrate --repos` know the commits a change goes from
and to, so the facts can compare the whole files instead of rebuilding them from hunks. One
`git cat-file --batch` process serves every read (a process per file would cost more than the
parse). Only code files in the languages the facts parse are read, at most 1 MB each, as UTF-8;
paths come from the diff and are untrusted: they travel on git's standard input, never through a
shell or as an option, and a path with a line break, a `.`/`..` part or a leading `/` is refused.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from app.errors import GitError
from app.local.checkout import read_sources
from app.local.git import GIT
from app.plan.diff import FileDiff, FileStatus
from app.plan.facts.grammar import language_of

MAX_BYTES = 1_000_000
_MISSING = (b" missing\n", b" ambiguous\n")


def safe_path(path: str) -> bool:
    """Whether a diff's path names a file inside the tree: no line break, `.`, `..` or `/` lead."""
    if not path or any(c in path for c in "\n\r\0") or path.startswith("/"):
        return False
    return all(part not in ("", ".", "..") for part in path.split("/"))


class BlobReader:
    """A running `git cat-file --batch` in one repository (a work tree or a bare git dir)."""

    def __init__(self, repo: Path) -> None:
        try:
            self._proc = subprocess.Popen(
                [*GIT, "cat-file", "--batch"],
                cwd=repo,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        except OSError as exc:
            raise GitError(f"git cat-file failed: {exc}") from exc

    def read(self, rev: str, path: str) -> str | None:
        """The file's UTF-8 text at `rev`, or None (no such file, not a blob, too big, binary)."""
        if not safe_path(path) or not rev or any(c.isspace() for c in rev):
            return None
        proc = self._proc
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(f"{rev}:{path}\n".encode("utf-8", "surrogateescape"))
            proc.stdin.flush()
            header = proc.stdout.readline()
        except OSError as exc:
            raise GitError(f"git cat-file failed: {exc}") from exc
        if header.endswith(_MISSING):
            return None
        parts = header.split()
        if len(parts) != 3 or not parts[2].isdigit():
            raise GitError(f"git cat-file printed unexpected output: {header[:80]!r}")
        size = int(parts[2])
        data = proc.stdout.read(size + 1)[:size]  # the object, then a line break
        if parts[1] != b"blob" or size > MAX_BYTES or b"\0" in data:
            return None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return None

    def close(self) -> None:
        """End git (closing its input ends it)."""
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        if self._proc.stdout is not None:
            self._proc.stdout.close()
        self._proc.wait()

    def __enter__(self) -> BlobReader:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


@dataclass(frozen=True, slots=True)
class Sides:
    """Whole files for the plan: `sources` at the head, `originals` at the base, by diff path."""

    sources: dict[str, str] = field(default_factory=dict)
    originals: dict[str, str] = field(default_factory=dict)


def parsed_code(files: Sequence[FileDiff]) -> list[FileDiff]:
    """The files whose whole sides are worth reading: text, with hunks, in a parsed language."""
    return [f for f in files if not f.is_binary and f.hunks and language_of(f.path) is not None]


def read_sides(
    reader: BlobReader,
    files: Sequence[FileDiff],
    base: str,
    head: str | None,
    worktree: Path | None = None,
) -> Sides:
    """Both whole sides of each parsed code file: the base at `base`, the head at `head` (or,
    with `head` None, from the work tree at `worktree`). A file missing either side is left out,
    so the facts parse its hunks."""
    wanted = parsed_code(files)
    fresh = read_sources(worktree, wanted) if head is None and worktree is not None else {}
    out = Sides()
    for file in wanted:
        if file.status is FileStatus.DELETED:
            new: str | None = ""
        elif head is None:
            new = fresh.get(file.path)
        else:
            new = reader.read(head, file.path)
        if new is None:
            continue
        before = file.old_path or file.path
        old = "" if file.status is FileStatus.ADDED else reader.read(base, before)
        if old is None:
            continue
        if file.status is not FileStatus.DELETED:
            out.sources[file.path] = new
        if file.status is not FileStatus.ADDED:
            out.originals[file.path] = old
    return out


def repository_sides(root: Path, files: Sequence[FileDiff], base: str, head: str | None) -> Sides:
    """`read_sides` with a reader of its own, for one change (`plan` in a repository)."""
    with BlobReader(root) as reader:
        return read_sides(reader, files, base, head, root if head is None else None)
