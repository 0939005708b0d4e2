"""Whole files at the base and head of a PR's diff, for the parsed facts: bounded and cached.

Which files: code in a language the facts parser knows, not binary, excluded, vendored, a
lockfile, generated, minified or private, at most `difficulty.whole_files.max_files` of them,
largest changes first. The head side is read at the PR's head SHA; the base side at the merge
base (the PR's file list is diffed against it, not against the base branch's tip, which may have
moved on): one compare request finds it, and when it cannot, the base SHA is read instead and
the core's check that the two files agree with the hunks drops a pair that does not.

Every read goes through a `BlobCache` first. The PR's file list names each head blob's SHA; the
blob a base path held at the merge base is remembered by the cache, so a second review after a
push reads from GitHub only the files that changed. A file over the bound, absent, binary or not
UTF-8 is skipped; a rate limit or a timeout stops the remaining reads; either way one log line
says so and the review goes on from the hunks. Nothing fetched is logged or executed.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from app.errors import GitHubError
from app.gh.client import Blob, FetchStopped, GitHubClient, PullInfo
from app.plan.config import Config
from app.plan.diff import FileDiff, FileStatus
from app.plan.facts.grammar import language_of
from app.plan.globs import compile_globs
from app.plan.patterns import compile_patterns

log = logging.getLogger(__name__)
CONTEXT_MAX_BYTES = 1_000_000  # what GitHub's contents API sends at most
_MARKER_LINES = 12  # generated-code markers sit at the top of a file


class BlobCache(Protocol):
    """Blobs by SHA for one tenant's repository (the database's, from `app.store.blobs`)."""

    def get(self, shas: Collection[str]) -> Mapping[str, Blob]:
        """The kept blobs among `shas`."""
        ...

    def refs(self, commit: str, paths: Collection[str]) -> Mapping[str, str]:
        """path -> the blob SHA it held at `commit`, for the paths known."""
        ...

    def put(self, blob: Blob, at: tuple[str, str] | None = None) -> None:
        """Keep `blob`; with `at` = (commit, path), that the path held it there."""
        ...


@dataclass(frozen=True, slots=True)
class Wanted:
    """One file whose whole text the facts compare: which sides to read, and where."""

    path: str
    old_path: str  # its path at the base (differs when renamed)
    head: bool  # read at the head (not when deleted)
    base: bool  # read at the base (not when added)


def whole_file_targets(files: Sequence[FileDiff], config: Config) -> list[Wanted]:
    """The code files worth reading whole, largest changes first, at most `max_files`."""
    bounds = config.difficulty.whole_files
    if not bounds.enabled or bounds.max_files == 0:
        return []
    g = config.difficulty.globs
    private = compile_globs(config.paths.private)
    skipped = compile_globs(
        [*config.paths.exclude, *g.vendored, *g.lockfile, *g.generated, *g.minified]
    )
    too_many = config.difficulty.max_file_changed_lines
    picked = [
        f
        for f in files
        if language_of(f.path) is not None
        and not (f.is_binary or f.undecodable or not f.hunks)
        and not private.match(f.path)
        and not skipped.match(f.path)
        and f.added + f.removed <= too_many
    ]
    picked.sort(key=lambda f: (-(f.added + f.removed), f.path))
    return [
        Wanted(
            path=f.path,
            old_path=f.old_path or f.path,
            head=f.status is not FileStatus.DELETED,
            base=f.status is not FileStatus.ADDED,
        )
        for f in picked[: bounds.max_files]
    ]


class WholeFiles:
    """The whole files of one review, each side of each path read at most once."""

    def __init__(
        self,
        client: GitHubClient,
        info: PullInfo,
        config: Config,
        cache: BlobCache | None = None,
    ) -> None:
        self._client = client
        self._info = info
        self._max_bytes = config.difficulty.whole_files.max_bytes
        self._marker = compile_patterns(config.difficulty.patterns.generated_marker)
        self._cache = cache
        self._heads: dict[str, Blob | None] = {}  # path -> its blob at the head (None: none)
        self.sources: dict[str, str] = {}  # path -> text at the head, for the plan
        self.originals: dict[str, str] = {}  # path -> text at the base, for the plan
        self.requests = 0  # GitHub requests made (contents and compare)
        self._stopped = ""  # why the remaining reads were given up, once they were

    def fetch(self, wanted: Sequence[Wanted]) -> None:
        """Read both sides of `wanted` (cache first); keep the pairs within the size bound."""
        self._read_heads([w.path for w in wanted if w.head], self._max_bytes)
        bases = [w for w in wanted if w.base]
        commit = self._base_commit() if bases else None
        olds = self._read_at(commit, [w.old_path for w in bases]) if commit else {}
        for w in bases:
            text = self._usable(w.old_path, olds.get(w.old_path), self._max_bytes)
            if text is not None and (not w.head or w.path in self.sources):
                self.originals[w.path] = text
        for w in wanted:  # a head without its base compares nothing (added files excepted)
            if w.head and w.base and w.path not in self.originals:
                self.sources.pop(w.path, None)

    def context(self, paths: Iterable[str]) -> bool:
        """Add the head text of `paths` for surrounding code; True when any was added."""
        before = len(self.sources)
        self._read_heads([p for p in paths if p not in self.sources], CONTEXT_MAX_BYTES)
        return len(self.sources) > before

    def _read_heads(self, paths: Sequence[str], max_bytes: int) -> None:
        """Head texts of `paths` into `sources` (up to `max_bytes` each); each path read once."""
        new = [p for p in paths if p not in self._heads]
        shas = {p: self._info.blobs[p] for p in new if p in self._info.blobs}
        kept = self._cache.get(set(shas.values())) if self._cache and shas else {}
        for path in new:
            blob = kept.get(shas.get(path, ""))
            if blob is None:
                blob = self._read(path, self._info.head_sha, at=False)
            self._heads[path] = blob
        for path in paths:
            text = self._usable(path, self._heads.get(path), max_bytes)
            if text is not None and not self._generated(text):
                self.sources[path] = text

    def _read_at(self, commit: str, paths: Sequence[str]) -> dict[str, Blob]:
        """Blobs of `paths` at `commit`: the cache's refs and blobs first, then GitHub."""
        known = self._cache.refs(commit, paths) if self._cache else {}
        kept = self._cache.get(set(known.values())) if self._cache and known else {}
        out: dict[str, Blob] = {}
        for path in paths:
            blob = kept.get(known.get(path, ""))
            if blob is None:
                blob = self._read(path, commit, at=True)
            if blob is not None:
                out[path] = blob
        return out

    def _read(self, path: str, ref: str, *, at: bool) -> Blob | None:
        """One contents request, kept in the cache; None (and one log line) when unusable."""
        if self._stopped:
            return None
        info = self._info
        self.requests += 1
        try:
            blob = self._client.blob_at(info.owner, info.repo, path, ref, CONTEXT_MAX_BYTES)
        except FetchStopped as exc:
            self._stopped = str(exc)
            log.info("whole files: stopped at %s (%s); the rest read from hunks", path, exc)
            return None
        except GitHubError as exc:
            log.info("whole files: %s at %s skipped: %s", path, ref[:12], exc)
            return None
        if blob is None:
            log.info("whole files: %s at %s skipped: not a file there", path, ref[:12])
            return None
        if self._cache is not None:
            self._cache.put(blob, (ref, path) if at else None)
        return blob

    def _base_commit(self) -> str | None:
        """The merge base the PR's files are diffed against; the base SHA when compare fails."""
        if self._stopped:
            return None
        info = self._info
        self.requests += 1
        found = self._client.merge_base(info.owner, info.repo, info.base_sha, info.head_sha)
        return found or info.base_sha

    def _usable(self, path: str, blob: Blob | None, max_bytes: int) -> str | None:
        """The blob's text when it has one no larger than `max_bytes`; else a log line says why."""
        if blob is None:
            return None
        if blob.text is None or blob.size > max_bytes:
            why = "binary or not UTF-8" if blob.size <= max_bytes else f"{blob.size} bytes"
            log.info("whole files: %s skipped: %s (at most %d bytes)", path, why, max_bytes)
            return None
        return blob.text

    def _generated(self, text: str) -> bool:
        head = "\n".join(text.split("\n", _MARKER_LINES)[:_MARKER_LINES])
        return self._marker.first(head) is not None
