"""Running git for the local commands: an argument list, never a shell, and a clear GitError."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from app.errors import GitError

# Paths as bytes, not C-quoted; `git log` without a root commit's diff (history reads the root
# commit's diff itself).
GIT = ("git", "-c", "core.quotePath=false", "-c", "log.showRoot=false")
TIMEOUT_S = 120


def run_git(args: Sequence[str], cwd: Path) -> bytes:
    """git's standard output for `args` run in `cwd`; GitError naming the command on failure.

    Branch names, refs and paths are data: they go in the argument list, never through a shell.
    """
    try:
        done = subprocess.run(
            [*GIT, *args], cwd=cwd, capture_output=True, check=False, timeout=TIMEOUT_S
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GitError(f"git {args[0]} failed: {exc}") from exc
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(f"git {' '.join(args[:2])} failed: {detail[-1] if detail else 'no output'}")
    return done.stdout
