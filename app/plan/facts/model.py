"""The difficulty model: a chunk's facts -> a score -> a label, readable from its weights.

Each fact has a weight on the label scale (0 trivial, 1 routine, 2 substantive, 3 architectural).
A chunk's score is its strongest fact's weight plus `combine` for every further fact of weight 2
or more; the label is the score's band. Scores just under 3 are ambiguous: a small file goes up to
architectural (ties go up, and a small file is cheap on the frontier tier), a large one stays
substantive. Trivial facts (docs, whitespace, comments, version strings, a formatter run) decide
alone, whatever else fired.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from app.plan.config import Difficulty

TRIVIAL_FACTS = frozenset(
    {
        "path.docs",
        "content.whitespace_only",
        "content.comment_only",
        "content.version_bump",
        "mechanical.format_only",
    }
)
ARCHITECTURAL = 3.0
_STRONG = 2.0
_LABELS = (Difficulty.TRIVIAL, Difficulty.ROUTINE, Difficulty.SUBSTANTIVE)


@dataclass(frozen=True, slots=True)
class Params:
    """The model's numbers: per-fact weights, the combine step and the ambiguous rule."""

    weights: Mapping[str, float]
    combine: float
    ambiguous_band: float
    ambiguous_max_lines: int


@dataclass(frozen=True, slots=True)
class Scored:
    """A chunk's label with its score, whether it was ambiguous, and its facts strongest first."""

    difficulty: Difficulty
    score: float
    ambiguous: bool
    ranked: tuple[str, ...]


def score_facts(facts: Sequence[str], changed_lines: int, params: Params) -> Scored:
    """Label a chunk from the ids of the facts that fired on it."""
    weight = params.weights
    ranked = tuple(sorted(dict.fromkeys(facts), key=lambda f: (-weight.get(f, 0.0), f)))
    if any(f in TRIVIAL_FACTS for f in ranked):
        return Scored(Difficulty.TRIVIAL, 0.0, False, ranked)
    if not ranked:
        return Scored(Difficulty.TRIVIAL, 0.0, False, ranked)
    strong = sum(1 for f in ranked if weight.get(f, 0.0) >= _STRONG)
    value = weight.get(ranked[0], 0.0) + params.combine * max(0, strong - 1)
    return Scored(*label_of(value, changed_lines, params), ranked)


def label_of(value: float, changed_lines: int, params: Params) -> tuple[Difficulty, float, bool]:
    """The label of a score, applying the ambiguous rule; returns (label, score, ambiguous)."""
    if value >= ARCHITECTURAL:
        return Difficulty.ARCHITECTURAL, value, False
    if value >= ARCHITECTURAL - params.ambiguous_band and params.ambiguous_band > 0:
        up = changed_lines <= params.ambiguous_max_lines
        return (Difficulty.ARCHITECTURAL if up else Difficulty.SUBSTANTIVE), value, True
    return _LABELS[min(2, max(0, int(value)))], value, False
