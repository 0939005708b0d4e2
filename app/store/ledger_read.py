"""Reading the cost ledger back: read-only, from one or many databases, each review counted once.

A database given to `report` is never written and never migrated. SQLite files open read-only:
`mode=ro` when a WAL file is beside them (a writer may be live; its WAL holds committed rows),
else `immutable=1`, which creates no `-wal`/`-shm` files next to a downloaded artifact.
PostgreSQL sessions are READ ONLY. Only the columns of the ledger's first revision (0002) are
required, so a database at any later revision still reads; `calls` (0004) is read where it
exists and counts as 1 before. One without the ledger tables is named in a `LedgerError` with
its revision.
"""

from __future__ import annotations

import sqlite3
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

from app.errors import LedgerError
from app.store import schema
from app.store.db import database_url, make_engine, state_dir

LEDGER_TABLES = frozenset({"reviews", "review_requests"})
LEDGER_REVISION = "0002"  # the revision that created the ledger tables

_REVIEW_COLUMNS = (
    "uid",
    "source",
    "created_at",
    "repository",
    "pr_number",
    "mode",
    "cost_usd",
    "all_frontier_usd",
    "all_middle_usd",
    "routing_ms",
)
_REQUEST_COLUMNS = (
    "task",
    "tier",
    "provider",
    "model",
    "fresh_input_tokens",
    "cache_write_tokens",
    "cache_read_tokens",
    "output_tokens",
    "prefix_tokens",
    "first_to_model",
    "prefix_hash",
    "cost_usd",
    "all_frontier_usd",
    "all_middle_usd",
    "outcome",
)


@dataclass(frozen=True, slots=True)
class ReviewRow:
    """One `reviews` row, as the report needs it."""

    uid: str
    source: str
    created_at: float
    repository: str
    pr_number: int
    mode: str
    cost_usd: float
    all_frontier_usd: float
    all_middle_usd: float
    routing_ms: float


@dataclass(frozen=True, slots=True)
class RequestRow:
    """One `review_requests` row with the uid of its review."""

    review_uid: str
    task: str
    tier: str
    provider: str
    model: str
    fresh_input_tokens: int
    cache_write_tokens: int
    cache_read_tokens: int
    output_tokens: int
    prefix_tokens: int
    first_to_model: bool
    prefix_hash: str
    cost_usd: float
    all_frontier_usd: float
    all_middle_usd: float
    outcome: str
    calls: int = 1  # model calls, 2 with a repair turn (ledgers before revision 0004: 1)


@dataclass(frozen=True, slots=True)
class FeedbackRow:
    """One developer signal on one finding (revision 0003's `feedback`), with its route."""

    created_at: float
    repository: str
    pr_number: int
    fingerprint: str
    signal: str
    tier: str
    difficulty: str
    category: str

    @property
    def key(self) -> tuple[str, int, str, str]:
        """The same signal on the same finding, whichever database holds it."""
        return (self.repository.lower(), self.pr_number, self.fingerprint, self.signal)


_FEEDBACK_COLUMNS = tuple(FeedbackRow.__slots__)


@dataclass(frozen=True, slots=True)
class LedgerPart:
    """The rows one database gave for the report's filters."""

    name: str
    reviews: tuple[ReviewRow, ...]
    requests: tuple[RequestRow, ...]
    feedback: tuple[FeedbackRow, ...] = ()


@dataclass(frozen=True, slots=True)
class Source:
    """A database read: how many reviews matched, and how many were already counted."""

    name: str
    reviews: int
    duplicates: int


@dataclass(frozen=True, slots=True)
class Ledger:
    """Rows from all databases, each review once."""

    reviews: tuple[ReviewRow, ...]
    requests: tuple[RequestRow, ...]
    sources: tuple[Source, ...]
    feedback: tuple[FeedbackRow, ...] = ()


def merge_ledgers(parts: Sequence[LedgerPart]) -> Ledger:
    """All parts' rows with each review (by uid) counted once: the first database wins."""
    seen: set[str] = set()
    reviews: list[ReviewRow] = []
    requests: list[RequestRow] = []
    sources: list[Source] = []
    for part in parts:
        fresh = {r.uid for r in part.reviews} - seen
        reviews += [r for r in part.reviews if r.uid in fresh]
        requests += [q for q in part.requests if q.review_uid in fresh]
        sources.append(Source(part.name, len(part.reviews), len(part.reviews) - len(fresh)))
        seen |= fresh
    reviews.sort(key=lambda r: (r.created_at, r.uid))
    signals: dict[tuple[str, int, str, str], FeedbackRow] = {}
    for part in parts:
        for row in part.feedback:
            signals.setdefault(row.key, row)
    feedback = tuple(sorted(signals.values(), key=lambda f: (f.created_at, f.key)))
    return Ledger(tuple(reviews), tuple(requests), tuple(sources), feedback)


def read_ledgers(
    values: Sequence[str | None], since: float | None = None, repository: str | None = None
) -> Ledger:
    """The reviews (and their requests) of every database, filtered, each uid once.

    `values` are `TIERED_REVIEW_DB`-style (a file path or a URL; None is the default database);
    `since` is epoch seconds; `repository` matches OWNER/REPO case-insensitively.
    """
    return merge_ledgers([read_part(v, since, repository) for v in values])


