"""The GitHub App's webhook edge, minus the I/O: verify, parse and classify one delivery.

Pure (gidgethub's `sansio.py` is the model): the web handler reads the raw body and the
`X-Hub-Signature-256` / `X-GitHub-Event` headers, calls `verify_signature`, `parse_json` and
`classify`, and acts on the `Decision`. Payload shapes:
https://docs.github.com/en/webhooks/webhook-events-and-payloads
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypedDict, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from app.errors import TieredReviewError
from app.gh.commands import CommandName
from app.plan.config import Mode

SIGNATURE_PREFIX = "sha256="
REVIEW_ACTIONS = frozenset({"opened", "reopened", "synchronize", "ready_for_review"})
_HEX = frozenset("0123456789abcdefABCDEF")
_BLANKS = re.compile(r"[ \t]+")
_SURROGATE = re.compile("[\ud800-\udfff]")

DecisionAction = Literal["review", "command", "pong", "installation", "ignore"]


class WebhookError(TieredReviewError):
    """The delivery's body is not JSON, or lacks a field a decision needs (named)."""


# --- signature -------------------------------------------------------------------------------


def verify_signature(secret: bytes, body: bytes, header: str | None) -> bool:
    """True when `header` is `sha256=<hex HMAC-SHA256 of body under secret>`; never raises.

    An empty secret never verifies: an App configured without one must not accept anything
    signed with the empty key.
    """
    if not secret or header is None or not header.startswith(SIGNATURE_PREFIX):
        return False
    given = header[len(SIGNATURE_PREFIX) :]
    # Check the characters first: bytes.fromhex would skip spaces.
    if len(given) != 2 * hashlib.sha256().digest_size or not _HEX.issuperset(given):
        return False
    expected = hmac.new(secret, body, hashlib.sha256).digest()
    return hmac.compare_digest(expected, bytes.fromhex(given))


# --- payload models: only the fields a decision reads ----------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Account(_Model):
    """A user, bot or organization (`sender`, `user`, `owner`)."""

    login: str
    type: str = "User"


class Repository(_Model):
    """The repository a delivery is about."""

    full_name: str
    name: str
    owner: Account


class Installation(_Model):
    """The App installation; absent from plain repository webhooks."""

    id: int


class Label(_Model):
    """A label on a pull request."""

    name: str


class Ref(_Model):
    """A pull request's head or base."""

    sha: str


class PullRequest(_Model):
    """The pull request of a `pull_request` event."""

    number: int
    state: str
    draft: bool | None = None
    head: Ref
    base: Ref
    user: Account
    labels: list[Label] = []
    author_association: str | None = None


class PullRequestEvent(_Model):
    """`pull_request`: opened, synchronize, labeled, ..."""

    action: str
    pull_request: PullRequest
    repository: Repository
    installation: Installation | None = None
    sender: Account | None = None


class IssuePullRequestLink(_Model):
    """`issue.pull_request`: present only when the issue is a pull request."""

    url: str | None = None


class Issue(_Model):
    """The issue (or pull request) an `issue_comment` is on."""

    number: int
    user: Account
    state: str | None = None
    pull_request: IssuePullRequestLink | None = None


class Comment(_Model):
    """An issue comment; `body` may be null."""

    id: int
    body: str | None = None
    user: Account
    author_association: str | None = None


class IssueCommentEvent(_Model):
    """`issue_comment`: created, edited, deleted."""

    action: str
    issue: Issue
    comment: Comment
    repository: Repository
    installation: Installation | None = None
    sender: Account | None = None


class PingHook(_Model):
    """The hook a `ping` tests; `app_id` is set for a GitHub App's hook."""

    type: str | None = None
    app_id: int | None = None


class PingEvent(_Model):
    """`ping`: sent once when a hook is created; an organization hook has no repository."""

    zen: str | None = None
    hook_id: int | None = None
    hook: PingHook | None = None
    repository: Repository | None = None
    sender: Account | None = None


class RepositoryRef(_Model):
    """A repository as listed in installation events."""

    full_name: str


class InstallationEvent(_Model):
    """`installation`: created, deleted, suspend, ..."""

    action: str
    installation: Installation
    repositories: list[RepositoryRef] | None = None
    sender: Account | None = None


class InstallationRepositoriesEvent(_Model):
    """`installation_repositories`: added, removed."""

    action: str
    installation: Installation
    repositories_added: list[RepositoryRef] = []
    repositories_removed: list[RepositoryRef] = []
    sender: Account | None = None


class _Envelope(_Model):
    action: str


# --- commands --------------------------------------------------------------------------------


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


# --- classification --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class SkipRules:
    """Which pull requests and comments the App leaves alone (logins and labels ignore case)."""

    bot_login: str
    bot_authors: frozenset[str] = frozenset()
    skip_labels: frozenset[str] = frozenset()
    skip_drafts: bool = True


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with one delivery, and why; the PR fields are set for review and command.

    `author_association` is the PR author's for a review and the commenter's for a command.
    `head_sha` and `base_sha` are None for a command: the worker fetches the PR.
    """

    action: DecisionAction
    reason: str
    repository: str | None = None
    owner: str | None = None
    repo: str | None = None
    pr_number: int | None = None
    head_sha: str | None = None
    base_sha: str | None = None
    installation_id: int | None = None
    mode: Mode = Mode.NORMAL
    trigger: str | None = None
    commenter: str | None = None
    author: str | None = None
    author_association: str | None = None


def parse_json(body: bytes) -> Mapping[str, Any]:
    """The delivery's JSON object; WebhookError for anything else."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as error:  # JSONDecodeError and bad UTF-8
        raise WebhookError(f"malformed JSON: {error}") from None
    if not isinstance(data, dict):
        raise WebhookError(f"malformed JSON: top level is {type(data).__name__}, not an object")
    if _unpaired_surrogate(data):  # text no log, queue row or JSON answer can encode
        raise WebhookError("malformed JSON: a string holds an unpaired \\ud800-\\udfff escape")
    return data


