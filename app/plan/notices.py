"""What a plan tells the user besides routes and costs: warnings with typed codes, request notes.

The planner raises warnings by code and hands over numbers, never formatted dollars: the
over-budget warning carries the cap and what was dropped, and `wording.py` (the output side)
writes its message. A request's note says which warning it also raises, so the planner never
recovers a warning by reading the note's text.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar


class WarningCode(StrEnum):
    """Every warning a plan or a report can raise."""

    TOKENIZER_FALLBACK = "tokenizer_fallback"  # token counts are byte-based estimates
    OVER_BUDGET = "over_budget"  # chunks (or the whole review) dropped to fit the cap
    PRIVATE_NO_LOCAL = "private_no_local"  # private code and no local tier: not reviewed
    TRUNCATED = "truncated"  # a request was cut to fit a window
    WINDOW = "window"  # a request moved to the long tier to fit
    MODEL_RETIRED = "model_retired"
    MODEL_RETIRING = "model_retiring"
    INSTRUCTIONS_TRIMMED = "instructions_trimmed"  # repository instructions cut to the cap
    NO_REVIEWS = "no_reviews"  # report: the filters match nothing
    CACHE_HIT_RATE_LOW = "cache_hit_rate_low"  # report: a provider's prefix cache misses
    MODEL_UNKNOWN = "model_unknown"  # report: the ledger names a model the catalog lacks


@dataclass(frozen=True, slots=True)
class Warning:
    """Something the user should know, already in words (no figures to format)."""

    code: WarningCode
    message: str


@dataclass(frozen=True, slots=True)
class BudgetWarning:
    """The worst case was over the per-PR cap: these chunks were dropped, or everything was."""

    code: ClassVar[WarningCode] = WarningCode.OVER_BUDGET
    budget_usd: float
    dropped: tuple[str, ...]  # chunk ids in drop order, then the requests' when nothing is sent
    nothing_sent: bool


PlanWarning = Warning | BudgetWarning


@dataclass(frozen=True, slots=True)
class Note:
    """A remark on one request, shown beside it; `warns` is the plan warning it also raises."""

    text: str
    warns: WarningCode | None = None
