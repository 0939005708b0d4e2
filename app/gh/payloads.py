"""The webhook payload subsets a decision reads, validated at the trust boundary.

Only the fields a decision needs; everything else in the payload is ignored. Shapes:
https://docs.github.com/en/webhooks/webhook-events-and-payloads
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


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


class ReviewComment(_Model):
    """A pull request review comment; `in_reply_to_id` is set for a reply in a thread."""

    id: int
    body: str | None = None
    user: Account
    in_reply_to_id: int | None = None
    author_association: str | None = None
    path: str = ""


class ReviewCommentPull(_Model):
    """The pull request a review comment is on."""

    number: int
    state: str
    user: Account


class ReviewCommentEvent(_Model):
    """`pull_request_review_comment`: created, edited, deleted."""

    action: str
    comment: ReviewComment
    pull_request: ReviewCommentPull
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


class Envelope(_Model):
    """Any event with an `action`: read first, so unhandled actions need nothing else."""

    action: str
