"""The PyGithub adapter's failures: a GitHubError carries GitHub's HTTP status, not just text."""

from __future__ import annotations

from typing import Any

import pytest

from app.errors import GitHubError
from app.gh.client import GitHubClient
from tests.server.test_faults import NUMBER, OWNER, REPO
from tests.server.test_faults import github as github  # the fake GitHub with one PR open


def client(url: str) -> GitHubClient:
    return GitHubClient("ghs_t", url, throttle=False, sleep=lambda s: None)


def test_a_missing_pull_request_is_a_404(github: tuple[str, Any]) -> None:
    gh = client(github[0])
    try:
        with pytest.raises(GitHubError, match="HTTP 404") as caught:
            gh.pull(OWNER, REPO, NUMBER + 1)
    finally:
        gh.close()
    assert caught.value.status_code == 404


@pytest.mark.parametrize("status", [422, 403, 502])
def test_a_refused_write_keeps_its_status(github: tuple[str, Any], status: int) -> None:
    url, fake = github
    gh = client(url)
    try:
        info = gh.pull(OWNER, REPO, NUMBER)
        fake.fail_next("POST", r"/issues/\d+/comments$", status=status, apply=False, times=10)
        with pytest.raises(GitHubError) as caught:
            gh.reply(info, "hello")
    finally:
        gh.close()
    assert caught.value.status_code == status
    assert fake.issue_comments(OWNER, REPO, NUMBER) == []
