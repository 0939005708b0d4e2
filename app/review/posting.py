"""Posting a review on GitHub: once per job, re-checked against the hunks after a 422.

Then the sticky summary (edited in place) and a neutral check run with the cost. The review is
found again by its job marker, so an attempt that crashed after posting never posts twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.errors import GitHubError
from app.gh.client import GitHubClient, PullInfo
from app.gh.markers import read_markers
from app.plan.diff import diff_from_patches, parse_diff
from app.review.bot_state import bot_state
from app.review.findings import Finding
from app.review.publish import JOB_KIND
from app.review.result import ReviewResult

log = logging.getLogger(__name__)
_UNPROCESSABLE = 422  # GitHub refuses a review whose comments are not on the diff


@dataclass(frozen=True, slots=True)
class Posted:
    """What posting the review did: the PR as last read, and the findings GitHub refused."""

    info: PullInfo
    rejected: tuple[tuple[Finding, str], ...] = ()


def post_review(
    client: GitHubClient,
    info: PullInfo,
    body: str,
    inline: tuple[Finding, ...],
    bot_login: str,
    job: str,
    payload: Callable[[Finding], dict[str, Any]],
) -> Posted:
    """Post the review; on a 422, re-check every comment against GitHub's current hunks."""

    def landed() -> bool:
        mine = client.bot_reviews(info.owner, info.repo, info.number, bot_login)
        return any(job in read_markers(c.body, JOB_KIND) for c in mine)

    if landed():
        # An earlier attempt of this job posted the review (then crashed). Findings this attempt
        # has that the landed review lacks are listed in the summary, not claimed as posted.
        log.info("review %s already posted", job)
        return Posted(
            info, tuple((f, "the review for this push was already posted") for f in inline)
        )
    try:
        client.post_review(info, body, [payload(f) for f in inline], landed)
        return Posted(info)
    except GitHubError as exc:
        if exc.status_code != _UNPROCESSABLE:
            raise
        log.warning("GitHub rejected the review: %s; re-checking comments", exc)
    fresh = client.pull(info.owner, info.repo, info.number)
    anchors = _anchors(fresh)
    keep: list[Finding] = []
    rejected: list[tuple[Finding, str]] = []
    for f in inline:
        ok = (f.path, f.line, f.side) in anchors and (
            f.start_line is None or (f.path, f.start_line, f.start_side or f.side) in anchors
        )
        if ok:
            keep.append(f)
        else:
            rejected.append(
                (f, f"GitHub rejected it: not a line of the diff at {fresh.head_sha[:12]}")
            )
    if keep:
        try:
            client.post_review(fresh, body, [payload(f) for f in keep], landed)
        except GitHubError as exc:
            if exc.status_code != _UNPROCESSABLE:
                raise
            rejected.extend((f, "GitHub rejected the review (422)") for f in keep)
    return Posted(fresh, tuple(rejected))


def _anchors(info: PullInfo) -> set[tuple[str, int, str]]:
    text, _ = diff_from_patches(info.files)
    return {
        (a.path, a.line, a.side.value)
        for f in parse_diff(text)
        for h in f.hunks
        for a in h.anchors(f.path)
    }


def post_summary(
    client: GitHubClient,
    info: PullInfo,
    sticky_id: int | None,
    bot_login: str,
    summary: str,
    result: ReviewResult,
    inline: int,
) -> None:
    """Edit (or create) the sticky summary, then leave a neutral check run with the cost."""

    def find() -> int | None:
        again = client.bot_comments(info.owner, info.repo, info.number, bot_login)
        return bot_state(again).sticky_id

    client.upsert_comment(info, summary, sticky_id, find)
    t = result.totals
    client.neutral_check(
        info,
        f"${t.cost_usd:.4f} ({t.savings_pct:.0f}% saved), {inline} inline comments",
        summary,
    )
