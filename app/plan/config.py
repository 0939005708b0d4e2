"""Configuration: the defaults with the repo's `.github/tiered-review.yml` merged over them."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
    field_validator,
)

from app.errors import ConfigError
from app.plan.catalog import ModelEntry
from app.plan.config_guard import MAX_FLOW_DEPTH, flow_depth, forbidden_path, value_problem
from app.plan.globs import check_globs
from app.plan.model_config import DifficultyModel, levels_to_weights
from app.plan.patterns import check_pattern
from app.plan.presets import Preset, apply_preset
from app.plan.tiers import TIERS, Tier


class Difficulty(StrEnum):
    """How much capability a chunk needs, lowest first."""

    TRIVIAL = "trivial"
    ROUTINE = "routine"
    SUBSTANTIVE = "substantive"
    ARCHITECTURAL = "architectural"

    @property
    def rank(self) -> int:
        """Order of the labels: trivial 0 .. architectural 3."""
        return _RANK[self]


_RANK = {d: i for i, d in enumerate(Difficulty)}


class Task(StrEnum):
    """What a request asks the model to do."""

    REVIEW = "review"
    SUMMARY = "summary"
    CROSS_CUTTING = "cross_cutting"


class Mode(StrEnum):
    """`normal`, or `deep` after a maintainer's `/review deep`."""

    NORMAL = "normal"
    DEEP = "deep"


