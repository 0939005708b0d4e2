"""Comment commands: parse `/review` and `/review deep`, and gate who may run them, how often.

Pure: the caller asks GitHub for the commenter's permission and counts the bot's own command
markers on the PR (so the Action, which keeps no database, applies the same daily limit).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from app.gh.markers import marker, read_markers

COMMAND_KIND = "command"
WRITE_PERMISSIONS = frozenset({"admin", "maintain", "write"})

CommandName = Literal["review", "review deep"]
_BLANKS = re.compile(r"[ \t]+")


def parse_command(body: str | None) -> CommandName | None:
    """`/review` or `/review deep` when the comment's first line is exactly that, else None.

    The line is trimmed of spaces, tabs and `\\r`, and inner runs of spaces or tabs count as
    one. The keywords are matched case-insensitively (`/REVIEW Deep` works), ASCII only.
    Anything else on the line (`please /review`, `/review deeper`, `> /review`) is not a command.
    """
    if not body:
        return None
    first = body.partition("\n")[0].strip(" \t\r")
    if not first.isascii():
        return None
    words = _BLANKS.split(first.lower())
    if words == ["/review"]:
        return "review"
    if words == ["/review", "deep"]:
        return "review deep"
    return None


@dataclass(frozen=True, slots=True)
class Gate:
    """Whether a command runs, and the reply the bot leaves either way."""

    allowed: bool
    reply: str
    reason: str


def runs_today(bot_bodies: Iterable[str], today: dt.date) -> int:
    """Commands the bot accepted on this PR today, from its own markers."""
    stamp = today.isoformat()
    return sum(
        1
        for body in bot_bodies
        for value in read_markers(body, COMMAND_KIND)
        if value.startswith(stamp)
    )


def gate(
    command: CommandName,
    *,
    commenter: str,
    author: str,
    permission: str,
    accepted_today: int,
    daily_limit: int,
    today: dt.date,
    estimate_usd: float | None = None,
    deep_cap_usd: float | None = None,
) -> Gate:
    """Decide a command: `/review deep` needs write access; `/review` also suits the author."""
    writer = permission in WRITE_PERMISSIONS
    who = f"@{commenter}"
    stamp = marker(COMMAND_KIND, f"{today.isoformat()} {command} {commenter}")
    if command == "review deep":
        if not writer:
            return Gate(
                False,
                f"Sorry {who}, `/review deep` needs write access to this "
                "repository. A maintainer can run it.",
                "deep needs write access",
            )
        if deep_cap_usd is not None and estimate_usd is not None and estimate_usd > deep_cap_usd:
            return Gate(
                False,
                f"Sorry {who}, a deep review would cost up to "
                f"${estimate_usd:.2f}, over this repository's deep-review cap of "
                f"${deep_cap_usd:.2f}. Nothing was run.",
                "over the deep cap",
            )
        cost = f" (estimated ${estimate_usd:.4f})" if estimate_usd is not None else ""
        return Gate(
            True,
            f"{stamp}\nRunning a deep review on the frontier tier{cost}, {who}.",
            "deep review by a writer",
        )
    if not writer and commenter != author:
        return Gate(
            False,
            f"Sorry {who}, `/review` can be run by the pull request's author or "
            "by someone with write access.",
            "not the author and no write access",
        )
    if not writer and accepted_today >= daily_limit:
        return Gate(
            False,
            f"Sorry {who}, this pull request has had {accepted_today} reviews on "
            f"request today (the limit is {daily_limit}). Try again tomorrow, or ask a "
            "maintainer.",
            "daily limit reached",
        )
    return Gate(True, f"{stamp}\nReviewing again, {who}.", "review on request")
