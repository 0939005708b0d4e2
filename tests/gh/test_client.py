"""The PyGithub adapter's failures: a GitHubError carries GitHub's HTTP status, not just text."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from app.errors import GitHubError
from app.gh.client import GitHubClient
from tests.conftest import EXAMPLE_DIFF, SHARED, need
from tests.review.test_pull_request import pr_files

OWNER, REPO, NUMBER = "acme", "api", 7


@pytest.fixture
def github() -> Iterator[tuple[GitHubClient, Any]]:
    need((SHARED / "fixtures" / "github-openapi").is_dir(), "../shared fixtures are missing")
    from tests.fakes.github_fake import github_fake

    with github_fake() as (url, gh):
        gh.open_pr(
            OWNER,
            REPO,
            NUMBER,
            title="t",
            body="b",
            base_sha="b" * 40,
            head_sha="c" * 40,
            files=pr_files(EXAMPLE_DIFF.read_text()),
        )
        client = GitHubClient("ghs_t", url, throttle=False, sleep=lambda s: None)
        try:
            yield client, gh
        finally:
            client.close()


def test_a_missing_pull_request_is_a_404(github: tuple[GitHubClient, Any]) -> None:
    client, _ = github
    with pytest.raises(GitHubError, match="HTTP 404") as caught:
        client.pull(OWNER, REPO, NUMBER + 1)
    assert caught.value.status_code == 404


@pytest.mark.parametrize("status", [422, 403, 502])
def test_a_refused_write_keeps_its_status(github: tuple[GitHubClient, Any], status: int) -> None:
    client, gh = github
    info = client.pull(OWNER, REPO, NUMBER)
    gh.fail_next("POST", r"/issues/\d+/comments$", status=status, apply=False, times=10)
    with pytest.raises(GitHubError) as caught:
        client.reply(info, "hello")
    assert caught.value.status_code == status
    assert gh.issue_comments(OWNER, REPO, NUMBER) == []
