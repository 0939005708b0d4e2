"""The database edge: which URL, one configured engine, write transactions and migrations."""

from __future__ import annotations

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

# A private execution option read by the SQLite "begin" hook below.
_BEGIN_OPTION = "tiered_review_sqlite_begin"
# One writer thread at a time per SQLite engine (see write_transaction).
_WRITER_LOCKS: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()
_BEGIN_MODES = frozenset({"DEFERRED", "IMMEDIATE"})


def database_url(value: str | None, state_dir: Path) -> str:
    """The SQLAlchemy URL for a `TIERED_REVIEW_DB` value: unset, a file path, or a URL."""
    if value is None or not value.strip():
        return f"sqlite:///{state_dir / DB_FILENAME}"
    value = value.strip()
    if "://" not in value:
        return f"sqlite:///{Path(value).expanduser()}"
    scheme = value.split("://", 1)[0].split("+", 1)[0].lower()
    if scheme not in ("sqlite", "postgresql"):
        raise ConfigError(
            f"TIERED_REVIEW_DB: unsupported database {scheme!r}; "
            "use a file path, a sqlite:/// URL or a postgresql:// URL"
        )
    return value


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite files get WAL, a busy timeout, foreign keys and real BEGINs."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # pre_ping: a long-lived worker pool outlives server-side idle timeouts.
        return sa.create_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url)
    _WRITER_LOCKS[engine] = threading.Lock()
    sa.event.listen(engine, "connect", _sqlite_connect)
    sa.event.listen(engine, "begin", _sqlite_begin)
    return engine


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
    interleave. Elsewhere it is an ordinary transaction.
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
    # One write transaction for the whole upgrade: two processes starting on a fresh file
    # serialize here, and the second finds the schema already at head.
    with write_transaction(engine) as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


def head_revision() -> str | None:
    """The newest revision shipped in the package."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None before the first migration."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
