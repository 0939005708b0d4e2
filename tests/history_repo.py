"""A git repository with a constructed first-parent history, for the forecast tests.

root      2026-01-05  the initial import (a root commit: not a PR)
docs      2026-01-20  README only                           -> trivial, small tier
tests     2026-02-03  a test file only                      -> routine, small tier
security  2026-02-15  hmac in src/app/auth.py               -> architectural, frontier
refactor  2026-04-01  four packages reworked (none in March) -> middle + cross-cutting
merge     2026-04-10  "Merge pull request #7" of a branch adding docs/guide.md
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

PACKAGES = ("alpha", "beta", "gamma", "delta")
MERGE_TITLE = "Add the user guide"


def git(repo: Path, *args: str, date: str = "2026-01-05T12:00:00+00:00") -> str:
    """git in `repo` with a fixed identity and date, and no user or system config."""
    env = {
        **os.environ,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
        "GIT_AUTHOR_DATE": date,
        "GIT_COMMITTER_DATE": date,
    }
    done = subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, check=True, timeout=60
    )
    return done.stdout.decode("utf-8", "surrogateescape").strip()


def write(repo: Path, files: dict[str, str]) -> None:
    """Write files under `repo`, creating folders."""
    for name, text in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def commit(repo: Path, message: str, date: str, files: dict[str, str]) -> str:
    """Write `files`, commit everything at `date`, return the commit id."""
    write(repo, files)
    git(repo, "add", "-A", date=date)
    git(repo, "commit", "-q", "-m", message, date=date)
    return git(repo, "rev-parse", "HEAD")


def _module(name: str, functions: int, variant: str = "") -> str:
    return "".join(
        f"def {name}_{i}(value):\n    total = value * {i}{variant}\n    return total + {i}\n\n"
        for i in range(functions)
    )


def build_history(repo: Path) -> dict[str, str]:
    """Make the history above in `repo` (an empty folder); return commit ids by name."""
    repo.mkdir(parents=True, exist_ok=True)
    git(repo, "init", "-q", "-b", "main")
    ids: dict[str, str] = {}
    ids["root"] = commit(
        repo,
        "Initial import",
        "2026-01-05T12:00:00+00:00",
        {
            "README.md": "# Demo\n\nA demo project.\n",
            "src/app/auth.py": "def check(token, expected):\n    return token == expected\n",
            "tests/test_core.py": "def test_one():\n    assert 1 == 1\n",
            **{f"src/{p}/core.py": _module(p, 12) for p in PACKAGES},
        },
    )
    ids["docs"] = commit(
        repo,
        "Document the demo",
        "2026-01-20T12:00:00+00:00",
        {"README.md": "# Demo\n\nA demo project.\n\n## Usage\n\nRun it.\n"},
    )
    ids["tests"] = commit(
        repo,
        "Test more",
        "2026-02-03T12:00:00+00:00",
        {
            "tests/test_core.py": "def test_one():\n    assert 1 == 1\n\n\ndef test_two():\n"
            "    assert 2 == 2\n"
        },
    )
    ids["security"] = commit(
        repo,
        "Compare tokens in constant time",
        "2026-02-15T12:00:00+00:00",
        {
            "src/app/auth.py": "import hmac\n\n\ndef check(token, expected):\n"
            "    return hmac.compare_digest(token, expected)\n"
        },
    )
    ids["refactor"] = commit(
        repo,
        "Rework every package",
        "2026-04-01T12:00:00+00:00",
        {f"src/{p}/core.py": _module(p, 12, " - 1") for p in PACKAGES},
    )
    git(repo, "checkout", "-q", "-b", "feature", date="2026-04-05T12:00:00+00:00")
    ids["feature"] = commit(
        repo,
        "Write the guide",
        "2026-04-05T12:00:00+00:00",
        {"docs/guide.md": "# Guide\n\nStep one.\n"},
    )
    git(repo, "checkout", "-q", "main", date="2026-04-10T12:00:00+00:00")
    git(
        repo,
        "merge",
        "-q",
        "--no-ff",
        "-m",
        f"Merge pull request #7 from me/feature\n\n{MERGE_TITLE}",
        "feature",
        date="2026-04-10T12:00:00+00:00",
    )
    ids["merge"] = git(repo, "rev-parse", "HEAD")
    return ids
