"""What developers did with the bot's findings: accepted and rejected per tier and category.

Read from the ledger's feedback rows (reactions, resolved threads, dismissals) for `report`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.plan.tiers import tier_sort_key

if TYPE_CHECKING:
    from app.store.ledger_read import FeedbackRow

POSITIVE_SIGNALS = frozenset({"thumbs_up", "resolved_after_change"})
NEGATIVE_SIGNALS = frozenset({"thumbs_down", "dismissed"})


@dataclass(frozen=True, slots=True)
class Acceptance:
    """What developers did with one tier's findings of one category (`all`: every category).

    Accepted: a thumbs-up, or a thread resolved after its code changed. Rejected: a thumbs-down,
    or a dismissal (a "won't fix" reply, a thread resolved on unchanged code).
    """

    tier: str
    category: str
    accepted: int
    rejected: int

    @property
    def rate(self) -> float | None:
        """Accepted share of the findings with a signal, 0-1; None without any."""
        judged = self.accepted + self.rejected
        return round(self.accepted / judged, 4) if judged else None


def acceptance(rows: Iterable[FeedbackRow]) -> tuple[Acceptance, ...]:
    """Accepted and rejected findings per tier, then per tier and category."""
    counts: Counter[tuple[str, str, bool]] = Counter()
    for row in rows:
        if row.signal in POSITIVE_SIGNALS or row.signal in NEGATIVE_SIGNALS:
            good = row.signal in POSITIVE_SIGNALS
            counts[(row.tier, "all", good)] += 1
            counts[(row.tier, row.category, good)] += 1
    keys = sorted(
        {(t, c) for t, c, _ in counts}, key=lambda k: (tier_sort_key(k[0]), k[1] != "all", k[1])
    )
    return tuple(Acceptance(t, c, counts[(t, c, True)], counts[(t, c, False)]) for t, c in keys)
