"""Chunks: one file (or one group of its hunks) to review, or a skipped file with its reason."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

from app.plan.config import Config, Difficulty
from app.plan.diff import Anchor, FileDiff, FileStatus, Hunk
from app.plan.difficulty import ChangeView, Classifier, FileKind, Label
from app.plan.globs import GlobSet, compile_globs
from app.plan.model_config import DifficultyModel
from app.plan.patterns import Patterns, compile_patterns
from app.plan.tokens import TokenCounter


class SkipReason(StrEnum):
    """Why a chunk is not reviewed (a closed set; `over_budget` extends the issue's list)."""

    LOCKFILE = "lockfile"
    GENERATED = "generated"
    VENDORED = "vendored"
    MINIFIED = "minified"
    BINARY = "binary"
    ENCODING = "encoding"
    RENAME = "rename"
    TOO_LARGE = "too_large"
    FILTERED = "filtered"
    PRIVATE_NO_LOCAL = "private_no_local"
    OVER_BUDGET = "over_budget"


@dataclass(frozen=True, slots=True)
class Chunk:
    """A unit of review: one file's hunks `hunks[0].index..` with its label and tokens."""

    id: str
    path: str
    file: FileDiff
    hunks: tuple[Hunk, ...]
    lines_added: int
    lines_deleted: int
    difficulty: Difficulty
    reasons: tuple[str, ...]
    signals: tuple[str, ...]
    kind: FileKind
    skipped: SkipReason | None
    private: bool
    instructions: tuple[str, ...]
    text: str  # the chunk as models read it: file header then numbered hunks
    tokens: int  # o200k tokens of `text`
    header_tokens: int = 0
    hunk_tokens: tuple[int, ...] = ()  # o200k tokens of each hunk's numbered text
    signatures: tuple[str, ...] = ()  # public definitions changed in the whole file
    score: float | None = None  # the difficulty model's score (None: legacy model or skipped)
    ambiguous: bool = False  # the score fell in the model's ambiguous band

    @property
    def reviewable(self) -> bool:
        """Whether this chunk goes to a model at all."""
        return self.skipped is None and bool(self.hunks)

    def anchors(self) -> tuple[Anchor, ...]:
        """Every line an inline comment on this chunk may anchor to."""
        return tuple(a for h in self.hunks for a in h.anchors(self.path))


# A minified file has at least one very long line and long lines on average.
_MINIFIED_LINE = 1000
_MINIFIED_AVERAGE = 200
_MARKER_LINES = 12  # generated-code markers sit at the top of a file


def chunk_id(path: str, hunk_index: int) -> str:
    """A stable id from the path and the first hunk's index."""
    return f"{hashlib.sha256(path.encode('utf-8', 'surrogatepass')).hexdigest()[:10]}-h{hunk_index}"


@dataclass(frozen=True, slots=True)
class Chunker:
    """Turns parsed files into chunks under the configured rules."""

    config: Config
    classifier: Classifier
    counter: TokenCounter
    has_local: bool
    max_hunk_tokens: int  # a single hunk above this (o200k) fits no configured window
    private: GlobSet
    instructions: tuple[tuple[GlobSet, str], ...]
    skips: tuple[tuple[SkipReason, GlobSet], ...]  # path globs checked in this order
    marker: Patterns
    sources: Mapping[str, str] = field(default_factory=dict)  # path -> whole file at the head
    originals: Mapping[str, str] = field(default_factory=dict)  # path -> whole file at the base

    def chunks(self, files: Sequence[FileDiff]) -> tuple[Chunk, ...]:
        """All chunks of a diff, sorted by path then hunk."""
        out: list[Chunk] = []
        for file in sorted(files, key=lambda f: f.path):
            out.extend(self._file_chunks(file))
        return tuple(out)

    def _file_chunks(self, file: FileDiff) -> list[Chunk]:
        private = self.private.match(file.path)
        instructions = tuple(text for globs, text in self.instructions if globs.match(file.path))
        skip = self._skip_reason(file, private)
        if skip is None:
            label = self.classifier.classify(
                ChangeView(
                    path=file.path,
                    status=file.status,
                    added=[line for h in file.hunks for line in h.added_lines],
                    removed=[line for h in file.hunks for line in h.removed_lines],
                    hunks=file.hunks,
                    old_text=self._original(file),
                    new_text=self._source(file),
                )
            )
        else:  # not worth classifying what no model will read
            label = Label(
                Difficulty.TRIVIAL, (f"skipped: {skip}",), (), self.classifier.kind_of(file.path)
            )

        def make(
            hunks: tuple[Hunk, ...],
            tokens: int,
            reason: SkipReason | None,
            per_hunk: tuple[int, ...] = (),
        ) -> Chunk:
            text = file.header + "".join(h.numbered for h in hunks) if reason is None else ""
            return Chunk(
                id=chunk_id(file.path, hunks[0].index if hunks else 0),
                path=file.path,
                file=file,
                hunks=hunks,
                lines_added=sum(len(h.added_lines) for h in hunks) if hunks else file.added,
                lines_deleted=sum(len(h.removed_lines) for h in hunks) if hunks else file.removed,
                difficulty=label.difficulty,
                reasons=label.reasons,
                signals=label.signals,
                kind=label.kind,
                skipped=reason,
                private=private,
                instructions=instructions,
                text=text,
                tokens=tokens,
                header_tokens=header_tokens if reason is None else 0,
                hunk_tokens=per_hunk,
                signatures=label.signatures,
                score=label.score,
                ambiguous=label.ambiguous,
            )

        header_tokens = 0
        if skip is not None:
            return [make(file.hunks, 0, skip)]
        count = self.counter.count
        header_tokens = count(file.header)
        budget = self.config.requests.chunk_max_tokens
        groups: list[tuple[list[Hunk], list[int]]] = []
        used = 0  # tokens of the open group
        for hunk in file.hunks:
            tokens = count(hunk.numbered)
            if groups and header_tokens + used + tokens <= budget:
                groups[-1][0].append(hunk)
                groups[-1][1].append(tokens)
                used += tokens
            else:
                groups.append(([hunk], [tokens]))
                used = tokens
        if not groups:
            return [make((), header_tokens, None)]
        return [
            make(tuple(hunks), header_tokens + sum(sizes), None, tuple(sizes))
            if sum(sizes) <= self.max_hunk_tokens
            else make(tuple(hunks), 0, SkipReason.TOO_LARGE)
            for hunks, sizes in groups
        ]

    def _skip_reason(self, file: FileDiff, private: bool) -> SkipReason | None:
        if file.is_binary:
            return SkipReason.BINARY
        for reason, globs in self.skips:
            if globs.match(file.path):
                return reason
        if self._has_generated_marker(file):
            return SkipReason.GENERATED
        if _looks_minified(file):
            return SkipReason.MINIFIED
        if file.undecodable:
            return SkipReason.ENCODING
        if file.status is FileStatus.RENAMED and not file.hunks:
            return SkipReason.RENAME
        if file.added + file.removed > self.config.difficulty.max_file_changed_lines:
            return SkipReason.TOO_LARGE
        if private and not self.has_local:
            return SkipReason.PRIVATE_NO_LOCAL
        return None

    def _source(self, file: FileDiff) -> str | None:
        """The whole file at the head: "" when deleted."""
        return "" if file.status is FileStatus.DELETED else self.sources.get(file.path)

    def _original(self, file: FileDiff) -> str | None:
        """The whole file at the base: "" when added; keyed by the diff's path or the old one."""
        if file.status is FileStatus.ADDED:
            return ""
        found = self.originals.get(file.path)
        if found is None and file.old_path is not None:
            found = self.originals.get(file.old_path)
        return found

    def _has_generated_marker(self, file: FileDiff) -> bool:
        if not file.hunks or file.hunks[0].source_start > 1 and file.hunks[0].target_start > 1:
            return False
        head = file.hunks[0].text.split("\n", _MARKER_LINES + 1)[1 : _MARKER_LINES + 1]
        return self.marker.first("\n".join(head)) is not None


def build_chunker(
    config: Config,
    classifier: Classifier,
    counter: TokenCounter,
    has_local: bool,
    max_hunk_tokens: int,
    sources: Mapping[str, str] | None = None,
    originals: Mapping[str, str] | None = None,
) -> Chunker:
    """Compile the path rules of `config` once per plan; `sources` and `originals` are the
    whole files at the head and base, where at hand (the facts then compare them)."""
    g, paths = config.difficulty.globs, config.paths
    return Chunker(
        config=config,
        classifier=classifier,
        counter=counter,
        has_local=has_local,
        max_hunk_tokens=max_hunk_tokens,
        sources=sources or {},
        originals=originals or {},
        private=compile_globs(paths.private),
        instructions=tuple((compile_globs([i.path]), i.text) for i in paths.instructions),
        skips=(
            (SkipReason.FILTERED, compile_globs(paths.exclude)),
            (SkipReason.VENDORED, compile_globs(g.vendored)),
            (SkipReason.LOCKFILE, compile_globs(g.lockfile)),
            (SkipReason.GENERATED, compile_globs(g.generated)),
            (SkipReason.MINIFIED, compile_globs(g.minified)),
        ),
        marker=compile_patterns(config.difficulty.patterns.generated_marker),
    )


def _looks_minified(file: FileDiff) -> bool:
    lengths = [len(line) for h in file.hunks for line in h.added_lines]
    return (
        bool(lengths)
        and max(lengths) > _MINIFIED_LINE
        and (sum(lengths) / len(lengths) > _MINIFIED_AVERAGE)
    )


# A file whose change is one of these is mechanical: a formatter, a linter's autofix or a codemod.
MECHANICAL_FACTS = frozenset(
    {
        "mechanical.annotations",
        "mechanical.format_only",
        "mechanical.moved",
        "mechanical.rename",
        "mechanical.strings_only",
        "content.whitespace_only",
        "content.comment_only",
    }
)


def formatter_run(chunks: Sequence[Chunk], min_files: int, share: float) -> str | None:
    """Why a PR reads as a formatter or codemod run (most code files changed mechanically:
    reformatted, one identifier renamed, or only strings), or None."""
    code = {c.path for c in chunks if c.reviewable and c.kind is FileKind.CODE}
    mechanical = {
        c.path for c in chunks if c.reviewable and MECHANICAL_FACTS.intersection(c.signals)
    }
    if len(mechanical) >= min_files and len(mechanical) >= share * len(code):
        return f"{len(mechanical)} of {len(code)} code files change only mechanically"
    return None


def cap_formatter_run(chunks: tuple[Chunk, ...], model: DifficultyModel) -> tuple[Chunk, ...]:
    """In a formatter run, no chunk goes above substantive: the PR-wide fact caps the rest."""
    if model.kind == "legacy":
        return chunks
    why = formatter_run(chunks, model.mechanical_pr_min_files, model.mechanical_pr_share)
    if why is None:
        return chunks
    return tuple(
        replace(
            c,
            difficulty=Difficulty.SUBSTANTIVE,
            reasons=(f"formatter run: {why}; capped at substantive", *c.reasons),
        )
        if c.difficulty is Difficulty.ARCHITECTURAL
        else c
        for c in chunks
    )
