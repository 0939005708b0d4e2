"""What one webhook delivery asks for: a typed variant per decision, its trigger and tenant.

`classify` (webhooks.py) returns one of the five variants; only `ReviewDecision` and
`CommandDecision` lead to a job, and they carry exactly the fields the job needs. The trigger
(a push, or one `/review` comment) and the tenant rule are spelled here and nowhere else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from app.plan.config import Mode

_PUSH = "push"
_COMMENT = re.compile(r"(comment|thread):(\d+)")


class DecisionKind(StrEnum):
    """What the edge does with a delivery."""

    REVIEW = "review"  # a push to an open PR: queue a review
    COMMAND = "command"  # a `/review` comment: queue the gate, then maybe a review
    REPLY = "reply"  # a review comment in a thread the bot may answer: queue the reply
    PONG = "pong"  # a hook's ping
    INSTALLATION = "installation"  # the App was installed, removed or given repositories
    IGNORE = "ignore"  # nothing to do (the reason says why)


@dataclass(frozen=True, slots=True)
class Trigger:
    """Why a job runs: a push (no comment), one `/review` comment, or one review-thread comment.

    `str(trigger)` is the stored form (`push`, `comment:<id>`, `thread:<id>`), part of the job's
    identity in the queue's idempotency key and in the review's job marker. Issue comments and
    review comments are numbered apart on GitHub, so a thread comment has its own prefix.
    """

    comment_id: int | None = None
    in_thread: bool = False

    def __str__(self) -> str:
        if self.comment_id is None:
            return _PUSH
        return f"{'thread' if self.in_thread else 'comment'}:{self.comment_id}"

    @classmethod
    def parse(cls, text: str) -> Trigger:
        """The trigger from its stored form; ValueError for anything else."""
        if text == _PUSH:
            return cls()
        match = _COMMENT.fullmatch(text)
        if match is None:
            raise ValueError(
                f"not a trigger: {text!r} (expected push, comment:<id> or thread:<id>)"
            )
        return cls(int(match[2]), in_thread=match[1] == "thread")


def tenant_of(installation_id: int | None, repository: str) -> str:
    """Whose budget and queue share a job: the App installation, else the repository.

    The Action has no installation (it drops the one a payload names), so its tenant is the
    repository, as is a repository webhook's.
    """
    return str(installation_id or repository)


@dataclass(frozen=True, slots=True)
class PullTarget:
    """The pull request a decision is about, and the installation that may act on it."""

    owner: str
    repo: str
    number: int
    installation_id: int | None = None

    @property
    def repository(self) -> str:
        """`OWNER/REPO`."""
        return f"{self.owner}/{self.repo}"

    @property
    def tenant(self) -> str:
        """The tenant the job is counted against."""
        return tenant_of(self.installation_id, self.repository)


@dataclass(frozen=True, slots=True)
class ReviewDecision:
    """Review the PR at this head: it was opened, pushed to, reopened or marked ready."""

    kind: ClassVar[DecisionKind] = DecisionKind.REVIEW
    reason: str
    pull: PullTarget
    head_sha: str
    base_sha: str
    author: str
    author_association: str | None = None

    @property
    def trigger(self) -> Trigger:
        """A push."""
        return Trigger()


@dataclass(frozen=True, slots=True)
class CommandDecision:
    """Answer a `/review` comment; the worker reads the PR's head (the comment has none)."""

    kind: ClassVar[DecisionKind] = DecisionKind.COMMAND
    reason: str
    pull: PullTarget
    mode: Mode
    comment_id: int
    commenter: str
    author: str  # the PR's author
    author_association: str | None = None  # the commenter's
    in_thread: bool = False  # a review comment: the command is about its thread's file

    @property
    def trigger(self) -> Trigger:
        """This comment."""
        return Trigger(self.comment_id, in_thread=self.in_thread)


@dataclass(frozen=True, slots=True)
class ReplyDecision:
    """Answer a review comment in its thread (the worker checks the thread is the bot's).

    `in_reply_to` is the thread's first comment, or None for a new comment that mentions the bot.
    """

    kind: ClassVar[DecisionKind] = DecisionKind.REPLY
    reason: str
    pull: PullTarget
    comment_id: int
    in_reply_to: int | None
    commenter: str

    @property
    def trigger(self) -> Trigger:
        """This review comment."""
        return Trigger(self.comment_id, in_thread=True)


@dataclass(frozen=True, slots=True)
class PongDecision:
    """Answer a hook's ping."""

    kind: ClassVar[DecisionKind] = DecisionKind.PONG
    reason: str


@dataclass(frozen=True, slots=True)
class InstallationDecision:
    """Acknowledge an installation event (nothing is cached per installation)."""

    kind: ClassVar[DecisionKind] = DecisionKind.INSTALLATION
    reason: str
    installation_id: int


@dataclass(frozen=True, slots=True)
class IgnoreDecision:
    """Do nothing, and say why."""

    kind: ClassVar[DecisionKind] = DecisionKind.IGNORE
    reason: str


JobDecision = ReviewDecision | CommandDecision | ReplyDecision
Decision = (
    ReviewDecision
    | CommandDecision
    | ReplyDecision
    | PongDecision
    | InstallationDecision
    | IgnoreDecision
)
