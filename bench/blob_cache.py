"""The blob cache's cost per review on a full SQLite cache: keeping and reading 40 whole files.

    python bench/blob_cache.py                       # 256 MB bound, 30 KB files, 40 per review
    python bench/blob_cache.py --bound-mb 64 --file-kb 10 --files 40 --reviews 50

Fills the cache past its bound (so every put evicts), then times reviews: one `put` per file
(what a first review does after its contents reads) and one `refs` + `get` batch for the same
files (what a repeat review does instead of 2 x files requests to GitHub). Prints the machine,
the medians per review and the kept bytes against the bound.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.gh.client import Blob  # noqa: E402
from app.store.blobs import BlobStore, kept_bytes  # noqa: E402
from app.store.db import make_engine, migrate  # noqa: E402


def blob(n: int, size: int) -> Blob:
    text = (f"# file {n}\n" + "x = 1\n" * size)[:size]
    data = text.encode()
    sha = hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()
    return Blob(sha, len(data), text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bound-mb", type=int, default=256)
    parser.add_argument("--file-kb", type=int, default=30)
    parser.add_argument("--files", type=int, default=40)
    parser.add_argument("--reviews", type=int, default=30)
    args = parser.parse_args()
    bound, size = args.bound_mb * 1024 * 1024, args.file_kb * 1024
    python = sys.version.split()[0]
    print(f"machine: nproc={os.cpu_count()} arch={platform.machine()} python={python}")
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'cache.db'}")
        migrate(engine)
        store = BlobStore(engine, "inst-1", "acme/api", bound)
        n = 0
        fill = bound // size + args.files
        started = time.perf_counter()
        for _ in range(fill):
            store.put(blob(n, size), (f"c{n // args.files}", f"f{n}.py"))
            n += 1
        print(f"filled: {fill} blobs in {time.perf_counter() - started:.1f} s")
        puts, reads = [], []
        for review in range(args.reviews):
            commit = f"r{review}"
            store = BlobStore(engine, "inst-1", "acme/api", bound)  # one per job, as in jobs.py
            batch = [blob(n + i, size) for i in range(args.files)]
            n += args.files
            t0 = time.perf_counter()
            for i, b in enumerate(batch):
                store.put(b, (commit, f"f{i}.py"))
            t1 = time.perf_counter()
            refs = store.refs(commit, [f"f{i}.py" for i in range(args.files)])
            got = store.get(set(refs.values()))
            t2 = time.perf_counter()
            assert len(got) == args.files, len(got)
            puts.append((t1 - t0) * 1000)
            reads.append((t2 - t1) * 1000)
        kept = kept_bytes(engine)
        engine.dispose()
    print(
        f"per review of {args.files} files of {args.file_kb} KB: "
        f"put median {statistics.median(puts):.1f} ms, "
        f"refs+get median {statistics.median(reads):.1f} ms"
    )
    print(f"kept {kept / 1024 / 1024:.1f} MB of a {args.bound_mb} MB bound")


if __name__ == "__main__":
    main()
