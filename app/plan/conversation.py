"""What a reply in a review thread is, and where its answer is routed: pure rules, no I/O.

A reply that dismisses the finding ("won't fix", "false positive", ...) is remembered and gets
a short acknowledgement with no model call. A reply that disputes the finding, or any question
on an architectural chunk, is answered by the frontier tier; anything else by the tier that
produced the finding. The phrase lists are data, documented in docs/conversation.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from app.plan.config import Difficulty
from app.plan.tiers import Tier

# Dismissals: the developer decided not to act on the finding. Matched case-insensitively, as
# whole words, anywhere in the reply's first 500 characters.
DISMISS_PHRASES: tuple[str, ...] = (
    "won't fix",
    "wont fix",
    "will not fix",
    "wontfix",
    "false positive",
    "not an issue",
    "intended",
    "by design",
    "working as intended",
    "ignore this",
    "dismiss",
)
# Disputes: the developer argues with the finding and expects an answer.
DISPUTE_PHRASES: tuple[str, ...] = (
    "disagree",
    "not a bug",
    "not true",
    "incorrect",
    "you are wrong",
    "you're wrong",
    "this is wrong",
    "are you sure",
    "why is this",
)
_SCAN = 500


class ReplyKind(StrEnum):
    """What a reply in the bot's thread asks for."""

    DISMISS = "dismiss"  # remember the dismissal, acknowledge, no model call
    DISPUTE = "dispute"  # argue back on the frontier tier
    QUESTION = "question"  # answer on the finding's tier (frontier on an architectural chunk)


def _matches(text: str, phrases: tuple[str, ...]) -> bool:
    folded = text[:_SCAN].casefold().replace("\u2019", "'")
    return any(re.search(rf"(?<!\w){re.escape(p)}(?!\w)", folded) for p in phrases)


def classify_reply(text: str) -> ReplyKind:
    """The kind of a reply, from the documented phrase lists (dismissal wins over dispute)."""
    if _matches(text, DISMISS_PHRASES):
        return ReplyKind.DISMISS
    if _matches(text, DISPUTE_PHRASES):
        return ReplyKind.DISPUTE
    return ReplyKind.QUESTION


@dataclass(frozen=True, slots=True)
class ReplyRoute:
    """The tier that answers a reply, and the rule that chose it."""

    tier: Tier
    rule: str


def route_reply(kind: ReplyKind, finding_tier: str, difficulty: Difficulty | None) -> ReplyRoute:
    """Where a reply's answer goes: dispute or architectural chunk -> frontier, else the finding's.

    A finding with no known tier (a thread the bot joined by mention) is answered on `middle`.
    """
    if kind is ReplyKind.DISPUTE:
        return ReplyRoute(Tier.FRONTIER, "reply: disputes the finding")
    if difficulty is Difficulty.ARCHITECTURAL:
        return ReplyRoute(Tier.FRONTIER, "reply: architectural chunk")
    if finding_tier in Tier.__members__.values():
        return ReplyRoute(Tier(finding_tier), "reply: the finding's tier")
    return ReplyRoute(Tier.MIDDLE, "reply: no finding, default tier")
