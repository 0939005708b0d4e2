"""What the fault campaign measures: per-PR tallies from the fakes' state, and the App's logs."""

from __future__ import annotations

import json
import signal
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from app.gh.markers import read_markers
from app.review.publish import FINGERPRINT_KIND, SUMMARY_KIND
from app.store.queue import JobState
from app.store.schema import jobs
from tests.fault_prs import FaultPR

if TYPE_CHECKING:
    from tests.fault_campaign import CampaignOptions

BOT_LOGIN = "tiered-review[bot]"


@dataclass
class PRTally:
    """What one PR ended with on the fake GitHub, and its job in the queue."""

    pr: FaultPR
    summaries: int = 0
    reviews_by_sha: dict[str, int] = field(default_factory=dict)
    other_bot_comments: int = 0
    partial: bool = False  # the summary lists a failed request
    # Findings the summary says were posted inline that no review comment carries: lost.
    missing_findings: int = 0
    job_states: tuple[str, ...] = ()
    attempts: int = 0
    max_attempts: int = 0

    @property
    def reviews(self) -> int:
        """The bot's PR reviews, all heads."""
        return sum(self.reviews_by_sha.values())

    @property
    def exactly_one(self) -> bool:
        """One sticky summary and at most one bot review per head SHA."""
        return self.summaries == 1 and max(self.reviews_by_sha.values(), default=0) <= 1

    @property
    def duplicated(self) -> bool:
        """Two summaries, or two reviews of one head."""
        return self.summaries > 1 or max(self.reviews_by_sha.values(), default=0) > 1

    @property
    def lost(self) -> bool:
        """Nothing posted, or its job did not end done."""
        return self.summaries == 0 or any(s != JobState.DONE for s in self.job_states)


@dataclass
class CampaignResult:
    """Everything the campaign measured."""

    options: CampaignOptions
    tallies: list[PRTally]
    kills: list[str]  # when each kill happened and what was running
    unexpected_exits: list[int]
    final_exit: int | None
    final_clean: bool  # the last SIGTERM ended in uvicorn's graceful shutdown
    unhandled: list[str]  # tracebacks and errors in the App's logs that nothing handled
    job_failures: Counter[str]  # failed attempts (retried by the queue), by reason
    lease_lost: int
    deliveries_failed: int  # original attempts that got no 2xx (the App was down)
    redelivered: int
    dedupe_checked: int
    dedupe_broken: list[str]
    llm_faults: dict[str, int]
    github_faults: dict[str, int]
    requests: dict[str, int]
    applied_502: dict[str, int]  # writes applied but answered 502 (chaos or scripted), by write
    github_refused: list[str]  # requests outside GitHub's OpenAPI, or bad replies of the fake
    timed_out: bool
    wall_s: float

    @property
    def exactly_one(self) -> int:
        """PRs with exactly one review."""
        return sum(t.exactly_one for t in self.tallies)

    @property
    def duplicated(self) -> int:
        """PRs reviewed twice."""
        return sum(t.duplicated for t in self.tallies)

    @property
    def lost(self) -> int:
        """PRs with no review, or whose job did not end done."""
        return sum(t.lost for t in self.tallies)

    @property
    def missing_findings(self) -> int:
        """Findings the summaries call posted inline that no review comment holds."""
        return sum(t.missing_findings for t in self.tallies)

    @property
    def crashes(self) -> int:
        """Exits we did not cause, a bad final exit, and unhandled errors in the logs."""
        return len(self.unexpected_exits) + int(not self.final_clean) + len(self.unhandled)

    @property
    def goals_met(self) -> bool:
        """50 of 50 (or `prs` of `prs`), 0 duplicated, 0 lost, 0 crashes, dedupe held."""
        return (
            self.exactly_one == len(self.tallies)
            and self.duplicated == 0
            and self.lost == 0
            and self.crashes == 0
            and self.missing_findings == 0
            and not self.dedupe_broken
            and not self.timed_out
            and len(self.kills) == self.options.kills
        )


