"""Whole files from git for the facts: the blob reader, `plan` in a repository, and `forecast`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from app.local.blobs import MAX_BYTES, BlobReader, read_sides, safe_path
from app.plan.diff import FileStatus, parse_diff
from tests.history_repo import commit, git
from tests.plan.facts.test_files import POOL

SIGNATURE = POOL.replace(
    "        retries=None,\n", "        retries=None,\n        *,\n        tls=None,\n"
)


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, str, str]:
    """A repository whose `feature` branch changes a multi-line signature: (path, base, head)."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    base = commit(
        root,
        "Add the pool",
        "2026-03-01T12:00:00+00:00",
        {
            "src/pool.py": POOL,
            "src/big.py": "x = 1\n" * (MAX_BYTES // 6 + 1),
            "src/latin.py": "",
            "README.md": "# Pool\n",
        },
    )
    (root / "src" / "latin.py").write_bytes(b"name = '\xe9'\n")
    git(root, "checkout", "-q", "-b", "feature")
    head = commit(
        root,
        "Pools take a TLS context",
        "2026-03-02T12:00:00+00:00",
        {"src/pool.py": SIGNATURE, "src/new.py": "def added():\n    return 1\n"},
    )
    return root, base, head


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_reader_reads_blobs_and_refuses_what_it_should(repo: tuple[Path, str, str]) -> None:
    root, base, head = repo
    with BlobReader(root) as reader:
        assert reader.read(base, "src/pool.py") == POOL
        assert reader.read(head, "src/pool.py") == SIGNATURE
        assert reader.read(base, "src/new.py") is None  # not there yet
        assert reader.read(head, "src/big.py") is None  # over 1 MB
        assert reader.read(head, "src/latin.py") is None  # not UTF-8
        assert reader.read(head, "src") is None  # a tree, not a file
        assert reader.read(head, "README.md") == "# Pool\n"  # still in step after all that
        for path in ("../etc/passwd", "/etc/passwd", "src/./pool.py", "a\nHEAD:src/pool.py", ""):
            assert not safe_path(path)
            assert reader.read(head, path) is None
        assert reader.read("HEAD src", "pool.py") is None


def test_read_sides_keeps_code_files_with_both_sides(repo: tuple[Path, str, str]) -> None:
    root, base, head = repo
    diff = git(root, "diff", base, head) + "\n"
    files = parse_diff(diff)
    assert {f.path: f.status for f in files}["src/new.py"] is FileStatus.ADDED
    with BlobReader(root) as reader:
        sides = read_sides(reader, files, base, head)
    assert sides.sources == {"src/pool.py": SIGNATURE, "src/new.py": "def added():\n    return 1\n"}
    assert sides.originals == {"src/pool.py": POOL}


def test_plan_in_a_repository_compares_whole_files(
    repo: tuple[Path, str, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    counter: object,
) -> None:
    root, _, _ = repo
    monkeypatch.chdir(root / "src")  # a subfolder: paths are the repository's
    code, out, err = cli(capsys, "plan", "--base", "main", "--format", "json")
    assert code == 0, err
    chunks = {c["path"]: c for c in json.loads(out)["chunks"]}
    pool = chunks["src/pool.py"]
    assert pool["reasons"][-1] == "facts: compared whole files as python"
    assert "surface.signature" in pool["signals"]
    assert any("def __init__( self, host," in r for r in pool["reasons"])
    # The bare diff of the same change cannot see the header the hunk cuts off.
    diff = root / "change.diff"
    diff.write_bytes((git(root, "diff", "main", "HEAD") + "\n").encode("utf-8", "surrogateescape"))
    code, out, err = cli(capsys, "plan", "--diff", str(diff), "--format", "json")
    bare = {c["path"]: c for c in json.loads(out)["chunks"]}["src/pool.py"]
    assert bare["reasons"][-1] == "facts: parsed as python"
    assert not any("def __init__( self, host," in r for r in bare["reasons"])


def test_plan_with_worktree_reads_the_new_side_from_the_work_tree(
    repo: tuple[Path, str, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    counter: object,
) -> None:
    root, _, _ = repo
    (root / "src" / "pool.py").write_text(SIGNATURE.replace("import certifi\n", "import idna\n"))
    monkeypatch.chdir(root)
    code, out, err = cli(capsys, "plan", "--base", "main", "--worktree", "--format", "json")
    assert code == 0, err
    pool = {c["path"]: c for c in json.loads(out)["chunks"]}["src/pool.py"]
    assert pool["reasons"][-1] == "facts: compared whole files as python"
    assert "imports.package_added" in pool["signals"]


def test_forecast_and_plan_in_a_checkout_agree_to_the_cent(
    repo: tuple[Path, str, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    counter: object,
) -> None:
    root, base, head = repo
    code, out, err = cli(capsys, "forecast", "--repo", str(root), "--last", "1", "--format", "json")
    assert code == 0, err
    (pr,) = json.loads(out)["prs"]
    assert (pr["parent"], pr["commit"]) == (base, head)
    monkeypatch.chdir(root)
    code, out, err = cli(
        capsys, "plan", "--base", base, "--title", "Pools take a TLS context", "--format", "json"
    )
    assert code == 0, err
    alone = json.loads(out)["totals"]
    del alone["plan_ms"], pr["totals"]["plan_ms"]
    assert pr["totals"] == alone
    assert alone["est_cost_usd"] > 0
