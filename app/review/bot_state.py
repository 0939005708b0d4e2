"""What the bot already left on a pull request: its sticky comment, reviewed SHAs, spend, prints.

Read only from the bot's own comments (markers are trusted nowhere else): the sticky summary's id,
the head SHAs it reviewed (for an incremental review), the day's spend entries (for the Action's
daily cap) and the fingerprints of every finding it posted (never posted twice).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

from app.gh.client import BotComment
from app.gh.markers import read_markers
from app.review.publish import FINGERPRINT_KIND, SHAS_KIND, SPENT_KIND, SUMMARY_KIND

KEEP_SHAS = 20
_KEEP_SPENT = 50  # runs recorded in the sticky comment, within the last two days
_SHA = re.compile(r"[0-9a-f]{7,64}")
_SPENT = re.compile(r"\d{4}-\d\d-\d\d \d+(\.\d+)?")


@dataclass(frozen=True, slots=True)
class BotState:
    """What the bot left on the PR: its sticky comment, reviewed SHAs, fingerprints, spend."""

    sticky_id: int | None
    shas: tuple[str, ...]
    prints: frozenset[str]
    spent: tuple[str, ...]

    def reviewed_with(self, head_sha: str) -> tuple[str, ...]:
        """The reviewed SHAs to record after reviewing `head_sha` (the latest last)."""
        kept = [s for s in self.shas if s != head_sha][-KEEP_SHAS + 1 :]
        return (*kept, head_sha)

    def spent_with(self, today: dt.date, cost: float) -> tuple[str, ...]:
        """Yesterday's and today's runs from the sticky comment, and this run."""
        since = (today - dt.timedelta(days=1)).isoformat()
        kept = [e for e in self.spent if _SPENT.fullmatch(e) and e >= since]
        return (*kept[-(_KEEP_SPENT - 1) :], f"{today.isoformat()} {cost:.6f}")


def bot_state(comments: Iterable[BotComment]) -> BotState:
    """The sticky comment's id and markers, and every fingerprint posted."""
    comments = list(comments)
    sticky = next(
        (c for c in comments if c.kind == "issue_comment" and read_markers(c.body, SUMMARY_KIND)),
        None,
    )
    shas: list[str] = []
    spent: tuple[str, ...] = ()
    if sticky is not None:
        for value in read_markers(sticky.body, SHAS_KIND):
            shas.extend(s for s in value.split(",") if _SHA.fullmatch(s))
        spent = tuple(read_markers(sticky.body, SPENT_KIND))
    prints = {fp for c in comments for fp in read_markers(c.body, FINGERPRINT_KIND)}
    return BotState(sticky.id if sticky else None, tuple(shas), frozenset(prints), spent)