def tally_prs(gh: Any, prs: list[FaultPR], engine: sa.Engine) -> list[PRTally]:
    """Count, per PR, what the fake GitHub holds and how its job ended."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                jobs.c.repository,
                jobs.c.pr_number,
                jobs.c.state,
                jobs.c.attempts,
                jobs.c.max_attempts,
            )
        ).all()
    tallies = []
    for pr in prs:
        tally = PRTally(pr)
        claimed: set[str] = set()
        for comment in gh.issue_comments(pr.owner, pr.repo, pr.number):
            if comment["user"] != BOT_LOGIN:
                continue
            if read_markers(comment["body"], SUMMARY_KIND):
                tally.summaries += 1
                tally.partial = tally.partial or "| failed |" in comment["body"]
                claimed.update(read_markers(comment["body"], FINGERPRINT_KIND))
            else:
                tally.other_bot_comments += 1
        inline = {
            fp
            for c in gh.review_comments(pr.owner, pr.repo, pr.number)
            if c["user"] == BOT_LOGIN
            for fp in read_markers(c["body"], FINGERPRINT_KIND)
        }
        tally.missing_findings = len(claimed - inline)
        for review in gh.reviews(pr.owner, pr.repo, pr.number):
            if review["user"] == BOT_LOGIN:
                sha = review["commit_id"]
                tally.reviews_by_sha[sha] = tally.reviews_by_sha.get(sha, 0) + 1
        mine = [r for r in rows if (r.repository, r.pr_number) == (pr.repository, pr.number)]
        tally.job_states = tuple(str(r.state) for r in mine)
        tally.attempts = max((r.attempts for r in mine), default=0)
        tally.max_attempts = max((r.max_attempts for r in mine), default=0)
        tallies.append(tally)
    return tallies


def scan_logs(paths: list[Path]) -> tuple[list[str], Counter[str], int]:
    """Unhandled errors, failed job attempts by reason, and lost leases in the App's logs.

    A job attempt that raised is handled (the queue backs off and retries it) and is counted
    apart; any other error-level line, or a traceback printed outside a JSON log line, is not.
    A SIGKILL may cut a log's last line short: a line that is not JSON is only an error when it
    starts a traceback.
    """
    unhandled: list[str] = []
    failures: Counter[str] = Counter()
    lease_lost = 0
    for path in paths:
        for line in path.read_text("utf-8", "replace").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                if "Traceback" in line:
                    unhandled.append(f"{path.name}: {line.strip()[:200]}")
                continue
            if not isinstance(entry, dict):
                continue
            message = str(entry.get("message", ""))
            if entry.get("logger") == "app.server.worker" and " failed (attempt " in message:
                last = str(entry.get("exception", "")).strip().splitlines()[-1:] or ["?"]
                failures[last[0][:160]] += 1
            elif entry.get("level") in ("error", "critical"):
                unhandled.append(f"{path.name}: {entry.get('logger')}: {message[:200]}")
            elif "lease lost" in message:
                lease_lost += 1
    return unhandled, failures, lease_lost


def applied_502(requests: list[Any]) -> dict[str, int]:
    """Writes the fake applied but answered 502, by what they wrote."""
    names = [
        ("/reviews", "review"),
        ("/issues/comments/", "summary edit"),
        ("/comments", "summary create"),
        ("/check-runs", "check run"),
    ]
    out: Counter[str] = Counter()
    for r in requests:
        if r.fault == "applied_502":
            out[next((name for part, name in names if part in r.path), r.path)] += 1
    return dict(sorted(out.items()))


def stopped_cleanly(status: int | None, logs: list[Path]) -> bool:
    """Exit 0, or SIGTERM re-raised by uvicorn after its graceful shutdown finished."""
    if status == 0:
        return True
    finished = bool(logs) and "Finished server process" in logs[-1].read_text("utf-8", "replace")
    return status == -signal.SIGTERM and finished


def merge_counts(*counts: dict[str, int]) -> dict[str, int]:
    """Counts by kind added up, sorted by kind."""
    total: Counter[str] = Counter()
    for count in counts:
        total.update(count)
    return dict(sorted(total.items()))
