"""Model output: the review contract validated with pydantic, and findings placed on the diff."""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.errors import OutputError
from app.plan.chunks import Chunk

Severity = Literal["critical", "major", "minor", "nit"]
Category = Literal[
    "bug",
    "security",
    "performance",
    "concurrency",
    "api",
    "config",
    "maintainability",
    "tests",
    "docs",
]
SideName = Literal["RIGHT", "LEFT"]


class FindingOut(BaseModel):
    """One finding as the model must write it."""

    model_config = ConfigDict(extra="ignore")
    path: str = Field(min_length=1, max_length=1000)
    line: int = Field(ge=1)
    start_line: int | None = Field(default=None, ge=1)
    side: SideName
    start_side: SideName | None = None
    severity: Severity
    category: Category
    title: str = Field(min_length=1, max_length=300)
    body: str = Field(max_length=60000)
    suggestion: str | None = Field(default=None, max_length=60000)


class ReviewOut(BaseModel):
    """The whole answer: findings and a summary."""

    model_config = ConfigDict(extra="ignore")
    findings: list[FindingOut] = Field(default_factory=list, max_length=200)
    summary: str = Field(default="", max_length=20000)


def output_json_schema() -> dict[str, Any]:
    """The contract as JSON schema, for providers that constrain output with it."""
    return copy.deepcopy(_output_schema())


@functools.cache
def _output_schema() -> dict[str, Any]:
    # Generated once: pydantic builds it anew on every call, several milliseconds per request.
    return ReviewOut.model_json_schema()


_FENCE = re.compile(r"^\s*```(?:json)?\s*\n(.*?)\n\s*```\s*$", re.S)


def parse_output(text: str) -> ReviewOut:
    """Validate a model's answer; raise OutputError with a reason a repair prompt can quote."""
    body = text.strip()
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group(1)
    if not body.startswith("{"):
        start, end = body.find("{"), body.rfind("}")
        if start < 0 or end <= start:
            raise OutputError("the answer contains no JSON object")
        body = body[start : end + 1]
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        raise OutputError(f"not valid JSON: {exc.msg} at {where}") from exc
    except ValueError as exc:  # a number past Python's 4,300-digit int conversion limit
        raise OutputError("not valid JSON: a number has too many digits") from exc
    except RecursionError as exc:
        raise OutputError("not valid JSON: nested too deeply") from exc
    try:
        return ReviewOut.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        raise OutputError(f"does not match the schema: {where}: {err['msg']}") from exc


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


def fingerprint_of(path: str, title: str, line_text: str) -> str:
    """A finding's identity across pushes: path, normalised title and the anchored line's content.

    Not the line number: a push above the finding moves it without making it new.
    """
    words = " ".join(re.sub(r"[^a-z0-9]+", " ", title.lower()).split())
    content = " ".join(line_text.split())
    return hashlib.sha256(f"{path}\0{words}\0{content}".encode()).hexdigest()[:16]


def place(output: ReviewOut, chunks: Sequence[Chunk], request_id: str) -> list[Finding]:
    """Check each finding's anchor against the reviewable lines of the request's chunks."""
    where: dict[tuple[str, int, str], tuple[str, int]] = {}
    text: dict[tuple[str, int, str], str] = {}
    for chunk in chunks:
        for hunk in chunk.hunks:
            lines = [ln for ln in hunk.text.split("\n")[1:] if ln[:1] in ("+", "-", " ")]
            for anchor, line in zip(hunk.anchors(chunk.path), lines, strict=False):
                key = (anchor.path, anchor.line, anchor.side.value)
                where[key] = (chunk.id, hunk.index)
                text[key] = line[1:]
    first_chunk = {c.path: c.id for c in reversed(chunks)}
    placed: list[Finding] = []
    for f in output.findings:
        end = where.get((f.path, f.line, f.side))
        reason: str | None = None
        start_side = f.start_side or (f.side if f.start_line is not None else None)
        if end is None:
            reason = f"{f.side} line {f.line} of {f.path} is not a changed or context line"
        elif f.start_line is not None:
            start = where.get((f.path, f.start_line, start_side or f.side))
            if start is None or start[1] != end[1] or start[0] != end[0]:
                reason = f"lines {f.start_line}-{f.line} are not within one hunk"
            elif f.start_line >= f.line and start_side == f.side:
                reason = f"start_line {f.start_line} is not above line {f.line}"
        suggestion = f.suggestion if f.side == "RIGHT" and start_side in (None, "RIGHT") else None
        placed.append(
            Finding(
                path=f.path,
                line=f.line,
                start_line=f.start_line,
                side=f.side,
                start_side=start_side,
                severity=f.severity,
                category=f.category,
                title=f.title.strip(),
                body=f.body.strip(),
                suggestion=suggestion,
                chunk_id=end[0] if end else first_chunk.get(f.path),
                inline=reason is None,
                fingerprint=fingerprint_of(f.path, f.title, text.get((f.path, f.line, f.side), "")),
                request_id=request_id,
                why_not_inline=reason,
            )
        )
    return placed