def read_part(value: str | None, since: float | None, repository: str | None) -> LedgerPart:
    """One database's rows for the filters."""
    url = database_url(value, state_dir())
    name = display_name(value, url)
    engine = reader_engine(url, name)
    try:
        with engine.connect() as conn:
            _check_schema(conn, name)
            calls = "calls" in {c["name"] for c in sa.inspect(conn).get_columns("review_requests")}
            reviews = conn.execute(_reviews_query(since, repository)).all()
            requests = conn.execute(_requests_query(since, repository, calls=calls)).all()
            feedback: Sequence[sa.Row[Any]] = ()
            if "feedback" in sa.inspect(conn).get_table_names():  # revision 0003 on
                feedback = conn.execute(_feedback_query(since, repository)).all()
    except sa.exc.DBAPIError as exc:
        raise LedgerError(f"{name}: cannot read the ledger: {_reason(exc)}") from exc
    finally:
        engine.dispose()
    return LedgerPart(
        name=name,
        reviews=tuple(ReviewRow(**_mapping(r, _REVIEW_COLUMNS)) for r in reviews),
        requests=tuple(
            RequestRow(
                review_uid=r.review_uid,
                calls=r.calls if calls else 1,
                **_mapping(r, _REQUEST_COLUMNS),
            )
            for r in requests
        ),
        feedback=tuple(FeedbackRow(**_mapping(r, _FEEDBACK_COLUMNS)) for r in feedback),
    )


def display_name(value: str | None, url: str) -> str:
    """How a database is named in the report: its path, or its URL without the password."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.database or url
    return parsed.render_as_string(hide_password=True)


def reader_engine(url: str, name: str) -> Engine:
    """An engine that can only read the database at `url` (see the module docstring)."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "postgresql":
        return make_engine(url).execution_options(postgresql_readonly=True)
    if parsed.get_backend_name() != "sqlite":
        raise LedgerError(f"{name}: unsupported database {parsed.get_backend_name()!r}")
    if not parsed.database or parsed.database == ":memory:":
        raise LedgerError(f"{name}: an in-memory database holds no ledger")
    path = Path(parsed.database).expanduser().resolve()
    if not path.is_file():
        raise LedgerError(
            f"{name}: no such database file (reviews write it; pass --db PATH or set "
            "TIERED_REVIEW_DB)"
        )
    live = any(Path(f"{path}{suffix}").exists() for suffix in ("-wal", "-shm"))
    mode = "mode=ro" if live else "immutable=1"
    uri = f"file:{urllib.parse.quote(str(path))}?{mode}"

    def connect() -> sqlite3.Connection:
        return sqlite3.connect(uri, uri=True, check_same_thread=False)

    return sa.create_engine("sqlite://", creator=connect, poolclass=NullPool)


def _check_schema(conn: Connection, name: str) -> None:
    tables = set(sa.inspect(conn).get_table_names())
    if LEDGER_TABLES <= tables:
        return
    revision = None
    if "alembic_version" in tables:
        revision = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    if revision is None:
        raise LedgerError(f"{name}: not a tiered-review database (it has no ledger tables)")
    raise LedgerError(
        f"{name}: schema revision {revision} predates the ledger (revision {LEDGER_REVISION}); "
        "a review with TIERED_REVIEW_DB pointing at it migrates it"
    )


def _filters(since: float | None, repository: str | None) -> list[sa.ColumnElement[bool]]:
    reviews = schema.reviews
    where: list[sa.ColumnElement[bool]] = []
    if since is not None:
        where.append(reviews.c.created_at >= since)
    if repository:
        where.append(sa.func.lower(reviews.c.repository) == repository.strip().lower())
    return where


def _reviews_query(since: float | None, repository: str | None) -> sa.Select[Any]:
    reviews = schema.reviews
    return (
        sa.select(*(reviews.c[c] for c in _REVIEW_COLUMNS))
        .where(*_filters(since, repository))
        .order_by(reviews.c.created_at, reviews.c.uid)
    )


def _requests_query(
    since: float | None, repository: str | None, *, calls: bool = True
) -> sa.Select[Any]:
    reviews, requests = schema.reviews, schema.review_requests
    columns = [requests.c[c] for c in _REQUEST_COLUMNS] + ([requests.c.calls] if calls else [])
    return (
        sa.select(reviews.c.uid.label("review_uid"), *columns)
        .select_from(requests.join(reviews, requests.c.review_id == reviews.c.id))
        .where(*_filters(since, repository))
        .order_by(reviews.c.created_at, reviews.c.uid, requests.c.id)
    )


def _feedback_query(since: float | None, repository: str | None) -> sa.Select[Any]:
    t = schema.feedback
    where: list[sa.ColumnElement[bool]] = []
    if since is not None:
        where.append(t.c.created_at >= since)
    if repository:
        where.append(sa.func.lower(t.c.repository) == repository.strip().lower())
    return sa.select(*(t.c[c] for c in _FEEDBACK_COLUMNS)).where(*where).order_by(t.c.id)


def _mapping(row: sa.Row[Any], columns: Sequence[str]) -> dict[str, Any]:
    values = row._mapping
    return {c: values[c] for c in columns}


def _reason(exc: sa.exc.DBAPIError) -> str:
    """The driver's one-line message (SQLAlchemy's adds the statement and a link)."""
    return str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
