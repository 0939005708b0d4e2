"""The error tree: every failure the product reports to a user is one of these.

TieredReviewError            a user-facing message; the CLI prints it and exits 2
├── DiffError                the diff cannot be parsed (names where)
├── ConfigError              a bad config key or value (names which)
├── RoutingError             a tier names an unknown provider or model (lists the known ones)
├── GitError                 a git command for a local diff failed
├── EvalError                an eval case is malformed (names the file), or an eval cannot run
├── LedgerError              a ledger database cannot be read (names it), or a report filter is bad
├── ProviderError            a model API call failed after the SDK's retries (.provider, .kind)
├── OutputError              a model's answer is not the JSON the contract asks for
├── GitHubError              a GitHub call failed for good (.status_code, None without an answer)
├── AppAuthError             the App could not obtain an installation token
└── WebhookError             a delivery's body is not JSON or lacks a field (names it)

Callers branch on the attributes, never on the message: `ProviderError.kind` says whether the
provider or the request is at fault, `GitHubError.status_code` is GitHub's HTTP status (as
gidgethub's `HTTPException.status_code`). The modules that raise these import them from here.

`ExitCode` is the one table of what the command line's exit statuses mean (docs/cli.md shows it).
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class ExitCode(IntEnum):
    """What `tiered-review` (and the Action's `exit-code` output) exits with."""

    OK = 0  # done: the review is complete (or there was nothing to review)
    CRASH = 1  # an unexpected error: a bug, with a traceback
    USAGE = 2  # a usage, config, input or credentials error: one line on stderr
    EVAL_CLIFF = 3  # `eval` flagged a capability cliff
    PARTIAL = 4  # the review is printed, but some requests failed: it names what was not reviewed
    NOTHING_REVIEWED = 5  # every model request failed: there is no review to trust


class TieredReviewError(Exception):
    """Base of every error with a message meant for the user."""


class DiffError(TieredReviewError):
    """The unified diff is malformed."""


class ConfigError(TieredReviewError):
    """The configuration has an unknown key or a bad value."""


class RoutingError(TieredReviewError):
    """A route names a provider, model or tier that does not exist."""


class GitError(TieredReviewError):
    """A git command needed to build a local diff failed."""


class EvalError(TieredReviewError):
    """An eval case folder is malformed, or the eval cannot run as asked."""


class LedgerError(TieredReviewError):
    """A ledger database is missing, unreadable or not yet migrated, or a report filter is bad."""


class ProviderErrorKind(StrEnum):
    """What went wrong with a model call, in terms the engine acts on."""

    RATE_LIMIT = "rate_limit"
    OVERLOADED = "overloaded"
    SERVER = "server"
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    AUTH = "auth"
    BAD_REQUEST = "bad_request"
    MALFORMED = "malformed"  # the HTTP body was not the API's JSON


class ProviderError(TieredReviewError):
    """A provider call failed after the SDK's own retries."""

    def __init__(self, provider: str, kind: ProviderErrorKind, message: str) -> None:
        super().__init__(f"{provider}: {kind}: {message}")
        self.provider = provider
        self.kind = kind


class OutputError(TieredReviewError):
    """The model's answer is not the JSON the contract asks for."""


class GitHubError(TieredReviewError):
    """A GitHub call failed for good; `status_code` is the HTTP status, None without an answer."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class AppAuthError(TieredReviewError):
    """The App could not obtain an installation token."""


class WebhookError(TieredReviewError):
    """The delivery's body is not JSON, or lacks a field a decision needs (named)."""
