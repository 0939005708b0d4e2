"""Diff parsing over diffs made by real git: renames, binaries, deletions, no newline, non-ASCII."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.errors import DiffError
from app.plan.diff import FileStatus, Side, decode_diff, parse_diff
from tests.conftest import git


def _commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


def _diff(repo: Path, *extra: str) -> str:
    out = git(repo, "diff", "--no-color", "-M", "HEAD~1", "HEAD", *extra)
    return out


def test_rename_binary_deletion_no_newline_and_non_ascii(repo: Path) -> None:
    (repo / "old_name.py").write_text("".join(f"line {i}\n" for i in range(20)))
    (repo / "logo.png").write_bytes(b"\x89PNG\x00\x01\x02")
    (repo / "gone.txt").write_text("a\nb\n")
    (repo / "plain.txt").write_text("x\n")
    _commit_all(repo, "base")
    git(repo, "mv", "old_name.py", "new_name.py")
    (repo / "logo.png").write_bytes(b"\x89PNG\x00\x09\x09")
    (repo / "gone.txt").unlink()
    (repo / "plain.txt").write_text("x\ny")  # no newline at end
    (repo / "café.py").write_text("x = 1\n")
    _commit_all(repo, "change")

    for quote in ("true", "false"):
        git(repo, "config", "core.quotePath", quote)
        files = {f.path: f for f in parse_diff(_diff(repo))}
        assert set(files) == {"café.py", "gone.txt", "logo.png", "new_name.py", "plain.txt"}
        assert files["new_name.py"].status is FileStatus.RENAMED
        assert files["new_name.py"].old_path == "old_name.py"
        assert files["new_name.py"].hunks == ()
        assert files["logo.png"].is_binary
        assert files["gone.txt"].status is FileStatus.DELETED
        assert [a.side for a in files["gone.txt"].hunks[0].anchors("gone.txt")] == [Side.LEFT] * 2
        assert files["café.py"].status is FileStatus.ADDED
        plain = files["plain.txt"].hunks[0]
        assert "\\ No newline at end of file" in plain.text
        assert [line.rstrip("\n") for line in plain.added_lines] == ["y"]
        # the "\" marker line is not an anchor; "y" is new line 2 on the right
        anchors = plain.anchors("plain.txt")
        assert [(a.line, a.side) for a in anchors] == [(1, Side.RIGHT), (2, Side.RIGHT)]


def test_anchors_follow_hunk_arithmetic() -> None:
    text = (
        "diff --git a/m.py b/m.py\n--- a/m.py\n+++ b/m.py\n"
        "@@ -10,4 +10,5 @@ def f():\n a\n-b\n+B\n+C\n c\n d\n"
    )
    (file,) = parse_diff(text)
    got = [(a.line, a.side.value) for a in file.hunks[0].anchors("m.py")]
    assert got == [
        (10, "RIGHT"),
        (11, "LEFT"),
        (11, "RIGHT"),
        (12, "RIGHT"),
        (13, "RIGHT"),
        (14, "RIGHT"),
    ]


def test_non_utf8_bytes_mark_the_file_undecodable() -> None:
    raw = (
        b"diff --git a/l1.txt b/l1.txt\n--- a/l1.txt\n+++ b/l1.txt\n"
        b"@@ -1 +1 @@\n-caf\xe9\n+caf\xe8\n"
    )
    (file,) = parse_diff(decode_diff(raw))
    assert file.undecodable


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n a\n-b\n", "hunk at line 3 is shorter"),
        ("hello, this is not a diff\n", "not a unified diff"),
    ],
)
def test_malformed_diffs_name_the_problem(text: str, expected: str) -> None:
    with pytest.raises(DiffError, match=expected):
        parse_diff(text)


def test_empty_diff_is_empty() -> None:
    assert parse_diff("") == ()
    assert parse_diff("\n") == ()
