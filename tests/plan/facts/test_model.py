"""The difficulty model's arithmetic: strongest weight, combine step, the ambiguous rule."""

from __future__ import annotations

from app.plan.config import Difficulty
from app.plan.facts.model import Params, score_facts

PARAMS = Params(
    weights={
        "size.small": 1,
        "size.medium": 2,
        "surface.added": 2.5,
        "security.tls": 3,
        "resilience.handling": 2,
    },
    combine=0.25,
    ambiguous_band=0.5,
    ambiguous_max_lines=60,
)


def test_the_strongest_fact_decides_and_trivial_facts_win() -> None:
    assert score_facts(["size.small"], 5, PARAMS).difficulty is Difficulty.ROUTINE
    scored = score_facts(["size.small", "security.tls"], 5, PARAMS)
    assert scored.difficulty is Difficulty.ARCHITECTURAL and scored.ranked[0] == "security.tls"
    assert score_facts(["security.tls", "path.docs"], 5, PARAMS).difficulty is Difficulty.TRIVIAL
    assert score_facts([], 0, PARAMS).difficulty is Difficulty.TRIVIAL


def test_the_ambiguous_band_goes_up_only_for_small_files() -> None:
    small = score_facts(["surface.added"], 40, PARAMS)
    large = score_facts(["surface.added"], 400, PARAMS)
    assert small.ambiguous and small.difficulty is Difficulty.ARCHITECTURAL
    assert large.ambiguous and large.difficulty is Difficulty.SUBSTANTIVE


def test_combine_adds_for_every_further_strong_fact() -> None:
    one = score_facts(["size.medium"], 100, PARAMS)
    two = score_facts(["size.medium", "resilience.handling"], 100, PARAMS)
    assert one.score == 2.0 and two.score == 2.25
    assert two.difficulty is Difficulty.SUBSTANTIVE and not two.ambiguous
