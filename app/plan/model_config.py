"""The difficulty model's configuration (app/data/difficulty-model.yaml), validated with pydantic.

Merged into the config under `difficulty.model`, so a repository may change a weight or the
ambiguous rule like any other routing setting; its patterns are checked as RE2.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.plan.patterns import check_pattern

LEVELS = ("trivial", "routine", "substantive", "architectural")  # weight 0..3


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DifficultyModel(_Strict):
    """The fitted difficulty model (app/data/difficulty-model.yaml): weights, thresholds, APIs."""

    as_of: dt.date
    fitted_on: str
    kind: Literal["facts", "legacy"] = "facts"
    combine: float = Field(ge=0, le=1)
    ambiguous_band: float = Field(ge=0, le=1)
    ambiguous_max_lines: int = Field(ge=0)
    mechanical_pr_min_files: int = Field(ge=1)
    mechanical_pr_share: float = Field(gt=0, le=1)
    weights: dict[str, float]
    apis: dict[str, dict[str, list[str]]]

    @field_validator("weights")
    @classmethod
    def _weights(cls, value: dict[str, float]) -> dict[str, float]:
        for name, weight in value.items():
            if not 0 <= weight <= 4:
                raise ValueError(f"weight of {name!r} is {weight}, not within 0..4")
        return value

    @field_validator("apis")
    @classmethod
    def _apis(cls, value: dict[str, dict[str, list[str]]]) -> dict[str, dict[str, list[str]]]:
        for per_language in value.values():
            for language, patterns in per_language.items():
                if language not in API_LANGUAGES:
                    raise ValueError(f"unknown language {language!r} (one of {API_LANGUAGES})")
                for pattern in patterns:
                    check_pattern(pattern)
        return value


# `strings` patterns read the string literals of the changed rows (as data: a header's name),
# in every language; the others read the code, strings and comments blanked.
API_LANGUAGES = ("any", "python", "script", "go", "rust", "java", "strings")


def levels_to_weights(merged: dict[str, Any], repo: Mapping[str, Any]) -> None:
    """Turn a repo's `difficulty.signals` levels into the facts model's weights (in place)."""
    wanted = repo.get("difficulty")
    if not isinstance(wanted, Mapping) or not isinstance(wanted.get("signals"), Mapping):
        return
    model = merged.get("difficulty", {}).get("model")
    if not isinstance(model, dict) or not isinstance(model.get("weights"), dict):
        return
    own = wanted.get("model")
    own_weights = own.get("weights") if isinstance(own, Mapping) else None
    for signal, level in wanted["signals"].items():
        if (
            isinstance(level, str)
            and level in _RANK_BY_NAME
            and not (isinstance(own_weights, Mapping) and signal in own_weights)
        ):
            model["weights"][signal] = float(_RANK_BY_NAME[level])


_RANK_BY_NAME = {name: i for i, name in enumerate(LEVELS)}
