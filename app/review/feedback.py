"""What developers did with the bot's findings, read from GitHub before each push's review.

Signals, per finding the bot posted inline (its route marker says tier, difficulty, category):

- a thumbs-up (`+1`) by a person: `thumbs_up`;
- a thumbs-down (`-1`) by a person: `thumbs_down`, and the finding is dismissed on this PR;
- the thread resolved by a person while its code is unchanged (not outdated): `dismissed`, and
  the finding is dismissed; resolved after the code changed (outdated): `resolved_after_change`.

- a reply by a person that dismisses it ("won't fix", "false positive", ...): `dismissed`, and
  the finding is dismissed (also recorded when the reply is answered; read again here so the
  Action, which keeps no database between runs, remembers it too).
After the review, `resolve_outdated` resolves the bot's threads whose lines the push changed and
whose finding this review no longer reports.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from app.errors import GitHubError
from app.gh.client import GitHubClient
from app.gh.markers import strip_hidden
from app.gh.threads import (
    ReviewThread,
    ThreadComment,
    reactions,
    resolve_thread,
    review_comments,
    review_threads,
)
from app.plan.conversation import ReplyKind, classify_reply
from app.review.publish import FindingRef, finding_of

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Signal:
    """One developer signal on one finding; `dismiss` means do not raise it again on this PR."""

    finding: FindingRef
    signal: str
    dismiss: bool
    reason: str  # thumbs_down, resolved: what the suppression row says


@dataclass(frozen=True, slots=True)
class PullId:
    """`OWNER/REPO#N`, as the GitHub calls here take it."""

    owner: str
    repo: str
    number: int


def _bot_threads(
    client: GitHubClient, ref: PullId, bot_login: str
) -> list[tuple[ReviewThread, FindingRef, list[ThreadComment]]]:
    """The bot's finding threads, each with its finding and the replies in it."""
    comments = review_comments(client, ref.owner, ref.repo, ref.number)
    by_id = {c.id: c for c in comments}
    out = []
    for thread in review_threads(client, ref.owner, ref.repo, ref.number):
        first = by_id.get(thread.first_comment_id or -1)
        finding = finding_of(first, bot_login) if first is not None else None
        if first is not None and finding is not None:
            replies = [c for c in comments if c.in_reply_to == first.id]
            out.append((thread, finding, replies))
    return out


def read_signals(client: GitHubClient, ref: PullId, bot_login: str) -> list[Signal]:
    """Every signal on the bot's findings on this PR (best effort: GitHub errors give none)."""
    bot = bot_login.casefold()
    short = bot.removesuffix("[bot]")
    out: list[Signal] = []
    try:
        threads = _bot_threads(client, ref, bot_login)
        for thread, finding, replies in threads:
            people = {
                content
                for login, content in reactions(
                    client, ref.owner, ref.repo, thread.first_comment_id or 0
                )
                if login.casefold() not in (bot, short) and not login.endswith("[bot]")
            }
            if "+1" in people:
                out.append(Signal(finding, "thumbs_up", False, ""))
            if "-1" in people:
                out.append(Signal(finding, "thumbs_down", True, "thumbs_down"))
            if any(
                c.user_type != "Bot"
                and c.user.casefold() != bot
                and classify_reply(strip_hidden(c.body)) is ReplyKind.DISMISS
                for c in replies
            ):
                out.append(Signal(finding, "dismissed", True, "reply"))
            by = thread.resolved_by.casefold()
            if thread.resolved and by and by not in (bot, short):
                if thread.outdated:
                    out.append(Signal(finding, "resolved_after_change", False, ""))
                else:
                    out.append(Signal(finding, "dismissed", True, "resolved"))
    except GitHubError as exc:
        log.warning("no feedback read: %s", exc)
    return out


def resolve_outdated(
    client: GitHubClient, ref: PullId, bot_login: str, reported: frozenset[str]
) -> int:
    """Resolve the bot's outdated, unresolved threads whose finding is not in `reported`.

    Returns how many were resolved; best effort (a refusal is logged, the review stands).
    """
    done = 0
    try:
        for thread, finding, _ in _bot_threads(client, ref, bot_login):
            if thread.outdated and not thread.resolved and finding.fingerprint not in reported:
                done += resolve_thread(client, thread.id)
    except GitHubError as exc:
        log.warning("outdated threads not resolved: %s", exc)
    return done
