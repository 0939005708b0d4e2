"""The blob cache on real databases: scoped per tenant and repository, LRU-bounded in size."""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from app.gh.client import Blob
from app.store import schema
from app.store.blobs import BlobStore, kept_bytes

T0 = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        self.now += 1.0  # every call is a later moment: the LRU order is the call order
        return self.now


def blob(text: str) -> Blob:
    data = text.encode()
    sha = hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()
    return Blob(sha, len(data), text)


def test_a_kept_blob_and_ref_come_back_in_the_same_scope_only(engine: Engine) -> None:
    mine = BlobStore(engine, "inst-1", "acme/api", clock=Clock())
    old, new = blob("x = 1\n"), blob("x = 2\n")
    mine.put(new)
    mine.put(old, ("c0ffee", "src/a.py"))
    assert mine.get([new.sha, old.sha, "f" * 40]) == {new.sha: new, old.sha: old}
    assert mine.refs("c0ffee", ["src/a.py", "src/b.py"]) == {"src/a.py": old.sha}
    assert mine.refs("deadbeef", ["src/a.py"]) == {}
    # Same repository, another installation; same installation, another repository: nothing.
    for tenant, repo in (("inst-2", "acme/api"), ("inst-1", "acme/web")):
        other = BlobStore(engine, tenant, repo, clock=Clock())
        assert other.get([new.sha, old.sha]) == {}
        assert other.refs("c0ffee", ["src/a.py"]) == {}
    # The repository's name is matched without case, as GitHub does.
    assert BlobStore(engine, "inst-1", "ACME/Api").get([new.sha]) == {new.sha: new}


def test_binary_blobs_are_remembered_without_content(engine: Engine) -> None:
    store = BlobStore(engine, "inst-1", "acme/api", clock=Clock())
    store.put(Blob("a" * 40, 5_000_000, None))
    assert store.get(["a" * 40]) == {"a" * 40: Blob("a" * 40, 5_000_000, None)}
    assert kept_bytes(engine) == 0  # no text kept: it weighs nothing against the bound


def test_the_least_recently_used_blobs_go_past_the_bound(engine: Engine) -> None:
    clock = Clock()
    store = BlobStore(engine, "inst-1", "acme/api", max_bytes=25, clock=clock)
    first, second, third = blob("a" * 10), blob("b" * 10), blob("c" * 10)
    store.put(first, ("c1", "a.py"))
    store.put(second, ("c1", "b.py"))
    assert store.get([first.sha]) == {first.sha: first}  # now used after `second`
    store.put(third)  # 30 bytes > 25: `second`, the least recently used, goes
    assert set(store.get([first.sha, second.sha, third.sha])) == {first.sha, third.sha}
    assert kept_bytes(engine) == 20
    with engine.connect() as conn:
        refs = conn.execute(sa.select(sa.func.count()).select_from(schema.blob_refs)).scalar()
    assert refs == 1  # b.py's ref went with its blob
    assert store.refs("c1", ["a.py", "b.py"]) == {"a.py": first.sha}


def test_the_bound_is_shared_by_all_tenants(engine: Engine) -> None:
    clock = Clock()
    one = BlobStore(engine, "inst-1", "acme/api", max_bytes=15, clock=clock)
    two = BlobStore(engine, "inst-2", "zeta/app", max_bytes=15, clock=clock)
    older, newer = blob("a" * 10), blob("b" * 10)
    one.put(older)
    two.put(newer)
    assert one.get([older.sha]) == {}
    assert two.get([newer.sha]) == {newer.sha: newer}


def test_a_blob_larger_than_the_whole_cache_is_not_kept(engine: Engine) -> None:
    store = BlobStore(engine, "inst-1", "acme/api", max_bytes=5, clock=Clock())
    kept = blob("abc")
    store.put(kept)
    store.put(blob("x" * 50))
    assert store.get([kept.sha]) == {kept.sha: kept}
    assert kept_bytes(engine) == 3


def test_putting_the_same_blob_again_is_an_update(engine: Engine) -> None:
    store = BlobStore(engine, "inst-1", "acme/api", clock=Clock())
    same = blob("print('hi')\n")
    store.put(same, ("c1", "a.py"))
    store.put(same, ("c1", "a.py"))
    store.put(same, ("c2", "b.py"))
    with engine.connect() as conn:
        rows = conn.execute(sa.select(sa.func.count()).select_from(schema.blob_cache)).scalar()
    assert rows == 1
    assert store.refs("c2", ["b.py"]) == {"b.py": same.sha}


def test_a_zero_bound_keeps_nothing(engine: Engine) -> None:
    store = BlobStore(engine, "inst-1", "acme/api", max_bytes=0, clock=Clock())
    store.put(blob("x"), ("c1", "a.py"))
    assert kept_bytes(engine) == 0
    assert store.get([blob("x").sha]) == {}
