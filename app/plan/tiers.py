"""The model tiers, in one order everywhere: cheapest first, then `long` and `local`."""

from __future__ import annotations

from enum import StrEnum


class Tier(StrEnum):
    """A model tier: `long` takes what no other window fits; `local` alone may see private code."""

    SMALL = "small"
    MIDDLE = "middle"
    FRONTIER = "frontier"
    LONG = "long"
    LOCAL = "local"

    @property
    def rank(self) -> int:
        """The tier's place in the order, for sorting."""
        return _TIER_RANK[self]


_TIER_RANK = {tier: rank for rank, tier in enumerate(Tier)}
TIERS: tuple[Tier, ...] = tuple(Tier)


def tier_sort_key(name: str) -> tuple[int, str]:
    """Sorts tier names, or labels that start with one (`small openai:x`), in tier order."""
    first = name.split(" ", 1)[0]
    return (Tier(first).rank if first in TIERS else len(TIERS), name)
