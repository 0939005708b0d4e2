"""A repository's first-parent history read from git, one change (parent -> commit) at a time.

One `git log -p` stream serves every commit: a subprocess per commit would cost more than the
plan of a small change. Merge commits are diffed against their first parent (what the PR
brought in), squash-merged and direct commits against their parent. Root commits are skipped:
an initial import is not a pull request. git runs with an argument list, never a shell, and
with external diff drivers and textconv filters off, so nothing in the repository is executed.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from app.errors import GitError
from app.local.git import GIT, run_git

# Fields end in NUL: a commit message cannot hold one and git prints a NUL-holding file as
# "Binary files ... differ", so the stream splits on NUL exactly. Six fields a commit.
_FORMAT = "--format=%x00%H%x00%P%x00%cI%x00%s%x00%b%x00"
_FIELDS = 6
_DIFF_OPTIONS = [
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "-M",
    "--src-prefix=a/",
    "--dst-prefix=b/",
]
_READ_SIZE = 1 << 16
_PIPE_SIZE = 1 << 20


@dataclass(frozen=True, slots=True)
class Change:
    """One first-parent commit and the diff it brought, as a PR would show it."""

    commit: str
    parent: str
    subject: str
    body: str
    date: dt.datetime  # the committer date: when the change landed
    diff: bytes


@dataclass(frozen=True, slots=True)
class Window:
    """Which commits: the last `last` first-parent changes and/or those since `since`."""

    last: int | None = None
    since: dt.date | None = None

    def args(self) -> list[str]:
        """The git options that select the window."""
        out = ["--first-parent", "--min-parents=1"]  # roots are not pull requests
        if self.last is not None:
            out.append(f"--max-count={self.last}")
        if self.since is not None:
            out.append(f"--since={self.since.isoformat()}T00:00:00")
        return out

    def describe(self) -> str:
        """The window in words, for errors."""
        parts = [f"the last {self.last}"] if self.last is not None else []
        if self.since is not None:
            parts.append(f"since {self.since.isoformat()}")
        return " ".join(parts) or "all"


def repository_root(path: Path) -> Path:
    """The top folder of the git repository at `path`, with a clear error if there is none."""
    if not path.is_dir():
        raise GitError(f"{path}: no such folder")
    try:
        top = run_git(["rev-parse", "--show-toplevel"], path).decode("utf-8", "surrogateescape")
    except GitError as exc:
        raise GitError(f"{path} is not a git repository") from exc
    root = Path(top.strip())
    try:
        run_git(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], root)
    except GitError as exc:
        raise GitError(f"{path}: the repository has no commits yet") from exc
    return root


def head_file(repo: Path, path: str) -> str | None:
    """A file's text at HEAD (not the work tree), or None when HEAD has no such file."""
    try:
        run_git(["cat-file", "-e", f"HEAD:{path}"], repo)
    except GitError:
        return None
    return run_git(["cat-file", "blob", f"HEAD:{path}"], repo).decode("utf-8", "replace")


def count_changes(repo: Path, window: Window) -> int:
    """How many changes `changes` will yield (for a progress bar), without reading diffs."""
    out = run_git(["rev-list", "--count", *window.args(), "HEAD", "--"], repo)
    return int(out.decode().strip())


def changes(repo: Path, window: Window) -> Iterator[Change]:
    """Every change in the window, newest first, streamed from one `git log -p`."""
    args = [
        *GIT,
        "log",
        "-p",
        "--diff-merges=first-parent",
        "--no-show-signature",
        *_DIFF_OPTIONS,
        _FORMAT,
        *window.args(),
        "HEAD",
        "--",
    ]
    # stderr goes to a file: a pipe nobody reads while stdout streams could fill and stall git.
    with tempfile.TemporaryFile() as errors:
        try:
            proc = subprocess.Popen(
                args, cwd=repo, stdout=subprocess.PIPE, stderr=errors, stdin=subprocess.DEVNULL
            )
        except OSError as exc:
            raise GitError(f"git log failed: {exc}") from exc
        assert proc.stdout is not None
        _grow_pipe(proc.stdout)
        try:
            yield from _parse(_read(proc.stdout))
        finally:
            proc.stdout.close()
            code = proc.wait()
        if code != 0:
            errors.seek(0)
            detail = errors.read().decode("utf-8", "replace").strip().splitlines()
            raise GitError(f"git log failed: {detail[-1] if detail else f'exit {code}'}")


def _grow_pipe(stream: IO[bytes]) -> None:
    """Let git run up to 1 MiB ahead of the planner instead of 64 KiB (Linux only)."""
    grow = getattr(fcntl, "F_SETPIPE_SZ", None)
    if grow is None:
        return
    try:
        fcntl.fcntl(stream.fileno(), grow, _PIPE_SIZE)
    except OSError:  # above /proc/sys/fs/pipe-max-size: keep the default
        pass


def _read(stream: IO[bytes]) -> Iterator[bytes]:
    """The stream's NUL-separated fields (a field spanning many blocks is joined once)."""
    pending: list[bytes] = []
    while block := stream.read(_READ_SIZE):
        if b"\0" not in block:
            pending.append(block)
            continue
        pieces = block.split(b"\0")
        pending.append(pieces[0])
        yield b"".join(pending)
        yield from pieces[1:-1]
        pending = [pieces[-1]]
    yield b"".join(pending)


def _parse(fields: Iterator[bytes]) -> Iterator[Change]:
    """Group fields six by six into changes; the first field (before any record) is empty."""
    lead = next(fields, b"")
    if lead.strip():
        raise GitError(f"git log printed unexpected output: {lead[:80]!r}")
    record: list[bytes] = []
    for field in fields:
        record.append(field)
        if len(record) == _FIELDS:
            yield _change(record)
            record = []
    if record:
        raise GitError("git log output ended inside a commit record")


def _change(record: list[bytes]) -> Change:
    commit, parents, date, subject, body, tail = record
    text = [f.decode("utf-8", "replace") for f in (commit, parents, date, subject, body)]
    return Change(
        commit=text[0],
        parent=text[1].split()[0],
        subject=text[3],
        body=text[4].strip(),
        date=dt.datetime.fromisoformat(text[2]),
        diff=tail.lstrip(b"\n"),
    )


def commit_diff(repo: Path, parent: str, commit: str) -> bytes:
    """`git diff parent commit` with the stream's options: what one change's PR diff is."""
    return run_git(["diff", *_DIFF_OPTIONS, parent, commit, "--"], repo)
