"""The Action reads whole code files once per blob: its ledger database is the blob cache."""

from __future__ import annotations

from typing import Any

import pytest

from app.store import schema
from tests.server.test_http import OWNER, REPO, _command, payload
from tests.test_action import Runner, runner  # noqa: F401 (the fixture)

CODE = (
    "src/werkzeug/debug/__init__.py",
    "src/werkzeug/debug/console.py",
    "src/werkzeug/debug/tbtools.py",
    "src/werkzeug/security.py",
    "tests/test_debug.py",
    "tests/test_security.py",
)
BASE = "b" * 40


def code_reads(gh: Any) -> list[str]:
    """The contents requests for the PR's code files, as `path@ref`, in order."""
    out = []
    for r in gh.requests:
        path = r.path.split("/contents/", 1)[-1]
        if "/contents/" in r.path and path in CODE:
            out.append(f"{path}@{r.query.get('ref')}")
    return out


def compares(gh: Any) -> int:
    return sum("/compare/" in r.path for r in gh.requests)


def set_code(gh: Any, head: str) -> None:
    for sha in (BASE, head):
        for path in CODE:
            gh.set_file(OWNER, REPO, sha, path, f"# {path} at {sha[:7]}\nx = 1\n")


@pytest.mark.parametrize("cache_mb", ["256", "0"])
def test_a_second_review_of_the_same_head_reads_no_file_again(
    runner: Runner,  # noqa: F811 (the fixture)
    cache_mb: str,
) -> None:
    head = payload("pull_request.opened.json")["pull_request"]["head"]["sha"]
    set_code(runner.gh, head)
    # A database of the operator's (TIERED_REVIEW_DB) outlives the run: the cache with it.
    env = {
        "TIERED_REVIEW_BLOB_CACHE_MB": cache_mb,
        "TIERED_REVIEW_DB": str(runner.tmp / "kept.db"),
    }
    code, _, stderr = runner.start("pull_request", payload("pull_request.opened.json"), **env)
    assert code == 0, stderr
    first = code_reads(runner.gh)
    assert sorted(first) == sorted([f"{p}@{head}" for p in CODE] + [f"{p}@{BASE}" for p in CODE])
    assert compares(runner.gh) == 1  # the merge base, asked once per review

    # `/review` by a maintainer on the same head: a full review again, in a new process.
    runner.gh.set_permission(OWNER, REPO, "maintainer", "maintain")
    code, _, stderr = runner.start("issue_comment", _command("/review", "maintainer", 78), **env)
    assert code == 0, stderr
    again = code_reads(runner.gh)[len(first) :]
    if cache_mb == "0":
        assert sorted(again) == sorted(first)  # no cache: every file read again
    else:
        assert again == []  # 12 blobs from the database, by SHA and by (commit, path)
    assert compares(runner.gh) == 2


def test_the_runners_ledger_keeps_no_code(runner: Runner) -> None:  # noqa: F811 (the fixture)
    head = payload("pull_request.opened.json")["pull_request"]["head"]["sha"]
    set_code(runner.gh, head)
    code, _, stderr = runner.start("pull_request", payload("pull_request.opened.json"))
    assert code == 0, stderr
    assert len(code_reads(runner.gh)) == 12  # read, used, then forgotten
    assert runner.ledger(schema.blob_cache) == [] and runner.ledger(schema.blob_refs) == []
    assert len(runner.ledger()) == 1  # the review's own row stays
