"""Local diffs from git: the current branch against its merge base with the default branch."""

from __future__ import annotations

import subprocess
from pathlib import Path

from app.errors import GitError


def _git(args: list[str], cwd: Path) -> bytes:
    # An argument list, never a shell: branch names and paths are data.
    try:
        done = subprocess.run(
            ["git", "-c", "core.quotePath=false", *args],
            cwd=cwd,
            capture_output=True,
            check=False,
            timeout=120,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GitError(f"git {args[0]} failed: {exc}") from exc
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(f"git {' '.join(args[:2])} failed: {detail[-1] if detail else 'no output'}")
    return done.stdout


def default_base(cwd: Path) -> str:
    """`origin/HEAD`, else `main`, else `master`."""
    for ref in ("origin/HEAD", "main", "master"):
        try:
            _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], cwd)
            return ref
        except GitError:
            continue
    raise GitError("no base branch: none of origin/HEAD, main or master exists; pass --base REF")


def local_diff(cwd: Path, base: str | None, worktree: bool) -> bytes:
    """The branch's changes since its merge base with `base` (plus uncommitted ones)."""
    ref = base or default_base(cwd)
    merge_base = _git(["merge-base", ref, "HEAD"], cwd).decode().strip()
    args = ["diff", "--no-color", "--no-ext-diff", "-M", merge_base]
    if not worktree:
        args.append("HEAD")
    return _git(args, cwd)


def repository_name(cwd: Path) -> str:
    """`owner/repo` from the origin remote, else the folder's name: the CLI's cache tenant."""
    try:
        url = _git(["remote", "get-url", "origin"], cwd).decode().strip()
    except GitError:
        return cwd.resolve().name
    tail = url.rstrip("/").removesuffix(".git").replace(":", "/").split("/")
    return "/".join(tail[-2:]) if len(tail) >= 2 else cwd.resolve().name
