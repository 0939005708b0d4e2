"""A queued job's spec: what a webhook decision asks for, as the queue stores it.

The stored payload keeps its JSON shape across versions (`to_payload`), so a row queued by an
older server still runs after an upgrade; a damaged row is a clear error, never a guess.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from app.errors import TieredReviewError
from app.gh.decision import CommandDecision, JobDecision, ReplyDecision, Trigger, tenant_of
from app.plan.config import Mode


class JobKind(StrEnum):
    """What a queued job does."""

    REVIEW = "review"  # review the PR's head
    COMMAND = "command"  # answer a `/review` comment behind the gate, then maybe review
    REPLY = "reply"  # answer a review comment in the bot's thread


class _StoredSpec(BaseModel):
    """A queued payload as written by `JobSpec.to_payload` (today's and every earlier version)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    kind: JobKind
    owner: str
    repo: str
    pr_number: int
    mode: Mode
    trigger: str
    installation_id: int | None = None
    commenter: str | None = None


@dataclass(frozen=True, slots=True)
class JobSpec:
    """A job as the webhook queued it: which PR, in which mode, and why."""

    kind: JobKind
    owner: str
    repo: str
    pr_number: int
    mode: Mode
    trigger: Trigger
    installation_id: int | None = None
    commenter: str | None = None  # who asked, for a command

    @property
    def repository(self) -> str:
        """`OWNER/REPO`."""
        return f"{self.owner}/{self.repo}"

    @property
    def tenant(self) -> str:
        """Whose budget and running limit the job counts against."""
        return tenant_of(self.installation_id, self.repository)

    @classmethod
    def from_decision(cls, decision: JobDecision) -> JobSpec:
        """The job a webhook decision asks for."""
        pull = decision.pull
        if isinstance(decision, CommandDecision):
            kind, mode, commenter = JobKind.COMMAND, decision.mode, decision.commenter
        elif isinstance(decision, ReplyDecision):
            kind, mode, commenter = JobKind.REPLY, Mode.NORMAL, decision.commenter
        else:
            kind, mode, commenter = JobKind.REVIEW, Mode.NORMAL, None
        return cls(
            kind,
            pull.owner,
            pull.repo,
            pull.number,
            mode,
            decision.trigger,
            pull.installation_id,
            commenter,
        )

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> JobSpec:
        """Rebuild a spec from the queued payload; a TieredReviewError naming the bad field."""
        try:
            stored = _StoredSpec.model_validate(dict(payload))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise TieredReviewError(f"queued job payload: field {where}: {first['msg']}") from None
        try:
            trigger = Trigger.parse(stored.trigger)
        except ValueError as exc:
            raise TieredReviewError(f"queued job payload: field trigger: {exc}") from None
        return cls(
            stored.kind,
            stored.owner,
            stored.repo,
            stored.pr_number,
            stored.mode,
            trigger,
            stored.installation_id,
            stored.commenter,
        )

    def to_payload(self) -> dict[str, Any]:
        """The spec as the queue's JSON payload (the stored format: plain strings and numbers).

        `comment_id` repeats the trigger's comment for rows read by earlier versions.
        """
        return {
            "kind": self.kind.value,
            "owner": self.owner,
            "repo": self.repo,
            "pr_number": self.pr_number,
            "mode": self.mode.value,
            "trigger": str(self.trigger),
            "installation_id": self.installation_id,
            "commenter": self.commenter,
            "comment_id": self.trigger.comment_id,
        }

    def to_json(self) -> str:
        """The payload as the queue stores it: compact JSON, keys sorted, serialised once."""
        return json.dumps(self.to_payload(), sort_keys=True, separators=(",", ":"))
