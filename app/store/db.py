"""The database edge: which URL, one configured engine, write transactions and migrations."""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from app.errors import ConfigError

DB_FILENAME = "tiered-review.db"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
BUSY_TIMEOUT_MS = 5000
MIGRATION_LOCK = "tiered-review:migrate"  # held while any process upgrades the schema
# PostgreSQL: a process holds at most POOL_SIZE + POOL_OVERFLOW connections. Its database users
# are the worker threads (claims, heartbeats, results), the one enqueue thread and the event
# loop's default executor (health and metrics), a dozen at most with the default 4 workers; N
# processes need N * 15 under the server's max_connections (100 by default).
POOL_SIZE = 5
POOL_OVERFLOW = 10
POOL_TIMEOUT_S = 30.0
CONNECT_TIMEOUT_S = 10
APPLICATION_NAME = "tiered-review"

# A private execution option read by the SQLite "begin" hook below.
_BEGIN_OPTION = "tiered_review_sqlite_begin"
# One writer thread at a time per SQLite engine (see write_transaction).
_WRITER_LOCKS: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()
_BEGIN_MODES = frozenset({"DEFERRED", "IMMEDIATE"})


def state_dir() -> Path:
    """Where the default SQLite database lives: the user's state directory."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "tiered-review"


def open_database(value: str | None) -> Engine:
    """The queue and ledger database for a `TIERED_REVIEW_DB` value, migrated to the newest."""
    url = database_url(value, state_dir())
    try:
        engine = make_engine(url)
        migrate(engine)
    except (OSError, sa.exc.OperationalError) as exc:
        # A folder the process may not write, a server that is down: say which database.
        shown = sa.make_url(url).render_as_string(hide_password=True)
        reason = exc.orig if isinstance(exc, sa.exc.OperationalError) else exc
        raise ConfigError(f"TIERED_REVIEW_DB: cannot open {shown}: {reason}") from exc
    return engine


def database_url(value: str | None, state_dir: Path) -> str:
    """The SQLAlchemy URL for a `TIERED_REVIEW_DB` value: unset, a file path, or a URL."""
    if value is None or not value.strip():
        return f"sqlite:///{state_dir / DB_FILENAME}"
    value = value.strip()
    if "://" not in value:
        return f"sqlite:///{Path(value).expanduser()}"
    scheme, rest = value.split("://", 1)
    backend, _, driver = scheme.lower().partition("+")
    if backend == "sqlite":
        return value
    if backend in ("postgresql", "postgres") and driver in ("", "psycopg"):
        # A plain DSN, as `psql` and most hosts print it: drive it with psycopg 3, the driver
        # we ship (`postgres://` is the short form some hosts use; SQLAlchemy refuses it).
        return f"postgresql+psycopg://{rest}"
    if backend in ("postgresql", "postgres"):
        raise ConfigError(
            f"TIERED_REVIEW_DB: unsupported PostgreSQL driver {driver!r}; "
            "use a plain postgresql:// DSN (psycopg 3 drives it)"
        )
    raise ConfigError(
        f"TIERED_REVIEW_DB: unsupported database {backend!r}; "
        "use a file path, a sqlite:/// URL or a postgresql:// DSN"
    )


def make_engine(url: str) -> Engine:
    """An engine for `url` (as `database_url` returns it).

    SQLite files get WAL, a busy timeout, foreign keys and real BEGINs; PostgreSQL gets psycopg 3,
    READ COMMITTED and a bounded pool (see `_postgresql_engine`).
    """
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "postgresql":
        return _postgresql_engine(parsed)
    if parsed.get_backend_name() != "sqlite":
        raise ConfigError(f"unsupported database {parsed.get_backend_name()!r}")
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url)
    _WRITER_LOCKS[engine] = threading.Lock()
    sa.event.listen(engine, "connect", _sqlite_connect)
    sa.event.listen(engine, "begin", _sqlite_begin)
    return engine


def _postgresql_engine(url: sa.URL) -> Engine:
    # Plain DSNs get psycopg 3, the driver we ship; database_url has already turned them into
    # postgresql+psycopg, this is for URLs that reach make_engine another way.
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    connect_args: dict[str, Any] = {}
    if "connect_timeout" not in url.query:
        # A database that is down must not hang a webhook past GitHub's 10 seconds.
        connect_args["connect_timeout"] = CONNECT_TIMEOUT_S
    if "application_name" not in url.query:
        connect_args["application_name"] = APPLICATION_NAME  # names us in pg_stat_activity
    return sa.create_engine(
        url,
        # SKIP LOCKED claims and the advisory locks of `serialize` are written for READ
        # COMMITTED: each statement sees what committed before it, including after a wait.
        isolation_level="READ COMMITTED",
        # pre_ping: a long-lived worker pool outlives server-side idle timeouts.
        pool_pre_ping=True,
        pool_size=POOL_SIZE,
        max_overflow=POOL_OVERFLOW,
        pool_timeout=POOL_TIMEOUT_S,
        connect_args=connect_args,
    )


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take BEGIN away from the sqlite3 module: its legacy mode never begins before a SELECT, so
    # a read-then-write transaction is not serializable. `_sqlite_begin` emits BEGIN instead.
    # https://docs.sqlalchemy.org/en/20/dialects/sqlite.html#sqlite-transactions
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        # Busy timeout first, so that switching a fresh file to WAL waits for a concurrent one.
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        # WAL: readers never block the writer, and the webhook's commit does not wait for them.
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    mode = conn.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
    if mode not in _BEGIN_MODES:
        raise ValueError(f"unknown SQLite BEGIN mode {mode!r}")
    conn.exec_driver_sql(f"BEGIN {mode}")


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that will write: on SQLite it takes the write lock up front.

    BEGIN IMMEDIATE waits (up to the busy timeout) for the one writer slot before reading, so a
    read-then-write transaction never fails with SQLITE_BUSY halfway, and two of them never
    interleave. On PostgreSQL it is an ordinary READ COMMITTED transaction: callers that must
    not interleave take row locks or `serialize`.
    """
    lock = _WRITER_LOCKS.get(engine)
    if lock is None:
        with engine.connect() as conn, conn.begin():
            yield conn
        return
    # Threads of one process queue fairly on a Python lock; SQLite's own busy handler backs off
    # with growing sleeps and let some writers starve for up to a second under load (measured
    # with bench/webhook_load.py). Writers in other processes still meet the busy timeout.
    with lock, engine.connect() as conn:
        conn.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
        with conn.begin():
            yield conn


def serialize(conn: Connection, key: str) -> None:
    """Hold the lock named `key` until `conn`'s transaction ends, across threads and processes.

    PostgreSQL: a transaction-level advisory lock on a 64-bit hash of `key` (a collision only
    makes two unrelated keys wait for each other). SQLite: nothing to take, a write transaction
    already holds the database's one write lock.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtextextended(key, 0))))


def alembic_config(url: str | None = None) -> AlembicConfig:
    """Alembic's configuration, built in code around the packaged migrations folder."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        # ConfigParser interpolation treats `%` specially; URL-escaped passwords contain it.
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(engine: Engine) -> None:
    """Bring the database to the newest schema revision; a no-op when it is already there."""
    config = alembic_config()
    # One write transaction for the whole upgrade: two processes starting on a fresh database
    # serialize here (PostgreSQL's DDL is transactional too), and the second finds the schema
    # already at head instead of failing on "relation already exists".
    with write_transaction(engine) as conn:
        serialize(conn, MIGRATION_LOCK)
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


def head_revision() -> str | None:
    """The newest revision shipped in the package."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None before the first migration."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
