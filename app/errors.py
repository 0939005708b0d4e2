"""The error tree: every failure the product reports to a user is one of these.

TieredReviewError            a user-facing message; the CLI prints it and exits 2
├── DiffError                the diff cannot be parsed (names where)
├── ConfigError              a bad config key or value (names which)
├── RoutingError             a tier names an unknown provider or model (lists the known ones)
├── GitError                 a git command for a local diff failed
├── EvalError                an eval case is malformed (names the file), or an eval cannot run
└── LedgerError              a ledger database cannot be read (names it), or a report filter is bad
"""

from __future__ import annotations


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