# The schema keeps the plain string enum it had when the field was a Literal.
_TIER_SCHEMA = WithJsonSchema({"enum": [t.value for t in Tier], "title": "Tier", "type": "string"})
_MODEL_RE = re.compile(r"^[a-z]+:[^\s:]+$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TierConfig(_Strict):
    """One tier: a `provider:model`, an alternate for outages, and a per-request input budget."""

    model: str
    alternate: str | None = None
    max_input_tokens: int = Field(default=32000, gt=0)

    @field_validator("model", "alternate")
    @classmethod
    def _model_form(cls, value: str | None) -> str | None:
        if value is not None and not _MODEL_RE.match(value):
            raise ValueError(f"{value!r} is not of the form 'provider:model'")
        return value


class Rule(_Strict):
    """A routing rule: unset conditions match anything; the first matching rule wins."""

    id: str = Field(min_length=1)
    tier: Annotated[Tier, _TIER_SCHEMA]
    task: Task | None = None
    difficulty: Difficulty | None = None
    mode: Mode | None = None
    private: bool | None = None


class OutputEstimate(_Strict):
    """Expected output tokens: base plus so many per 1,000 tokens of diff."""

    base: int = Field(ge=0)
    per_1k_input: int = Field(ge=0)


class RequestsConfig(_Strict):
    """How chunks are packed into requests."""

    max_chunks: int = Field(gt=0)
    chunk_max_tokens: int = Field(gt=0)
    summary_max_tokens: int = Field(gt=0)
    cross_cutting_max_tokens: int = Field(gt=0)
    context_max_tokens: int = Field(ge=0)
    max_output_tokens: dict[Task, int]
    output_estimate: dict[Task, OutputEstimate]


class PathInstruction(_Strict):
    """Extra reviewer guidance for files matching a glob."""

    path: str
    text: str

    @field_validator("path")
    @classmethod
    def _compiles(cls, value: str) -> str:
        check_globs([value])  # a GlobError is a ValueError: pydantic names the key
        return value


class PathsConfig(_Strict):
    """Path filters: excluded, private (local tier only) and per-path instructions."""

    exclude: list[str] = []
    private: list[str] = []
    instructions: list[PathInstruction] = []

    @field_validator("exclude", "private")
    @classmethod
    def _compiles(cls, value: list[str]) -> list[str]:
        check_globs(value)
        return value


class SkipConfig(_Strict):
    """Pull requests the bot leaves alone."""

    authors: list[str] = []
    labels: list[str] = []
    drafts: bool = True


class CommentsConfig(_Strict):
    """Noise control for what is posted on GitHub."""

    min_severity: Literal["critical", "major", "minor", "nit"] = "minor"
    max_inline: int = Field(default=25, ge=0)


class ConventionsConfig(_Strict):
    """Repository conventions files read from the base branch into the instructions block."""

    files: list[str] = Field(
        default=["AGENTS.md", "CLAUDE.md", ".github/copilot-instructions.md", "CONTRIBUTING.md"],
        max_length=20,
    )
    max_tokens: int = Field(default=2000, ge=0, le=8000)  # all files together; 0 reads none


class BudgetConfig(_Strict):
    """Spending caps, bound on worst-case cost (input plus max output tokens)."""

    # One review of one push; the plan drops trivial, then routine, then the largest chunks.
    max_usd_per_pr: float | None = Field(default=None, ge=0)
    # A `/review deep`: refused, with the estimate and the cap, when its worst case is over.
    max_usd_per_deep_review: float | None = Field(default=None, ge=0)
    # All reviews of the tenant (installation or repository) in one UTC day.
    max_usd_per_day: float | None = Field(default=None, ge=0)


class PrWideConfig(_Strict):
    """When one PR cuts across enough of the repository to earn a cross-cutting request."""

    min_packages: int = Field(gt=1)
    min_files: int = Field(gt=1)


class DifficultyPatterns(_Strict):
    """Regexes over changed lines."""

    security_call: list[str]
    concurrency_call: list[str]
    ci_permissions: list[str]
    version_line: list[str]
    generated_marker: list[str]

    @field_validator("*")
    @classmethod
    def _compiles(cls, value: list[str]) -> list[str]:
        for pattern in value:
            check_pattern(pattern)  # a PatternError is a ValueError: pydantic names the key
        return value


class DifficultyGlobs(_Strict):
    """Path globs per file kind and per skip reason."""

    lockfile: list[str]
    vendored: list[str]
    generated: list[str]
    minified: list[str]
    docs: list[str]
    tests: list[str]
    ci: list[str]
    migration: list[str]
    public_api: list[str]
    config: list[str]
    new_package: list[str]

    @field_validator("*")
    @classmethod
    def _compiles(cls, value: list[str]) -> list[str]:
        check_globs(value)
        return value


# Hard ceilings on whole-file fetches: a repository's config is untrusted and may lower the
# defaults, never raise the App's GitHub requests or memory past these.
WHOLE_FILES_MAX_FILES = 200
WHOLE_FILES_MAX_BYTES = 1_000_000


class WholeFilesConfig(_Strict):
    """Whole files at the base and head for the parsed facts (App and Action), bounded."""

    enabled: bool = True
    # code files fetched per review at most, largest changes first (two requests each at most)
    max_files: int = Field(default=40, ge=0, le=WHOLE_FILES_MAX_FILES)
    max_bytes: int = Field(default=300_000, gt=0, le=WHOLE_FILES_MAX_BYTES)  # per file


class DifficultyConfig(_Strict):
    """Static signals, their levels, globs and thresholds, and the fitted model."""

    small_change_lines: int = Field(ge=0)
    large_change_lines: int = Field(gt=0)
    max_file_changed_lines: int = Field(gt=0)
    signals: dict[str, Difficulty]
    globs: DifficultyGlobs
    security_words: list[str]
    code_extensions: list[str]
    patterns: DifficultyPatterns
    model: DifficultyModel
    whole_files: WholeFilesConfig = WholeFilesConfig()


class Config(_Strict):
    """The whole effective configuration."""

    as_of: dt.date | None = None
    # A preset of every tier for one provider (app/plan/presets.py); `tiers:` still wins.
    providers: Preset | None = None
    tiers: dict[str, TierConfig]
    rules: list[Rule] = Field(min_length=1)
    requests: RequestsConfig
    paths: PathsConfig = PathsConfig()
    instructions: str = ""
    conventions: ConventionsConfig = ConventionsConfig()
    skip: SkipConfig = SkipConfig()
    comments: CommentsConfig = CommentsConfig()
    budget: BudgetConfig = BudgetConfig()
    pr_wide: PrWideConfig
    difficulty: DifficultyConfig
    models: dict[str, ModelEntry] = {}

    @field_validator("tiers")
    @classmethod
    def _known_tiers(cls, value: dict[str, TierConfig]) -> dict[str, TierConfig]:
        unknown = sorted(set(value) - set(TIERS))
        if unknown:
            raise ValueError(f"unknown tier {unknown[0]!r}: tiers are {', '.join(TIERS)}")
        missing = [t.value for t in TIERS if t is not Tier.LOCAL and t not in value]
        if missing:
            raise ValueError(f"tier {missing[0]!r} must be configured")
        return value


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge `override` over `base`: mappings merge key by key, anything else replaces."""
    out = dict(base)
    for key, value in override.items():
        old = out.get(key)
        if isinstance(old, Mapping) and isinstance(value, Mapping):
            out[key] = merge(old, value)
        else:
            out[key] = value
    return out


def parse_repo_config(text: str, source: str) -> dict[str, Any]:
    """Parse the YAML text of a repo config into a mapping (validated later, after merging)."""
    if flow_depth(text) > MAX_FLOW_DEPTH:
        raise ConfigError(f"{source}: not valid YAML: nested too deeply")
    try:
        data = yaml.safe_load(text)
    # ValueError: a scalar that does not convert, such as the timestamp 2026-13-45.
    except (yaml.YAMLError, ValueError) as exc:
        raise ConfigError(f"{source}: not valid YAML: {exc}") from exc
    except RecursionError as exc:
        raise ConfigError(f"{source}: not valid YAML: nested too deeply") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping of keys")
    problem = value_problem(data)
    if problem:
        raise ConfigError(f"{source}: {problem}")
    if "models" in data:
        raise ConfigError(
            f"{source}: models: model definitions and prices are the operator's "
            "(TIERED_REVIEW_MODELS_FILE); a repository chooses among catalogued models in tiers"
        )
    forbidden = forbidden_path(data)
    if forbidden:
        raise ConfigError(
            f"{source}: {forbidden}: base URLs and keys cannot be set in repository config; "
            "the operator sets them in the environment"
        )
    return data


def build_config(defaults: Mapping[str, Any], repo: Mapping[str, Any], source: str) -> Config:
    """Validate the repo config merged over the defaults, naming the first bad key.

    A level the repo sets in `difficulty.signals` also sets that fact's weight in the facts
    model (trivial 0 .. architectural 3), unless the repo sets the weight itself.
    """
    merged = merge(defaults, repo)
    levels_to_weights(merged, repo)
    try:
        return Config.model_validate(apply_preset(merged, repo))
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        if err["type"] == "extra_forbidden":
            raise ConfigError(f"{source}: unknown key {where[:200]!r}") from exc
        message = err["msg"] if len(err["msg"]) <= 300 else err["msg"][:300] + "..."
        raise ConfigError(f"{source}: {where[:200]}: {message}") from exc


def with_budget(config: Config, max_usd_per_pr: float | None) -> Config:
    """`config` with its per-PR cap lowered to `max_usd_per_pr`: the stricter cap wins."""
    if max_usd_per_pr is None:
        return config
    current = config.budget.max_usd_per_pr
    cap = max_usd_per_pr if current is None else min(current, max_usd_per_pr)
    return with_per_pr_cap(config, max(0.0, cap))


def with_per_pr_cap(config: Config, max_usd_per_pr: float | None) -> Config:
    """`config` with its per-PR cap set to `max_usd_per_pr` (None: no cap), the rest kept."""
    budget = config.budget.model_copy(update={"max_usd_per_pr": max_usd_per_pr})
    return config.model_copy(update={"budget": budget})


def _optional(node: Any) -> Any:
    """Drop `required` everywhere: a repo file sets only what it changes from the defaults."""
    if isinstance(node, dict):
        return {k: _optional(v) for k, v in node.items() if k != "required"}
    if isinstance(node, list):
        return [_optional(v) for v in node]
    return node


def config_json_schema() -> str:
    """The JSON schema editors use for `.github/tiered-review.yml`, generated from `Config`."""
    schema = _optional(Config.model_json_schema())
    # A repository may not define or price models (parse_repo_config refuses `models:`).
    schema["properties"].pop("models", None)
    defs = schema.get("$defs", {})
    while unused := [k for k in defs if f'"#/$defs/{k}"' not in json.dumps(schema)]:
        for name in unused:
            del defs[name]
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "tiered-review repository configuration"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"