def _unpaired_surrogate(data: Any) -> bool:
    """Whether any key or string holds a lone surrogate (json.loads joins the valid pairs)."""
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            if not node.isascii() and _SURROGATE.search(node):
                return True
        elif isinstance(node, dict):
            stack.extend(node)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


def classify(event: str, payload: Mapping[str, Any], rules: SkipRules) -> Decision:
    """Decide a delivery from its `X-GitHub-Event` name and parsed body."""
    if event == "pull_request":
        return _classify_pull_request(payload, rules)
    if event == "issue_comment":
        return _classify_comment(payload, rules)
    if event == "ping":
        ping = _validate(PingEvent, event, payload)
        return Decision("pong", f"ping from hook {ping.hook_id}" if ping.hook_id else "ping")
    if event == "installation":
        inst = _validate(InstallationEvent, event, payload)
        return Decision(
            "installation", f"installation {inst.action}", installation_id=inst.installation.id
        )
    if event == "installation_repositories":
        repos = _validate(InstallationRepositoriesEvent, event, payload)
        added = sorted(r.full_name for r in repos.repositories_added)
        removed = sorted(r.full_name for r in repos.repositories_removed)
        return Decision(
            "installation",
            f"installation repositories {repos.action}: added {added}, removed {removed}",
            installation_id=repos.installation.id,
        )
    return Decision("ignore", f"unknown event {event}")


def _classify_pull_request(payload: Mapping[str, Any], rules: SkipRules) -> Decision:
    action = _validate(_Envelope, "pull_request", payload).action
    # Other actions are ignored without requiring the rest of the payload.
    if action not in REVIEW_ACTIONS:
        return Decision("ignore", f"unhandled action {action}")
    ev = _validate(PullRequestEvent, "pull_request", payload)
    pr = ev.pull_request
    author = pr.user.login
    skip_labels = {label.casefold() for label in rules.skip_labels}
    hits = sorted(label.name for label in pr.labels if label.name.casefold() in skip_labels)
    if pr.state != "open":
        reason = f"{pr.state} PR"
    elif pr.draft and rules.skip_drafts:
        reason = "draft PR"
    elif author.casefold() in {login.casefold() for login in rules.bot_authors}:
        reason = f"author {author} is a configured bot"
    elif hits:
        reason = f"label {hits[0]}"
    else:
        return Decision(
            "review",
            f"PR #{pr.number} {action}",
            **_where(ev.repository, ev.installation),
            pr_number=pr.number,
            head_sha=pr.head.sha,
            base_sha=pr.base.sha,
            trigger="push",
            author=author,
            author_association=pr.author_association,
        )
    return Decision("ignore", reason)


def _classify_comment(payload: Mapping[str, Any], rules: SkipRules) -> Decision:
    action = _validate(_Envelope, "issue_comment", payload).action
    if action != "created":
        return Decision("ignore", f"comment {action}, not created")
    ev = _validate(IssueCommentEvent, "issue_comment", payload)
    user = ev.comment.user
    if ev.issue.pull_request is None:
        return Decision("ignore", f"comment on issue #{ev.issue.number}, not a pull request")
    if user.login.casefold() == rules.bot_login.casefold():
        return Decision("ignore", f"comment by this App ({user.login})")
    if user.type == "Bot":
        return Decision("ignore", f"comment by bot {user.login}")
    command = parse_command(ev.comment.body)
    if command is None:
        return Decision("ignore", "comment is not a /review command")
    if ev.issue.state == "closed":
        return Decision("ignore", f"/{command} on PR #{ev.issue.number}, which is closed")
    return Decision(
        "command",
        f"/{command} by {user.login} on PR #{ev.issue.number}",
        **_where(ev.repository, ev.installation),
        pr_number=ev.issue.number,
        mode=Mode.DEEP if command == "review deep" else Mode.NORMAL,
        trigger=f"comment:{ev.comment.id}",
        commenter=user.login,
        author=ev.issue.user.login,
        author_association=ev.comment.author_association,
    )


class _Where(TypedDict):
    repository: str
    owner: str
    repo: str
    installation_id: int | None


def _where(repository: Repository, installation: Installation | None) -> _Where:
    return {
        "repository": repository.full_name,
        "owner": repository.owner.login,
        "repo": repository.name,
        "installation_id": installation.id if installation else None,
    }


_M = TypeVar("_M", bound=BaseModel)


def _validate(model: type[_M], event: str, payload: Mapping[str, Any]) -> _M:
    """The payload as `model`, or a WebhookError naming the first bad fields."""
    try:
        return model.model_validate(dict(payload))
    except ValidationError as error:
        problems = []
        for item in error.errors()[:3]:
            where = ".".join(str(part) for part in item["loc"]) or "payload"
            if item["type"] == "missing":
                problems.append(f"missing field {where}")
            else:
                problems.append(f"field {where}: {item['msg']}")
        more = error.error_count() - len(problems)
        tail = f" (and {more} more)" if more > 0 else ""
        raise WebhookError(f"{event} payload: {'; '.join(problems)}{tail}") from None
