"""Whether a finished review is whole: complete, partial (some requests failed) or failed.

A request that failed or was skipped left its chunks unreviewed; the review's notes name them.
The status decides the command line's exit code and the Action's `exit-code` output, so a script
never reads "Findings (0)" from a review in which every model call failed as a clean review.
"""

from __future__ import annotations

from enum import StrEnum

from app.errors import ExitCode
from app.review.result import RequestOutcome, ReviewResult

_UNANSWERED = ("failed", "skipped")


class ReviewStatus(StrEnum):
    """How much of the planned review ran."""

    COMPLETE = "complete"  # every request answered (or nothing needed a model)
    PARTIAL = "partial"  # some requests failed: their chunks were not reviewed
    FAILED = "failed"  # every request failed: nothing was reviewed


EXIT_CODES = {
    ReviewStatus.COMPLETE: ExitCode.OK,
    ReviewStatus.PARTIAL: ExitCode.PARTIAL,
    ReviewStatus.FAILED: ExitCode.NOTHING_REVIEWED,
}


def unanswered(result: ReviewResult) -> tuple[RequestOutcome, ...]:
    """The requests that failed or were skipped, in plan order."""
    return tuple(o for o in result.requests if o.status in _UNANSWERED)


def review_status(result: ReviewResult) -> ReviewStatus:
    """COMPLETE, PARTIAL or FAILED from the requests' outcomes."""
    failed = unanswered(result)
    if not failed:
        return ReviewStatus.COMPLETE
    return ReviewStatus.FAILED if len(failed) == len(result.requests) else ReviewStatus.PARTIAL


def status_line(result: ReviewResult) -> str | None:
    """One sentence for a person when the review is not complete; None when it is."""
    failed = unanswered(result)
    status = review_status(result)
    if status is ReviewStatus.COMPLETE:
        return None
    first = " ".join((failed[0].reason or failed[0].status).split())
    if status is ReviewStatus.FAILED:
        return (
            f"Nothing was reviewed: all {len(failed)} model requests failed "
            f"(first: {failed[0].id}: {first})."
        )
    ids = ", ".join(o.id for o in failed)
    return (
        f"Partial review: {len(failed)} of {len(result.requests)} model requests failed "
        f"({ids}); the notes name what was not reviewed."
    )
