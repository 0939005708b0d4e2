"""Local diffs from git: the current branch against its merge base with the default branch."""

from __future__ import annotations

from pathlib import Path

from app.errors import GitError
from app.local.git import run_git


def require_repository(cwd: Path) -> None:
    """Raise `GitError` saying so when `cwd` is not inside a git work tree."""
    try:
        inside = run_git(["rev-parse", "--is-inside-work-tree"], cwd).decode().strip()
    except GitError:
        inside = "false"
    if inside != "true":
        raise GitError(
            f"not a git repository: {cwd} (run it inside one, or pass --diff PATH|- to plan a "
            "diff file)"
        )


def default_base(cwd: Path) -> str:
    """`origin/HEAD`, else `main`, else `master`."""
    for ref in ("origin/HEAD", "main", "master"):
        try:
            run_git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], cwd)
            return ref
        except GitError:
            continue
    raise GitError("no base branch: none of origin/HEAD, main or master exists; pass --base REF")


def local_diff(cwd: Path, base: str | None, worktree: bool) -> bytes:
    """The branch's changes since its merge base with `base` (plus uncommitted ones)."""
    return local_change(cwd, base, worktree)[0]


def local_change(cwd: Path, base: str | None, worktree: bool) -> tuple[bytes, str]:
    """`local_diff` and the merge base it starts from (the commit of the files' old side)."""
    require_repository(cwd)
    ref = base or default_base(cwd)
    merge_base = run_git(["merge-base", ref, "HEAD"], cwd).decode().strip()
    args = ["diff", "--no-color", "--no-ext-diff", "-M", merge_base]
    if not worktree:
        args.append("HEAD")
    return run_git(args, cwd), merge_base


def repository_top(cwd: Path) -> Path:
    """The work tree's top folder: the diff's paths are relative to it."""
    top = run_git(["rev-parse", "--show-toplevel"], cwd).decode("utf-8", "surrogateescape")
    return Path(top.strip())


def repository_name(cwd: Path) -> str:
    """`owner/repo` from the origin remote, else the folder's name: the CLI's cache tenant."""
    try:
        url = run_git(["remote", "get-url", "origin"], cwd).decode().strip()
    except GitError:
        return cwd.resolve().name
    tail = url.rstrip("/").removesuffix(".git").replace(":", "/").split("/")
    return "/".join(tail[-2:]) if len(tail) >= 2 else cwd.resolve().name
