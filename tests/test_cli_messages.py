"""What a newcomer meets first: `--version`, and one clear line for the common mistakes."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

from tests.test_cli import run


def test_version_prints_the_installed_version() -> None:
    done = run("--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"tiered-review {importlib.metadata.version('tiered-review')}\n"


def test_plan_outside_a_git_repository_says_so(tmp_path: Path) -> None:
    folder = tmp_path / "not-a-repo"
    folder.mkdir()
    done = run("plan", cwd=folder, env={"GIT_CEILING_DIRECTORIES": str(tmp_path)})
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "not a git repository" in done.stderr and "--diff" in done.stderr
    assert "no base branch" not in done.stderr


def test_a_binary_file_given_as_a_diff_gets_one_clear_line(tmp_path: Path) -> None:
    blob = tmp_path / "image.png"
    blob.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    for args, stdin in (([str(blob)], b""), (["-"], blob.read_bytes())):
        done = run("plan", "--diff", *args, stdin=stdin)
        assert done.returncode == 2
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
        assert "binary data" in done.stderr
        assert "\\x" not in done.stderr and "\\udc" not in done.stderr  # no escaped bytes
        assert len(done.stderr) < 200


def test_a_malformed_hunk_line_is_reported_on_one_line() -> None:
    # unidiff quotes the bad line with its newline; the message must still be one line.
    bad = b"--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n-a\nXYZ\n"
    done = run("plan", "--diff", "-", stdin=bad)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1, done.stderr
    assert "malformed diff" in done.stderr and "XYZ" in done.stderr and "line 5" in done.stderr
