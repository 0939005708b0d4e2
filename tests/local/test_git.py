"""The one way the local commands run git: an argument list, and a GitError naming the command."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from app.errors import GitError
from app.local.git import run_git


def test_git_output_comes_back_as_bytes(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    top = run_git(["rev-parse", "--show-toplevel"], tmp_path)
    assert Path(top.decode().strip()).resolve() == tmp_path.resolve()


def test_a_failed_command_is_a_git_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(GitError, match=r"^git rev-parse --show-toplevel failed: .*not a git"):
        run_git(["rev-parse", "--show-toplevel"], tmp_path)


def test_an_argument_is_data_never_a_shell_word(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    marker = tmp_path / "pwned"
    with pytest.raises(GitError):
        run_git(["rev-parse", "--verify", f"main; touch {marker}"], tmp_path)
    assert not marker.exists()
