"""What the bot posts on a PR: inline comments chosen without noise, and the sticky summary.

Pure: GitHub's answers come in as values and payloads go out as values; `github_api.py` sends them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.gh.markers import marker, read_markers, with_markers
from app.gh.threads import ThreadComment
from app.plan.config import CommentsConfig
from app.review.findings import Finding
from app.review.render import finding_markdown
from app.review.result import OFF_DIFF_NOTE, ReviewResult
from app.review.safety import cell, code, prose, prose_line

BODY_LIMIT = 65_536  # GitHub's limit for review and comment bodies, in characters
SEVERITY_RANK = {"critical": 0, "major": 1, "minor": 2, "nit": 3}
SUMMARY_KIND = "summary"
JOB_KIND = "job"
SHAS_KIND = "reviewed"
FINGERPRINT_KIND = "fp"
ROUTE_KIND = "route"  # "TIER DIFFICULTY CATEGORY": what a reply in the thread is routed by
SPENT_KIND = "spent"  # "YYYY-MM-DD USD", one per review run: the Action's daily cap adds them


@dataclass(frozen=True, slots=True)
class FindingRef:
    """The finding a thread starts with, as its markers say."""

    fingerprint: str
    tier: str
    difficulty: str
    category: str


def finding_of(comment: ThreadComment, bot_login: str) -> FindingRef | None:
    """The finding in a comment the bot wrote (markers are trusted only there)."""
    if comment.user.casefold() != bot_login.casefold():
        return None
    prints = read_markers(comment.body, FINGERPRINT_KIND)
    if not prints:
        return None
    route = (read_markers(comment.body, ROUTE_KIND) or [""])[0].split()
    tier, difficulty, category = (route + ["", "", ""])[:3]
    return FindingRef(prints[0], tier, difficulty, category)


@dataclass(frozen=True, slots=True)
class Selection:
    """Findings split by where they go: inline, the summary, or nowhere (already posted)."""

    inline: tuple[Finding, ...]
    in_summary: tuple[tuple[Finding, str], ...]  # with the reason it is not inline
    duplicates: tuple[Finding, ...]


def job_id(repository: str, number: int, head_sha: str, mode: str, trigger: str = "") -> str:
    """A run's identity: the same PR, head, mode and trigger is the same job."""
    key = f"{repository}#{number}@{head_sha}:{mode}:{trigger}"
    return hashlib.sha256(key.encode()).hexdigest()[:20]


def select(
    findings: Iterable[Finding], config: CommentsConfig, posted: frozenset[str]
) -> Selection:
    """Drop what was posted before, keep the threshold, cap the inline count; lose nothing."""
    threshold = SEVERITY_RANK[config.min_severity]
    inline: list[Finding] = []
    summary: list[tuple[Finding, str]] = []
    duplicates: list[Finding] = []
    ranked = sorted(findings, key=lambda f: (SEVERITY_RANK[f.severity], f.path, f.line))
    for f in ranked:
        if f.fingerprint in posted:
            duplicates.append(f)
        elif not f.inline:
            summary.append((f, f.why_not_inline or "not on a line of the diff"))
        elif SEVERITY_RANK[f.severity] > threshold:
            summary.append((f, f"below the {config.min_severity} threshold"))
        elif len(inline) >= config.max_inline:
            summary.append((f, f"over the limit of {config.max_inline} inline comments"))
        else:
            inline.append(f)
    inline.sort(key=lambda f: (f.path, f.line))
    return Selection(tuple(inline), tuple(summary), tuple(duplicates))


def comment_payload(finding: Finding, route: str = "") -> dict[str, Any]:
    """One inline comment as `POST .../pulls/{n}/reviews` wants it, its markers first.

    `route` ("TIER DIFFICULTY") is kept in a marker with the category, for replies and feedback.
    """
    head = marker(FINGERPRINT_KIND, finding.fingerprint) + "\n"
    if route:
        head += marker(ROUTE_KIND, f"{route} {finding.category}") + "\n"
    text = finding_markdown(finding)
    if len(head) + len(text) > BODY_LIMIT:  # keep the markers; say what was cut
        note = "\n\n_[cut at GitHub's 65,536-character limit]_"
        text = text[: BODY_LIMIT - len(head) - len(note)] + note
    payload: dict[str, Any] = {
        "path": finding.path,
        "line": finding.line,
        "side": finding.side,
        "body": head + text,
    }
    if finding.start_line is not None:
        payload["start_line"] = finding.start_line
        payload["start_side"] = finding.start_side or finding.side
    return payload


def review_body(job: str, count: int) -> str:
    """The review's own body: short, with the job's marker (the summary comment has the rest)."""
    noun = "comment" if count == 1 else "comments"
    return with_markers(
        [marker(JOB_KIND, job)],
        f"tiered-review left {count} inline {noun}; the summary comment has the routing, "
        "the cost and everything not posted inline.",
    )


@dataclass(frozen=True, slots=True)
class SummaryInputs:
    """What the sticky summary shows besides the review result."""

    head_sha: str
    reviewed_shas: tuple[str, ...]
    fingerprints: frozenset[str]  # every finding posted inline so far, this run included
    selection: Selection
    not_reviewed: tuple[str, ...] = ()  # files GitHub gave no patch for, PR over the file limit
    scope_note: str = ""  # e.g. "incremental: 2 files changed since abc1234"
    rejected: tuple[tuple[Finding, str], ...] = field(default_factory=tuple)
    spent: tuple[str, ...] = ()  # this PR's recent runs as "YYYY-MM-DD USD", this one included


