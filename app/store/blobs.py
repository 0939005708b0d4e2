"""Whole files fetched from GitHub, kept by blob SHA per tenant and repository, LRU-bounded.

A blob SHA names its content, so a kept blob never goes stale; the base side of a diff has no
SHA in the PR's file list, so the blob a path held at a commit is kept too (commits never
change). Rows are scoped by a digest of the tenant and the repository: one tenant never reads
what another fetched. The total size of kept text is bounded; past it the least recently used
rows go. `BlobStore` is what `app.review.whole_files` calls a `BlobCache`.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Collection
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from app.gh.client import Blob
from app.store import schema
from app.store.db import write_transaction

DEFAULT_MAX_BYTES = 256 * 1024 * 1024  # all tenants together
_BATCH = 200  # keys per IN (...) list
# The total is summed at a store's first put, then after every 1/16 of the bound put through it
# (so several processes overshoot the bound by a little, briefly); eviction goes down to 90 %
# of the bound, so the next reviews' puts find room without evicting.
_CHECK_SHARE = 16
_LOW_WATER = 0.9


def scope_of(tenant: str, repository: str) -> str:
    """The cache scope of one tenant's repository (a digest: bounded, and no name in the key)."""
    return hashlib.sha256(f"{tenant}\0{repository.lower()}".encode()).hexdigest()


class BlobStore:
    """The blob cache of one tenant's repository in the database."""

    def __init__(
        self,
        engine: Engine,
        tenant: str,
        repository: str,
        max_bytes: int = DEFAULT_MAX_BYTES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._engine = engine
        self._scope = scope_of(tenant, repository)
        self._max_bytes = max_bytes
        self._clock = clock
        self._unchecked: int | None = None  # bytes put since the total was last summed

    def get(self, shas: Collection[str]) -> dict[str, Blob]:
        """The kept blobs among `shas`, marked as used now."""
        t = schema.blob_cache
        wanted = sorted(set(shas))
        if not wanted or self._max_bytes <= 0:
            return {}
        out: dict[str, Blob] = {}
        with write_transaction(self._engine) as conn:
            for part in _batches(wanted):
                mine = (t.c.scope == self._scope) & t.c.blob_sha.in_(part)
                rows = conn.execute(sa.select(t.c.blob_sha, t.c.size, t.c.content).where(mine))
                for sha, size, content in rows:
                    out[sha] = Blob(sha, int(size), content)
                conn.execute(t.update().where(mine).values(last_used=self._clock()))
        return out

    def refs(self, commit: str, paths: Collection[str]) -> dict[str, str]:
        """path -> the blob SHA it held at `commit`, for the paths seen before; marked as used."""
        t = schema.blob_refs
        keys = {self._ref_key(commit, p): p for p in paths}
        if not keys or self._max_bytes <= 0:
            return {}
        out: dict[str, str] = {}
        with write_transaction(self._engine) as conn:
            for part in _batches(sorted(keys)):
                rows = conn.execute(
                    sa.select(t.c.ref_key, t.c.blob_sha).where(t.c.ref_key.in_(part))
                )
                out |= {keys[key]: sha for key, sha in rows}
                used = t.update().where(t.c.ref_key.in_(part))
                conn.execute(used.values(last_used=self._clock()))
        return out

    def put(self, blob: Blob, at: tuple[str, str] | None = None) -> None:
        """Keep `blob` (and, with `at` = (commit, path), that the path held it there)."""
        weight = _stored_bytes(blob)
        if self._max_bytes <= 0 or weight > self._max_bytes:
            return
        now = self._clock()
        with write_transaction(self._engine) as conn:
            _upsert(
                conn,
                schema.blob_cache,
                {
                    "scope": self._scope,
                    "blob_sha": blob.sha,
                    "size": blob.size,
                    "content": blob.text,
                    "last_used": now,
                },
                ["scope", "blob_sha"],
            )
            if at is not None:
                row = {"ref_key": self._ref_key(*at), "blob_sha": blob.sha, "last_used": now}
                _upsert(conn, schema.blob_refs, row, ["ref_key"])
            unchecked = self._unchecked
            if unchecked is None or unchecked + weight > self._max_bytes // _CHECK_SHARE:
                _evict(conn, self._max_bytes)
                self._unchecked = 0
            else:
                self._unchecked = unchecked + weight

    def _ref_key(self, commit: str, path: str) -> str:
        return hashlib.sha256(f"{self._scope}\0{commit}\0{path}".encode()).hexdigest()


def forget_all(engine: Engine) -> None:
    """Empty the cache (the Action's ledger is uploaded as an artifact: no code goes with it)."""
    with write_transaction(engine) as conn:
        conn.execute(schema.blob_refs.delete())
        conn.execute(schema.blob_cache.delete())


def kept_bytes(engine: Engine) -> int:
    """The bytes of text the cache holds, all tenants together."""
    with engine.connect() as conn:
        total = conn.execute(sa.select(sa.func.sum(_text_bytes()))).scalar()
    return int(total or 0)


def _text_bytes() -> sa.ColumnElement[Any]:
    """A row's weight against the bound: its size at GitHub when text is kept, else 0."""
    t = schema.blob_cache
    return sa.case((t.c.content.is_(None), 0), else_=t.c.size)


def _stored_bytes(blob: Blob) -> int:
    return blob.size if blob.text is not None else 0


def _upsert(conn: Connection, table: sa.Table, row: dict[str, Any], keys: list[str]) -> None:
    """Insert `row`, or update the row with the same key (both engines, no race)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(table).values(**row)
    update = {k: v for k, v in row.items() if k not in keys}
    conn.execute(insert.on_conflict_do_update(index_elements=keys, set_=update))


def _evict(conn: Connection, max_bytes: int) -> None:
    """When the kept text is over the bound, drop the least recently used blobs (and refs to
    them) until it is under 90 % of it."""
    t = schema.blob_cache
    total = int(conn.execute(sa.select(sa.func.sum(_text_bytes()))).scalar() or 0)
    if total <= max_bytes:
        return
    target = int(max_bytes * _LOW_WATER)
    oldest = sa.select(t.c.scope, t.c.blob_sha, _text_bytes()).order_by(t.c.last_used, t.c.blob_sha)
    while total > target:
        page = conn.execute(oldest.limit(_BATCH)).all()
        if not page:
            break
        for scope, sha, weight in page:
            conn.execute(t.delete().where((t.c.scope == scope) & (t.c.blob_sha == sha)))
            total -= int(weight)
            if total <= target:
                break
    # Refs to blobs no longer kept lead nowhere: drop them with their blobs.
    refs = schema.blob_refs
    conn.execute(refs.delete().where(refs.c.blob_sha.not_in(sa.select(t.c.blob_sha))))


def _batches(keys: list[str]) -> list[list[str]]:
    return [keys[i : i + _BATCH] for i in range(0, len(keys), _BATCH)]
