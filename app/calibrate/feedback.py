"""Developer feedback read as routing labels: acceptance per route, and mis-routing evidence.

A small- or middle-tier finding dismissed on a substantive or architectural chunk is evidence the
chunk was under-routed; a dismissed frontier finding on a trivial or routine chunk is evidence of
over-routing. Pure: the rows come from the ledger reader, the caller does the I/O.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from app.plan.tiers import tier_sort_key
from app.report.acceptance import NEGATIVE_SIGNALS, POSITIVE_SIGNALS

if TYPE_CHECKING:
    from app.store.ledger_read import FeedbackRow

HARD = frozenset({"substantive", "architectural"})
EASY = frozenset({"trivial", "routine"})
CHEAP_TIERS = frozenset({"small", "middle"})
_DIFFICULTY_ORDER = ("trivial", "routine", "substantive", "architectural")


class Direction(StrEnum):
    """Which way a dismissed finding says its chunk was mis-routed."""

    UNDER = "under-routed"
    OVER = "over-routed"


@dataclass(frozen=True, slots=True)
class RouteAcceptance:
    """Accepted and rejected findings of one tier on one difficulty (`all`: every category)."""

    tier: str
    difficulty: str
    category: str
    accepted: int
    rejected: int

    @property
    def rate(self) -> float | None:
        """Accepted share of the judged findings, 0-1; None without any."""
        judged = self.accepted + self.rejected
        return round(self.accepted / judged, 4) if judged else None


@dataclass(frozen=True, slots=True)
class Evidence:
    """One dismissed finding that says its chunk went to the wrong tier."""

    direction: Direction
    repository: str
    pr_number: int
    fingerprint: str
    signal: str
    tier: str
    difficulty: str
    category: str


@dataclass(frozen=True, slots=True)
class FeedbackLabels:
    """What the feedback rows say about the router."""

    signals: int
    acceptance: tuple[RouteAcceptance, ...]
    evidence: tuple[Evidence, ...]

    def of(self, direction: Direction) -> tuple[Evidence, ...]:
        """The evidence pointing one way."""
        return tuple(e for e in self.evidence if e.direction is direction)


def _difficulty_key(difficulty: str) -> tuple[int, str]:
    order = _DIFFICULTY_ORDER.index(difficulty) if difficulty in _DIFFICULTY_ORDER else 99
    return (order, difficulty)


def direction_of(row: FeedbackRow) -> Direction | None:
    """Under- or over-routed when the row is a rejection on a mismatched route, else None."""
    if row.signal not in NEGATIVE_SIGNALS:
        return None
    if row.tier in CHEAP_TIERS and row.difficulty in HARD:
        return Direction.UNDER
    if row.tier == "frontier" and row.difficulty in EASY:
        return Direction.OVER
    return None


def feedback_labels(rows: Iterable[FeedbackRow]) -> FeedbackLabels:
    """Acceptance per tier and difficulty (then per category), and the mis-routing evidence."""
    counts: Counter[tuple[str, str, str, bool]] = Counter()
    evidence: list[Evidence] = []
    judged = 0
    for row in rows:
        if row.signal not in POSITIVE_SIGNALS and row.signal not in NEGATIVE_SIGNALS:
            continue
        judged += 1
        good = row.signal in POSITIVE_SIGNALS
        counts[(row.tier, row.difficulty, "all", good)] += 1
        counts[(row.tier, row.difficulty, row.category, good)] += 1
        direction = direction_of(row)
        if direction is not None:
            evidence.append(
                Evidence(
                    direction,
                    row.repository,
                    row.pr_number,
                    row.fingerprint,
                    row.signal,
                    row.tier,
                    row.difficulty,
                    row.category,
                )
            )
    keys = sorted(
        {(t, d, c) for t, d, c, _ in counts},
        key=lambda k: (tier_sort_key(k[0]), _difficulty_key(k[1]), k[2] != "all", k[2]),
    )
    cells = tuple(
        RouteAcceptance(t, d, c, counts[(t, d, c, True)], counts[(t, d, c, False)])
        for t, d, c in keys
    )
    return FeedbackLabels(judged, cells, tuple(evidence))