def spent_on(bodies: Iterable[str], day: dt.date) -> float:
    """What the runs recorded in these bot comments cost on `day`."""
    stamp = f"{day.isoformat()} "
    total = 0.0
    for body in bodies:
        for entry in read_markers(body, SPENT_KIND):
            if entry.startswith(stamp):
                try:
                    total += float(entry[len(stamp) :])
                except ValueError:
                    continue  # not ours to trust: markers are read from the bot's comments only
    return total


def _usd(value: float) -> str:
    return f"${value:.4f}"


def render_summary(result: ReviewResult, info: SummaryInputs, limit: int = BODY_LIMIT) -> str:
    """The sticky summary comment, at most `limit` characters (overflow folded, then cut)."""
    t = result.totals
    head = [
        marker(SUMMARY_KIND, "v1"),
        marker(SHAS_KIND, ",".join(info.reviewed_shas)),
        *(marker(SPENT_KIND, entry) for entry in info.spent),
        *(marker(FINGERPRINT_KIND, fp) for fp in sorted(info.fingerprints)),
        "## tiered-review",
        "",
        prose(result.summary) or "_No summary: the summary request failed (see notes)._",
        "",
        f"**Cost {_usd(t.cost_usd)}** vs {_usd(t.all_frontier_usd)} all-frontier "
        f"(**{t.savings_pct:.1f}% saved**; all-middle {_usd(t.all_middle_usd)}). Cache hit rate "
        f"{t.cache_hit_rate:.0%}"
        + (
            " (" + ", ".join(f"{p} {r:.0%}" for p, r in t.cache_hit_rate_by_provider.items()) + ")"
            if t.cache_hit_rate_by_provider
            else ""
        )
        + f". Reviewed `{info.head_sha[:12]}`"
        + (f"; {info.scope_note}" if info.scope_note else "")
        + ".",
    ]
    sections: list[tuple[str, list[str]]] = []
    moved = [*info.selection.in_summary, *info.rejected]
    if moved:
        sections.append(
            (
                f"Findings not posted inline ({len(moved)})",
                [f"- {_indent(finding_markdown(f))}\n  _({prose_line(why)})_" for f, why in moved],
            )
        )
    if info.selection.duplicates:
        sections.append(
            (
                f"Already posted on an earlier push ({len(info.selection.duplicates)})",
                [f"- {code(f.path)}: {prose_line(f.title)}" for f in info.selection.duplicates],
            )
        )
    sections.append(("Routing", _routing_table(result)))
    # Off-diff findings are listed with the findings above; their notes would say it twice.
    notes = [_indent(prose(n)) for n in result.notes if not n.startswith(OFF_DIFF_NOTE)]
    notes += [f"not reviewed: {prose_line(p)}" for p in info.not_reviewed]
    if notes:
        sections.append(
            (f"Skipped, truncated or not reviewed ({len(notes)})", [f"- {n}" for n in notes])
        )
    return _fit("\n".join(head), sections, limit)


def _indent(text: str) -> str:
    # Every CommonMark line ending, so a verbatim suggestion with a bare CR cannot step out of
    # its list item (and its fence) into live Markdown.
    return _LINE_END.sub(r"\g<0>  ", text)


_LINE_END = re.compile(r"\r\n|\r|\n")


def _routing_table(result: ReviewResult) -> list[str]:
    where: dict[str, tuple[str, str, str, str]] = {}
    for o in result.requests:
        for cid in o.chunk_ids:
            if o.task.value == "review":
                where[cid] = (o.tier, f"{o.provider}:{o.model}", o.rule, o.status)
    rows = ["| file | difficulty | tier / model | rule | why |", "| --- | --- | --- | --- | --- |"]
    for c in result.plan.chunks:
        reason = cell(c.reasons[0]) if c.reasons else ""
        path = code(c.path, in_table=True)
        if c.skipped is not None:
            rows.append(f"| {path} | - | skipped | {cell(c.skipped)} | |")
            continue
        tier, model, rule, status = where.get(c.id, ("summary only", "", "", "ok"))
        flag = "" if status == "ok" else f" ({status})"
        rows.append(
            f"| {path} | {c.difficulty} | {tier} / {cell(model)}{flag} | {cell(rule)} | {reason} |"
        )
    rows += ["", "| request | tier | model | status | cost |", "| --- | --- | --- | --- | ---: |"]
    rows += [
        f"| {o.id} | {o.tier} | {cell(f'{o.provider}:{o.model}')} | {o.status} | "
        f"{_usd(o.cost_usd)} |"
        for o in result.requests
    ]
    return rows


def _fit(head: str, sections: Sequence[tuple[str, list[str]]], limit: int) -> str:
    """Sections as collapsed <details>; past the limit, the longest lose lines with a note."""

    def render(parts: Sequence[tuple[str, list[str]]]) -> str:
        blocks = [
            f"<details><summary>{title}</summary>\n\n" + "\n".join(lines) + "\n\n</details>"
            for title, lines in parts
        ]
        return "\n\n".join([head, *blocks]).strip() + "\n"

    parts = [(title, list(lines)) for title, lines in sections]
    text = render(parts)
    while len(text) > limit:
        title, lines = max(parts, key=lambda p: sum(map(len, p[1])))
        if len(lines) <= 1:
            break
        cut = max(1, len(lines) // 4)
        kept = lines[: len(lines) - cut - (1 if lines[-1].startswith("_[") else 0)]
        dropped = len(lines) - len(kept)
        kept.append(f"_[{dropped} more lines cut: GitHub's {limit:,}-character limit]_")
        parts = [(t, kept if t == title else ls) for t, ls in parts]
        text = render(parts)
    if len(text) > limit:  # a single enormous line: cut hard; the markers lead, so they stay
        note = f"\n\n_[cut at GitHub's {limit:,}-character limit]_\n"
        text = text[: limit - len(note)] + note
    return text
