"""Fresh, empty databases for the storage tests: a SQLite file, or a PostgreSQL schema of its own.

`TIERED_REVIEW_TEST_PG` names a PostgreSQL database the tests may write to (`.ci/postgres`
starts a throwaway server and sets it). Each test gets new schemas in it, reached through
`search_path` in the URL (`options=-csearch_path=...`), so a child process given the same URL
lands in the same schema; the schemas are dropped when the test ends.
"""

from __future__ import annotations

import functools
import uuid
from pathlib import Path
from types import TracebackType

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

from app.store.db import database_url

ENGINES = ("sqlite", "postgresql")
PG_ENV = "TIERED_REVIEW_TEST_PG"
# Teardown waits this long for a lock on a schema's tables (a child process still connected).
DROP_LOCK_TIMEOUT = "20s"


@functools.cache
def _admin(dsn: str) -> Engine:
    # NullPool: no connection left open between tests to hold a lock or count against a limit.
    return sa.create_engine(database_url(dsn, Path(".")), poolclass=NullPool)


class Databases:
    """Makes fresh databases of one engine on demand, and removes them on exit."""

    def __init__(self, engine: str, tmp_path: Path, pg_dsn: str | None = None) -> None:
        if engine not in ENGINES:
            raise ValueError(f"unknown engine {engine!r}")
        if engine == "postgresql" and not pg_dsn:
            raise ValueError(f"{PG_ENV} is needed for PostgreSQL")
        self.engine = engine
        self._tmp_path = tmp_path
        self._pg_dsn = pg_dsn or ""
        self._schemas: list[str] = []

    def __call__(self) -> str:
        """The URL of a new, empty database."""
        name = f"t_{uuid.uuid4().hex[:16]}"
        if self.engine == "sqlite":
            return database_url(str(self._tmp_path / f"{name}.db"), self._tmp_path)
        with _admin(self._pg_dsn).begin() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {name}")
        self._schemas.append(name)
        url = sa.make_url(database_url(self._pg_dsn, self._tmp_path))
        return url.update_query_dict({"options": f"-csearch_path={name}"}).render_as_string(
            hide_password=False
        )

    def __enter__(self) -> Databases:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if not self._schemas:
            return
        with _admin(self._pg_dsn).begin() as conn:
            conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{DROP_LOCK_TIMEOUT}'")
            for name in self._schemas:
                conn.exec_driver_sql(f"DROP SCHEMA {name} CASCADE")
        self._schemas.clear()
