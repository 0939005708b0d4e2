"""The GitHub App's webhook edge, minus the I/O: verify, parse and classify one delivery.

Pure (gidgethub's `sansio.py` is the model): the web handler reads the raw body and the
`X-Hub-Signature-256` / `X-GitHub-Event` headers, calls `verify_signature`, `parse_json` and
`classify`, and acts on the `Decision` (decision.py). Payload shapes: payloads.py.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from app.errors import WebhookError
from app.gh.commands import parse_command
from app.gh.decision import (
    CommandDecision,
    Decision,
    IgnoreDecision,
    InstallationDecision,
    PongDecision,
    PullTarget,
    ReplyDecision,
    ReviewDecision,
)
from app.gh.payloads import (
    Envelope,
    Installation,
    InstallationEvent,
    InstallationRepositoriesEvent,
    IssueCommentEvent,
    PingEvent,
    PullRequestEvent,
    Repository,
    ReviewCommentEvent,
)
from app.plan.config import Mode

SIGNATURE_PREFIX = "sha256="
REVIEW_ACTIONS = frozenset({"opened", "reopened", "synchronize", "ready_for_review"})
_HEX = frozenset("0123456789abcdefABCDEF")
_SURROGATE = re.compile("[\ud800-\udfff]")


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


# --- classification --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class SkipRules:
    """Which pull requests and comments the App leaves alone (logins and labels ignore case)."""

    bot_login: str
    bot_authors: frozenset[str] = frozenset()
    skip_labels: frozenset[str] = frozenset()
    skip_drafts: bool = True


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
    if event == "pull_request_review_comment":
        return _classify_review_comment(payload, rules)
    if event == "ping":
        ping = _validate(PingEvent, event, payload)
        return PongDecision(f"ping from hook {ping.hook_id}" if ping.hook_id else "ping")
    if event == "installation":
        inst = _validate(InstallationEvent, event, payload)
        return InstallationDecision(f"installation {inst.action}", inst.installation.id)
    if event == "installation_repositories":
        repos = _validate(InstallationRepositoriesEvent, event, payload)
        added = sorted(r.full_name for r in repos.repositories_added)
        removed = sorted(r.full_name for r in repos.repositories_removed)
        return InstallationDecision(
            f"installation repositories {repos.action}: added {added}, removed {removed}",
            repos.installation.id,
        )
    return IgnoreDecision(f"unknown event {event}")


def _classify_pull_request(payload: Mapping[str, Any], rules: SkipRules) -> Decision:
    action = _validate(Envelope, "pull_request", payload).action
    # Other actions are ignored without requiring the rest of the payload.
    if action not in REVIEW_ACTIONS:
        return IgnoreDecision(f"unhandled action {action}")
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
        return ReviewDecision(
            f"PR #{pr.number} {action}",
            _target(ev.repository, pr.number, ev.installation),
            head_sha=pr.head.sha,
            base_sha=pr.base.sha,
            author=author,
            author_association=pr.author_association,
        )
    return IgnoreDecision(reason)


def _classify_comment(payload: Mapping[str, Any], rules: SkipRules) -> Decision:
    action = _validate(Envelope, "issue_comment", payload).action
    if action != "created":
        return IgnoreDecision(f"comment {action}, not created")
    ev = _validate(IssueCommentEvent, "issue_comment", payload)
    user = ev.comment.user
    if ev.issue.pull_request is None:
        return IgnoreDecision(f"comment on issue #{ev.issue.number}, not a pull request")
    if user.login.casefold() == rules.bot_login.casefold():
        return IgnoreDecision(f"comment by this App ({user.login})")
    if user.type == "Bot":
        return IgnoreDecision(f"comment by bot {user.login}")
    command = parse_command(ev.comment.body)
    if command is None:
        return IgnoreDecision("comment is not a /review command")
    if ev.issue.state == "closed":
        return IgnoreDecision(f"/{command} on PR #{ev.issue.number}, which is closed")
    return CommandDecision(
        f"/{command} by {user.login} on PR #{ev.issue.number}",
        _target(ev.repository, ev.issue.number, ev.installation),
        mode=Mode.DEEP if command == "review deep" else Mode.NORMAL,
        comment_id=ev.comment.id,
        commenter=user.login,
        author=ev.issue.user.login,
        author_association=ev.comment.author_association,
    )


def _classify_review_comment(payload: Mapping[str, Any], rules: SkipRules) -> Decision:
    """A reply in a thread, or a new review comment that mentions the bot: maybe answer it.

    Whether the thread is the bot's is for the worker to check (it needs the thread).
    """
    action = _validate(Envelope, "pull_request_review_comment", payload).action
    if action != "created":
        return IgnoreDecision(f"review comment {action}, not created")
    ev = _validate(ReviewCommentEvent, "pull_request_review_comment", payload)
    user, pr = ev.comment.user, ev.pull_request
    if user.login.casefold() == rules.bot_login.casefold():
        return IgnoreDecision(f"review comment by this App ({user.login})")
    if user.type == "Bot":
        return IgnoreDecision(f"review comment by bot {user.login}")
    if pr.state != "open":
        return IgnoreDecision(f"review comment on PR #{pr.number}, which is {pr.state}")
    command = parse_command(ev.comment.body)
    if command is not None:  # `/review deep` in a thread: that file, behind the same gate
        return CommandDecision(
            f"/{command} by {user.login} in a thread on PR #{pr.number}",
            _target(ev.repository, pr.number, ev.installation),
            mode=Mode.DEEP if command == "review deep" else Mode.NORMAL,
            comment_id=ev.comment.id,
            commenter=user.login,
            author=pr.user.login,
            author_association=ev.comment.author_association,
            in_thread=True,
        )
    mention = f"@{rules.bot_login.casefold().removesuffix('[bot]')}"
    mentioned = mention in (ev.comment.body or "").casefold()
    if ev.comment.in_reply_to_id is None and not mentioned:
        return IgnoreDecision("review comment starts a thread and does not mention the bot")
    return ReplyDecision(
        f"review comment {ev.comment.id} by {user.login} on PR #{pr.number}",
        _target(ev.repository, pr.number, ev.installation),
        comment_id=ev.comment.id,
        in_reply_to=ev.comment.in_reply_to_id,
        commenter=user.login,
    )


def _target(repository: Repository, number: int, installation: Installation | None) -> PullTarget:
    return PullTarget(
        repository.owner.login, repository.name, number, installation.id if installation else None
    )


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
