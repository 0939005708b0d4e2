"""Developer signals read from the fake GitHub: reactions and resolutions on the bot's threads."""

from __future__ import annotations

from typing import Any

from app.gh.client import GitHubClient
from app.gh.markers import marker
from app.gh.threads import review_threads
from app.review.feedback import PullId, read_signals, resolve_outdated
from app.review.publish import FINGERPRINT_KIND, ROUTE_KIND
from tests.fakes.github_fake import BOT_LOGIN, github_fake

OWNER, REPO, NUMBER = "acme", "api", 7
PATCH = "@@ -1,2 +1,3 @@\n line one\n+added line\n line two"


def _bot_comment(gh: Any, url: str, fingerprint: str) -> int:
    """A review by the bot with one finding comment, through the fake's REST API."""
    client = GitHubClient("t", url, throttle=False)
    try:
        pr = client.api.get_repo(f"{OWNER}/{REPO}").get_pull(NUMBER)
        # The bot's markers lead its comments (app/gh/markers.py).
        body = marker(FINGERPRINT_KIND, fingerprint) + "\n"
        body += marker(ROUTE_KIND, "small routine bug") + "\nCheck this"
        pr.create_review(
            body="r", event="COMMENT", comments=[{"path": "a.py", "line": 2, "body": body}]
        )
    finally:
        client.close()
    return int(gh.review_comments(OWNER, REPO, NUMBER)[-1]["id"])


def test_a_thread_a_person_resolved_on_unchanged_code_is_a_dismissal() -> None:
    with github_fake() as (url, gh):
        files = [{"filename": "a.py", "patch": PATCH}]
        gh.open_pr(
            OWNER,
            REPO,
            NUMBER,
            title="t",
            body="",
            base_sha="b" * 40,
            head_sha="h" * 40,
            files=files,
        )
        kept = _bot_comment(gh, url, "f1")
        liked = _bot_comment(gh, url, "f2")
        answered = _bot_comment(gh, url, "f3")
        gh.resolve_thread(kept, "alice")
        gh.react(liked, "+1", "alice")
        gh.add_review_reply(OWNER, REPO, NUMBER, answered, "That's a false positive.", "alice")
        gh.add_review_reply(OWNER, REPO, NUMBER, liked, "won't fix", "renovate[bot]")
        client = GitHubClient("t", url, throttle=False)
        try:
            signals = read_signals(client, PullId(OWNER, REPO, NUMBER), BOT_LOGIN)
            threads = review_threads(client, OWNER, REPO, NUMBER)
            # Nothing is outdated (same head): resolving leaves both threads as they are.
            assert (
                resolve_outdated(client, PullId(OWNER, REPO, NUMBER), BOT_LOGIN, frozenset()) == 0
            )
        finally:
            client.close()
        assert gh.invalid == []
    got = sorted((s.finding.fingerprint, s.signal, s.dismiss, s.reason) for s in signals)
    assert got == [
        ("f1", "dismissed", True, "resolved"),
        ("f2", "thumbs_up", False, ""),  # a bot's "won't fix" is no signal
        ("f3", "dismissed", True, "reply"),
    ]
    assert [(t.resolved, t.outdated, t.resolved_by) for t in threads] == [
        (True, False, "alice"),
        (False, False, ""),
        (False, False, ""),
    ]
    assert all(s.finding.tier == "small" and s.finding.category == "bug" for s in signals)
