"""Model output: the review contract validated with pydantic, and findings placed on the diff."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.errors import OutputError
from app.plan.chunks import Chunk
from app.plan.contract import Category, Severity, SideName, output_schema
from app.review.salvage import NoJSONError, salvage_json


class FindingOut(BaseModel):
    """One finding as the model writes it; what a placement can recover is optional."""

    model_config = ConfigDict(extra="ignore")
    path: str | None = Field(default=None, min_length=1, max_length=1000)
    line: int | None = Field(default=None, ge=1)
    side: SideName | None = None
    quote: str | None = Field(default=None, max_length=2000)
    start_line: int | None = Field(default=None, ge=1)
    start_side: SideName | None = None
    severity: Severity = "minor"  # a left-out severity is taken as the lower level, as asked
    category: Category
    title: str = Field(default="", max_length=300)
    body: str = Field(default="", max_length=60000)
    suggestion: str | None = Field(default=None, max_length=60000)


class ReviewOut(BaseModel):
    """The whole answer: findings and a summary."""

    model_config = ConfigDict(extra="ignore")
    findings: list[FindingOut] = Field(default_factory=list, max_length=200)
    summary: str = Field(default="", max_length=20000)


@dataclass(frozen=True, slots=True)
class ParsedAnswer:
    """The usable part of an answer and, for each finding left out, why."""

    output: ReviewOut
    dropped: tuple[str, ...] = ()


def output_json_schema() -> dict[str, Any]:
    """The contract as JSON schema, for providers that constrain output with it (a copy)."""
    return output_schema()


def parse_output(text: str, truncated: bool = False) -> ParsedAnswer:
    """The usable findings of an answer; OutputError only when nothing in it is usable.

    Each finding is checked on its own: one that cannot be used is left out and its reason kept.
    The whole answer fails only when no object can be read, or it had findings and none is usable.
    """
    try:
        salvaged = salvage_json(text)
    except NoJSONError as exc:
        cut = "the answer was cut at the output limit; " if truncated else ""
        raise OutputError(f"{cut}{exc}") from exc
    data = salvaged.data
    items = data.get("findings")
    if items is None:
        items = []
    if not isinstance(items, list):
        raise OutputError("does not match the schema: findings: Input should be a valid list")
    dropped: list[str] = []
    if salvaged.partial_item and items:
        items = items[:-1]
        dropped.append(f"finding {len(items) + 1}: cut short at the output limit")
    findings: list[FindingOut] = []
    for index, item in enumerate(items[:200], start=1):
        try:
            finding = FindingOut.model_validate(item)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"]) or "(the finding)"
            dropped.append(f"finding {index}: {where}: {err['msg']}")
            continue
        title = finding.title.strip() or _first_sentence(finding.body)
        if not title:
            dropped.append(f"finding {index}: no title and no body")
            continue
        if finding.line is None and not (finding.quote or "").strip():
            dropped.append(f"finding {index}: neither a line nor a quote")
            continue
        findings.append(finding.model_copy(update={"title": title}))
    if dropped and not findings:
        raise OutputError("no finding in the answer is usable: " + "; ".join(dropped[:3]))
    summary = data.get("summary")
    try:
        text = summary[:20000] if isinstance(summary, str) else ""
        output = ReviewOut(findings=findings, summary=text)
    except ValidationError:  # a summary that is not text (a lone surrogate): left out
        output = ReviewOut(findings=findings)
    return ParsedAnswer(output, tuple(dropped))


def _first_sentence(body: str) -> str:
    first = re.split(r"(?<=[.!?])\s", body.strip(), maxsplit=1)[0]
    return first[:80].strip()


REPAIR_PROMPT = (
    "Your previous answer could not be used: {reason}. Answer again with only the JSON object "
    "the system prompt describes, with no prose and no code fences."
)


@dataclass(frozen=True, slots=True)
class Finding:
    """A validated finding placed on the diff (inline) or kept for the summary's notes."""

    path: str
    line: int
    start_line: int | None
    side: SideName
    start_side: SideName | None
    severity: Severity
    category: Category
    title: str
    body: str
    suggestion: str | None
    chunk_id: str | None
    inline: bool
    fingerprint: str
    request_id: str
    why_not_inline: str | None = None
    moved: str | None = None  # "RIGHT 44 -> RIGHT 41 by its quote" when the quote placed it


