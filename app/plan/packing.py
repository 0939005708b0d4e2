"""Requests: chunks of one route packed under a token budget, plus the summary and cross-cutting."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from app.plan.catalog import ModelSpec
from app.plan.chunks import Chunk, formatter_run
from app.plan.config import Config, Difficulty, Task
from app.plan.context import surrounding_code
from app.plan.contract import tool_text
from app.plan.difficulty import FileKind
from app.plan.notices import Note
from app.plan.routing import Route
from app.plan.tokens import model_tokens_max

# Every piece of a request text ends in "\n" and the next starts with a non-space character, so
# o200k counts of the pieces add up exactly to the count of the joined text.
_BODY_CHARS = 4000  # of the PR body sent to review requests
_TRIM_LINES = 30  # lines of each hunk in the summary
_PACKAGE_ROOTS = frozenset(
    {
        "src",
        "lib",
        "libs",
        "packages",
        "apps",
        "services",
        "modules",
        "pkg",
        "internal",
        "cmd",
        "crates",
        "components",
        "plugins",
    }
)


@dataclass(frozen=True, slots=True)
class Prompts:
    """The stable system prompts, one per task, exactly as sent."""

    review: str
    summary: str
    cross_cutting: str

    def for_task(self, task: Task) -> str:
        """The system prompt of a task."""
        return {Task.REVIEW: self.review, Task.SUMMARY: self.summary}.get(task, self.cross_cutting)


@dataclass(frozen=True, slots=True)
class PullRequestInfo:
    """What the models see of the PR besides the diff (untrusted text)."""

    title: str = ""
    body: str = ""


@functools.lru_cache(maxsize=64)
def _shared_count(count: Callable[[str], int], text: str) -> int:
    # The tool definition, system prompts and repository instructions are the same in every
    # plan a process makes: counted once per process, not once per plan.
    return count(text)


def fingerprint(prefix: str) -> str:
    """The cache key's ETag: sha256 of the exact prefix bytes."""
    return hashlib.sha256(prefix.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Request:
    """One model call: stable prefix, repo instructions, and the dynamic tail."""

    id: str
    task: Task
    route: Route
    chunk_ids: tuple[str, ...]
    system: str
    instructions: str
    user: str
    prefix_o200k: int  # the answer tool's definition and the system prompt
    cached_o200k: int  # system prompt + repo instructions: both sit before cache breakpoints
    input_o200k: int  # everything sent
    diff_o200k: int  # the part of the tail that is diff
    max_output_tokens: int
    est_output_tokens: int
    notes: tuple[Note, ...] = ()


@dataclass(frozen=True, slots=True)
class Packer:
    """Builds request texts and counts their tokens from pieces counted once."""

    config: Config
    prompts: Prompts
    pr: PullRequestInfo
    count: Callable[[str], int]
    sources: Mapping[str, str] = field(default_factory=dict)  # path -> new content, if local
    # Counts of the texts every request repeats (prompts, PR header), for this plan only.
    _known: dict[str, int] = field(default_factory=dict)

    def count_once(self, text: str) -> int:
        """The count of a text that many requests share, counted once per plan."""
        if text not in self._known:
            self._known[text] = self.count(text)
        return self._known[text]

    def count_shared(self, text: str) -> int:
        """The count of a prompt every plan repeats (tool, system prompt, repo instructions)."""
        return _shared_count(self.count, text)

    def header(self, with_body: bool) -> str:
        """The PR metadata that opens every tail."""
        title = " ".join(self.pr.title.split()) or "(untitled)"
        text = f"## Pull request\nTitle: {title}\n"
        body = self.pr.body.strip()
        if with_body and body:
            if len(body) > _BODY_CHARS:
                body = body[:_BODY_CHARS] + "\n[... description trimmed]"
            text += f"Description:\n{body}\n"
        return text

    def instructions_block(self) -> str:
        """Repository-wide instructions: the second cached block."""
        text = self.config.instructions.strip()
        return f"## Repository instructions\n{text}\n" if text else ""

    def _make(
        self,
        rid: str,
        task: Task,
        route: Route,
        chunk_ids: tuple[str, ...],
        pieces: Sequence[tuple[str, int]],
        diff_tokens: int,
        notes: tuple[Note, ...] = (),
    ) -> Request:
        system = self.prompts.for_task(task)
        instructions = self.instructions_block()
        prefix = self.count_shared(tool_text()) + self.count_shared(system)  # tool, then system
        cached = prefix + (self.count_shared(instructions) if instructions else 0)
        est = self.config.requests.output_estimate[task]
        max_out = min(self.config.requests.max_output_tokens[task], route.model.max_output)
        return Request(
            id=rid,
            task=task,
            route=route,
            chunk_ids=chunk_ids,
            system=system,
            instructions=instructions,
            user="".join(text for text, _ in pieces),
            prefix_o200k=prefix,
            cached_o200k=cached,
            input_o200k=cached + sum(tokens for _, tokens in pieces),
            diff_o200k=diff_tokens,
            max_output_tokens=max_out,
            est_output_tokens=min(max_out, est.base + est.per_1k_input * diff_tokens // 1000),
            notes=notes,
        )

    def review_pieces(self, chunks: Sequence[Chunk]) -> list[tuple[str, int]]:
        """The tail of a review request: PR header, then each chunk with its path instructions."""
        head = self.header(with_body=True)
        pieces = [(head, self.count_once(head))]
        for chunk in chunks:
            if chunk.instructions:
                note = f"### Instructions for {chunk.path}\n" + "\n".join(chunk.instructions) + "\n"
                pieces.append((note, self.count(note)))
            context = self.context(chunk)
            if context:
                pieces.append((context, self.count(context)))
            pieces.append((chunk.text, chunk.tokens))
        return pieces

    def context(self, chunk: Chunk) -> str:
        """The enclosing code of a substantive or architectural chunk, from a local checkout."""
        content = self.sources.get(chunk.path)
        cap = self.config.requests.context_max_tokens
        if content is None or cap == 0 or chunk.difficulty.rank < Difficulty.SUBSTANTIVE.rank:
            return ""
        return surrounding_code(chunk.path, content, chunk.hunks, cap, self.count)

    def review(
        self, rid: str, route: Route, chunks: Sequence[Chunk], notes: tuple[Note, ...] = ()
    ) -> Request:
        """One review request over `chunks`."""
        return self._make(
            rid,
            Task.REVIEW,
            route,
            tuple(c.id for c in chunks),
            self.review_pieces(chunks),
            sum(c.tokens for c in chunks),
            notes,
        )

    def pack(self, route: Route, chunks: Sequence[Chunk]) -> list[list[Chunk]]:
        """Greedy, in path order: a request takes chunks while under the tier's input budget."""
        budget = self.config.tiers[route.tier].max_input_tokens
        limit = self.config.requests.max_chunks
        base = self.count_shared(tool_text()) + self.count_shared(self.prompts.review)
        base += self.count_once(self.header(with_body=True))
        groups: list[list[Chunk]] = []
        used = 0
        for chunk in chunks:
            size = chunk.tokens
            fits = (
                groups
                and len(groups[-1]) < limit
                and model_tokens_max(base + used + size, route.model) <= budget
            )
            if fits:
                groups[-1].append(chunk)
                used += size
            else:
                groups.append([chunk])
                used = size
        return groups

    def summary(self, route: Route, chunks: Sequence[Chunk]) -> Request:
        """The PR-level summary: file list, diff stat and trimmed hunks under a budget."""
        visible = [c for c in chunks if not c.private]
        head = self.header(with_body=True)
        files = _file_list(visible)
        added = sum(c.lines_added for c in visible)
        deleted = sum(c.lines_deleted for c in visible)
        stat = f"## Diff stat\n{len({c.path for c in visible})} files, +{added} -{deleted}\n"
        pieces = [(t, self.count(t)) for t in (head, files, stat, "## Hunks\n")]
        budget = self.config.requests.summary_max_tokens
        used = sum(t for _, t in pieces)
        ranked = sorted(
            (c for c in visible if c.reviewable),
            key=lambda c: (-c.difficulty.rank, -c.tokens, c.path),
        )
        covered: list[str] = []
        notes: tuple[Note, ...] = ()
        diff_tokens = 0
        for chunk in ranked:
            trimmed = [_trim(h.numbered) for h in chunk.hunks]
            # A cut hunk keeps about its share of characters; skip counting what clearly won't fit.
            guess = chunk.header_tokens + sum(
                size * len(cut) // max(1, len(hunk.numbered))
                for hunk, cut, size in zip(chunk.hunks, trimmed, chunk.hunk_tokens, strict=True)
            )
            if used + guess * 4 // 5 > budget:
                notes = (Note(f"summary trimmed to {budget} tokens: some hunks left out"),)
                continue
            text = chunk.file.header + "".join(trimmed)
            # untrimmed hunks keep their counts; only the cut ones are counted again
            tokens = chunk.header_tokens + sum(
                size if cut is hunk.numbered else self.count(cut)
                for hunk, cut, size in zip(chunk.hunks, trimmed, chunk.hunk_tokens, strict=True)
            )
            if used + tokens > budget:
                notes = (Note(f"summary trimmed to {budget} tokens: some hunks left out"),)
                continue
            pieces.append((text, tokens))
            covered.append(chunk.id)
            used += tokens
            diff_tokens += tokens
        order = {c.id: i for i, c in enumerate(visible)}
        ids = tuple(sorted(covered, key=order.__getitem__))
        return self._make("summary", Task.SUMMARY, route, ids, pieces, diff_tokens, notes)

    def cross_cutting(self, route: Route, chunks: Sequence[Chunk], why: str) -> Request:
        """One frontier request over the PR's shape: files, signatures, the weightiest hunks."""
        visible = [c for c in chunks if not c.private and c.reviewable]
        head = self.header(with_body=True)
        files = _file_list([c for c in chunks if not c.private])
        sigs = [f"{c.path}: {line}" for c in visible for line in c.signatures]
        sig_text = "## Changed signatures\n" + ("\n".join(sorted(set(sigs))) or "(none)") + "\n"
        pieces = [(t, self.count(t)) for t in (head, files, sig_text, "## Hunks\n")]
        budget = self.config.requests.cross_cutting_max_tokens
        used = sum(t for _, t in pieces)
        ranked = sorted(visible, key=lambda c: (-c.difficulty.rank, -c.tokens, c.path))
        chosen: list[Chunk] = []
        for chunk in ranked:
            if used + chunk.tokens <= budget:
                chosen.append(chunk)
                used += chunk.tokens
        chosen.sort(key=lambda c: (c.path, c.id))
        pieces.extend((c.text, c.tokens) for c in chosen)
        notes: tuple[Note, ...] = (Note(f"cross-cutting: {why}"),)
        if len(chosen) < len(visible):
            left_out = len(visible) - len(chosen)
            notes += (Note(f"{left_out} chunks left out under the {budget}-token cap"),)
        return self._make(
            "cross-cutting",
            Task.CROSS_CUTTING,
            route,
            tuple(c.id for c in chosen),
            pieces,
            sum(c.tokens for c in chosen),
            notes,
        )


def _file_list(chunks: Sequence[Chunk]) -> str:
    lines: list[str] = []
    totals: dict[str, list[int]] = {}
    for chunk in chunks:
        counts = totals.setdefault(chunk.path, [0, 0])
        counts[0] += chunk.lines_added
        counts[1] += chunk.lines_deleted
    for chunk in chunks:
        if chunk.path not in totals:
            continue
        added, deleted = totals.pop(chunk.path)
        state = f"skipped: {chunk.skipped}" if chunk.skipped else chunk.difficulty.value
        lines.append(f"- {chunk.path} ({chunk.file.status}, +{added} -{deleted}, {state})")
    return "## Files\n" + "\n".join(lines) + "\n"


def _trim(hunk_text: str) -> str:
    body = hunk_text.count("\n") - 1  # the header, then the lines; the text ends in "\n"
    if body <= _TRIM_LINES:
        return hunk_text
    kept = "\n".join(hunk_text.split("\n", _TRIM_LINES + 1)[: _TRIM_LINES + 1])
    return f"{kept}\n[... {body - _TRIM_LINES} more lines of this hunk trimmed]\n"


def package_of(path: str) -> str:
    """The package a path belongs to: its top folder, or two levels under src/, packages/ ..."""
    parts = path.split("/")
    if len(parts) == 1:
        return "(root)"
    if parts[0] in _PACKAGE_ROOTS and len(parts) > 2:
        return "/".join(parts[:2])
    return parts[0]


def pr_wide_reason(config: Config, chunks: Sequence[Chunk]) -> str | None:
    """Why this PR earns a cross-cutting request (many packages or files), or None."""
    # Only chunks labelled substantive or harder count: a formatter run over the whole code base
    # touches every package and is still trivial.
    # (The legacy model keeps counting every chunk, as it did.)
    model = config.difficulty.model
    floor = 0 if model.kind == "legacy" else Difficulty.SUBSTANTIVE.rank
    # A formatter or codemod run touches every package and still needs no design review.
    if floor and formatter_run(chunks, model.mechanical_pr_min_files, model.mechanical_pr_share):
        return None
    heavy = [c for c in chunks if c.reviewable and not c.private and c.difficulty.rank >= floor]
    packages = sorted({package_of(c.path) for c in heavy if c.kind is FileKind.CODE})
    files = len({c.path for c in heavy})
    if len(packages) >= config.pr_wide.min_packages:
        return f"code changes in {len(packages)} packages ({', '.join(packages[:6])})"
    if files >= config.pr_wide.min_files:
        return f"{files} files changed"
    return None


def fits(request: Request, spec: ModelSpec) -> bool:
    """Whether the request and its output reserve fit the model's window (upper-bound count)."""
    return model_tokens_max(request.input_o200k, spec) + request.max_output_tokens <= spec.window