def fingerprint_of(path: str, title: str, line_text: str) -> str:
    """A finding's identity across pushes: path, normalised title and the anchored line's content.

    Not the line number: a push above the finding moves it without making it new.
    """
    words = " ".join(re.sub(r"[^a-z0-9]+", " ", title.lower()).split())
    content = " ".join(line_text.split())
    return hashlib.sha256(f"{path}\0{words}\0{content}".encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class _Line:
    """A reviewable line of the request: where it is and what it reads."""

    path: str
    line: int
    side: SideName
    text: str
    chunk_id: str
    hunk: int


def _norm(text: str) -> str:
    return " ".join(text.split())


def _index(chunks: Sequence[Chunk]) -> list[_Line]:
    lines: list[_Line] = []
    for chunk in chunks:
        for hunk in chunk.hunks:
            texts = [ln for ln in hunk.text.split("\n")[1:] if ln[:1] in ("+", "-", " ")]
            for anchor, text in zip(hunk.anchors(chunk.path), texts, strict=False):
                side: SideName = "LEFT" if anchor.side.value == "LEFT" else "RIGHT"
                lines.append(_Line(anchor.path, anchor.line, side, text[1:], chunk.id, hunk.index))
    return lines


def _by_quote(f: FindingOut, lines: Sequence[_Line]) -> _Line | None:
    """The line `f` quotes nearest to the line it names (either side); None if none matches."""
    quote = _norm(f.quote or "")
    if not quote:
        return None
    pool = [ln for ln in lines if f.path is None or ln.path == f.path]
    same = [ln for ln in pool if _norm(ln.text) == quote]
    if not same and len(quote) >= 8:  # a quote shortened or widened by a few characters
        same = [
            ln
            for ln in pool
            if len(_norm(ln.text)) >= 8 and (quote in _norm(ln.text) or _norm(ln.text) in quote)
        ]
    if not same:
        return None
    line = f.line if f.line is not None else 0
    return min(same, key=lambda ln: (abs(ln.line - line), ln.side != (f.side or "RIGHT")))


def place(output: ReviewOut, chunks: Sequence[Chunk], request_id: str) -> list[Finding]:
    """Anchor each finding on a reviewable line of the request's chunks.

    The stated (path, line, side) stands when it exists and its text matches the quote. When it
    does not, the quote decides: the nearest line with that text, on either side, within the
    request's hunks; `moved` records the change. Without a match the finding goes to the notes.
    """
    lines = _index(chunks)
    where = {(ln.path, ln.line, ln.side): ln for ln in lines}
    first_chunk = {c.path: c.id for c in reversed(chunks)}
    placed: list[Finding] = []
    for f in output.findings:
        stated = None
        if f.path is not None and f.line is not None:
            stated = where.get((f.path, f.line, f.side or "RIGHT"))
        end = stated
        moved: str | None = None
        if stated is None or (f.quote and _norm(f.quote) != _norm(stated.text)):
            found = _by_quote(f, lines)
            if found is not None and found is not stated:
                end = found
                moved = f"{f.side or '?'} {f.line or '?'} -> {found.side} {found.line} by its quote"
        path = end.path if end is not None else (f.path or "")
        line = end.line if end is not None else (f.line or 0)
        side: SideName = end.side if end is not None else (f.side or "RIGHT")
        start_line, start_side = f.start_line, f.start_side
        if end is not None and stated is not end and start_line is not None and f.line is not None:
            start_line = start_line + (end.line - f.line)  # the range moves with its end
        if start_line is not None:
            start_side = start_side or side
        reason: str | None = None
        if end is None:
            reason = f"{f.side or 'RIGHT'} line {f.line} of {path} is not a changed or context line"
            if not path:
                reason = "the finding names no path and its quote matches no line"
        elif start_line is not None:
            start = where.get((path, start_line, start_side or side))
            if start is None or start.hunk != end.hunk or start.chunk_id != end.chunk_id:
                reason = f"lines {start_line}-{line} are not within one hunk"
            elif start_line >= line and start_side == side:
                reason = f"start_line {start_line} is not above line {line}"
        suggestion = f.suggestion if side == "RIGHT" and start_side in (None, "RIGHT") else None
        placed.append(
            Finding(
                path=path,
                line=line,
                start_line=start_line,
                side=side,
                start_side=start_side if start_line is not None else None,
                severity=f.severity,
                category=f.category,
                title=f.title.strip(),
                body=f.body.strip(),
                suggestion=suggestion,
                chunk_id=end.chunk_id if end else first_chunk.get(path),
                inline=reason is None,
                fingerprint=fingerprint_of(path, f.title, end.text if end else ""),
                request_id=request_id,
                why_not_inline=reason,
                moved=moved,
            )
        )
    return placed
