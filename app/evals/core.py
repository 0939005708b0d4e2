"""Quality per route: eval cases with planted defects, scoring by location and category, cliffs.

A case is a folder holding `case.yaml` (kind, title, description, planted defects) and
`change.diff`. A finding matches a planted defect when its path is the defect's, its RIGHT-side
line range `[start_line or line, line]` overlaps the defect's `lines` widened by `TOLERANCE`
lines on each side, and its category is the defect's. Per (case, tier, category) we count:

- expected: planted defects of the category;
- found: those matched by at least one finding (a defect counts once, however many match it);
- reported: findings of the category, wherever they are;
- correct: of those, the findings that match some planted defect.

Recall is found / expected, precision correct / reported, each summed over cases before
dividing. A finding on a defect's lines with another category is reported (in its own
category) but not correct, and leaves the defect unfound.

A capability cliff is a recall drop of `CLIFF_POINTS` points or more on one (tier, category)
against the last earlier run holding that (tier, category), both counted over the cases the two
runs share (so that adding a harder case is not a cliff). Few expected defects still count: the
report shows n beside every figure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from app.errors import EvalError, TieredReviewError
from app.plan.config import Config, Rule
from app.plan.contract import Category
from app.plan.diff import Side, parse_diff
from app.review.findings import Finding

CASE_FILE = "case.yaml"
DIFF_FILE = "change.diff"
TOLERANCE = 2  # lines either side of a defect that still count as "on it"
CLIFF_POINTS = 10.0  # a recall drop of this many points or more is a capability cliff
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")

Kind = Literal["docs", "tests", "config", "bugfix", "concurrency", "security", "api", "performance"]


class _DefectSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    path: str = Field(min_length=1)
    lines: tuple[int, int]
    category: Category

    @field_validator("lines")
    @classmethod
    def _ordered(cls, value: tuple[int, int]) -> tuple[int, int]:
        if value[0] < 1 or value[1] < value[0]:
            raise ValueError("must be [start, end] with 1 <= start <= end")
        return value


class _CaseSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Kind
    title: str = Field(min_length=1)
    description: str = ""
    defects: list[_DefectSpec]


@dataclass(frozen=True, slots=True)
class Defect:
    """A planted defect: a path, inclusive RIGHT-side lines of the new file, and a category."""

    path: str
    start: int
    end: int
    category: Category


@dataclass(frozen=True, slots=True)
class EvalCase:
    """One realistic change with its planted defects."""

    id: str
    kind: Kind
    title: str
    description: str
    diff: str
    defects: tuple[Defect, ...]


def parse_case(case_id: str, case_yaml: str, diff_text: str, source: str) -> EvalCase:
    """Validate one case; EvalError names `source` and the bad key or defect."""
    if not _ID.match(case_id):
        raise EvalError(
            f"{source}: case folder name {case_id!r} is not letters, digits and ._- (128 at most)"
        )
    try:
        data = yaml.safe_load(case_yaml)
    except (yaml.YAMLError, ValueError) as exc:
        raise EvalError(f"{source}: not valid YAML: {exc}") from exc
    try:
        spec = _CaseSpec.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        raise EvalError(f"{source}: {where}: {err['msg']}") from exc
    try:
        files = {f.path: f for f in parse_diff(diff_text)}
    except TieredReviewError as exc:
        raise EvalError(f"{source}: {DIFF_FILE}: {exc}") from exc
    defects: list[Defect] = []
    for i, d in enumerate(spec.defects):
        changed = files.get(d.path)
        if changed is None:
            raise EvalError(f"{source}: defects.{i}.path: {d.path!r} is not in {DIFF_FILE}")
        right = {a.line for h in changed.hunks for a in h.anchors(d.path) if a.side is Side.RIGHT}
        if not any(d.lines[0] <= line <= d.lines[1] for line in right):
            raise EvalError(
                f"{source}: defects.{i}.lines: {list(d.lines)} holds no RIGHT-side line of "
                f"{d.path}'s hunks"
            )
        defects.append(Defect(d.path, d.lines[0], d.lines[1], d.category))
    return EvalCase(case_id, spec.kind, spec.title, spec.description, diff_text, tuple(defects))


def load_cases(folder: Path) -> tuple[EvalCase, ...]:
    """Every case folder under `folder`, sorted by id; EvalError for the first bad one."""
    if not folder.is_dir():
        raise EvalError(f"{folder}: no such folder of eval cases")
    cases = []
    for path in sorted(p for p in folder.iterdir() if p.is_dir()):
        source = str(path / CASE_FILE)
        try:
            case_yaml = (path / CASE_FILE).read_text("utf-8")
            diff_text = (path / DIFF_FILE).read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise EvalError(f"{path}: cannot read {CASE_FILE} and {DIFF_FILE}: {exc}") from exc
        cases.append(parse_case(path.name, case_yaml, diff_text, source))
    if not cases:
        raise EvalError(f"{folder}: holds no case folders")
    return tuple(cases)


def forced_config(config: Config, tier: str) -> Config:
    """`config` with one rule sending every task to `tier`; the privacy guard still applies."""
    if tier not in config.tiers:
        raise EvalError(f"tier {tier!r} is not configured; configured: {', '.join(config.tiers)}")
    rule = Rule.model_validate({"id": f"eval-{tier}", "tier": tier})
    return config.model_copy(update={"rules": [rule]})


# --- scoring ------------------------------------------------------------------------------------


def matches(finding: Finding, defect: Defect, tolerance: int = TOLERANCE) -> bool:
    """Same path, a RIGHT-side range overlapping the widened defect, and the same category."""
    return on_defect(finding, defect, tolerance) and finding.category == defect.category


def on_defect(finding: Finding, defect: Defect, tolerance: int = TOLERANCE) -> bool:
    """Whether the finding's location overlaps the defect's lines widened by `tolerance`."""
    if finding.path != defect.path or finding.side != "RIGHT":
        return False
    start = finding.line if finding.start_line is None else min(finding.start_line, finding.line)
    return start <= defect.end + tolerance and finding.line >= defect.start - tolerance


@dataclass(frozen=True, slots=True)
class Score:
    """The counts of one (case, tier, category): a row of `eval_results`."""

    case_id: str
    tier: str
    model: str
    category: str
    expected: int
    found: int
    reported: int
    correct: int


def score_case(
    case_id: str,
    defects: Sequence[tuple[str, Defect]],
    findings: Sequence[tuple[str, Finding]],
    models: Mapping[str, str],
) -> tuple[Score, ...]:
    """Count one case's results; each defect and finding comes with the tier it is charged to.

    A defect's `found` goes to its own tier and a finding's `correct` to the finding's, so a
    routed run can credit a frontier cross-cutting finding without hiding a small tier's miss.
    """
    counts: dict[tuple[str, str], list[int]] = {}

    def slot(tier: str, category: str) -> list[int]:
        return counts.setdefault((tier, category), [0, 0, 0, 0])

    for tier, defect in defects:
        row = slot(tier, defect.category)
        row[0] += 1
        row[1] += any(matches(f, defect) for _, f in findings)
    for tier, finding in findings:
        row = slot(tier, finding.category)
        row[2] += 1
        row[3] += any(matches(finding, d) for _, d in defects)
    return tuple(
        Score(case_id, tier, models.get(tier, ""), category, *row)
        for (tier, category), row in sorted(counts.items())
    )


@dataclass(frozen=True, slots=True)
class Tally:
    """Counts summed over cases, with recall and precision (None when undefined)."""

    expected: int = 0
    found: int = 0
    reported: int = 0
    correct: int = 0
    cases: int = 0

    @property
    def recall(self) -> float | None:
        """found / expected."""
        return self.found / self.expected if self.expected else None

    @property
    def precision(self) -> float | None:
        """correct / reported."""
        return self.correct / self.reported if self.reported else None


def tally(scores: Iterable[Score]) -> Tally:
    """The sum of some scores' counts."""
    rows = list(scores)
    return Tally(
        expected=sum(s.expected for s in rows),
        found=sum(s.found for s in rows),
        reported=sum(s.reported for s in rows),
        correct=sum(s.correct for s in rows),
        cases=len({s.case_id for s in rows}),
    )


def by_key(scores: Iterable[Score]) -> dict[tuple[str, str], list[Score]]:
    """Scores grouped by (tier, category), in sorted key order."""
    groups: dict[tuple[str, str], list[Score]] = {}
    for s in scores:
        groups.setdefault((s.tier, s.category), []).append(s)
    return dict(sorted(groups.items()))


# --- baselines and cliffs -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredScore:
    """A score from an earlier run, as the ledger holds it."""

    run_uid: str
    created_at: float
    order: int  # the row id: breaks ties between runs stored in the same second
    score: Score


@dataclass(frozen=True, slots=True)
class Comparison:
    """One (tier, category) of this run against its baseline."""

    tier: str
    category: str
    current: Tally
    baseline_run: str | None = None
    baseline_at: float | None = None
    shared_current: Tally | None = None  # this run over the cases both runs scored
    shared_baseline: Tally | None = None  # the baseline over the same cases
    change_pts: float | None = None  # recall change over the shared cases, in points
    cliff: bool = False


def compare(current: Sequence[Score], history: Sequence[StoredScore]) -> list[Comparison]:
    """Each (tier, category) of `current` against the last earlier run that has it.

    "Has it" means planted defects of that category on that tier in at least one case this run
    scored too; recall is compared over those shared cases only.
    """
    runs: dict[tuple[str, str], dict[str, list[StoredScore]]] = {}
    for stored in history:
        key = (stored.score.tier, stored.score.category)
        runs.setdefault(key, {}).setdefault(stored.run_uid, []).append(stored)
    out: list[Comparison] = []
    for key, scores in by_key(current).items():
        now = tally(scores)
        mine = {s.case_id for s in scores if s.expected}
        candidates = sorted(
            runs.get(key, {}).values(),
            key=lambda rows: max((r.created_at, r.order) for r in rows),
            reverse=True,
        )
        comparison = Comparison(key[0], key[1], now)
        for rows in candidates:
            shared = mine & {r.score.case_id for r in rows if r.score.expected}
            if not shared:
                continue
            before = tally(r.score for r in rows if r.score.case_id in shared)
            after = tally(s for s in scores if s.case_id in shared)
            # Both recalls are defined: every shared case has planted defects in both runs.
            change = round(100 * ((after.recall or 0.0) - (before.recall or 0.0)), 6)
            comparison = Comparison(
                key[0],
                key[1],
                now,
                baseline_run=rows[0].run_uid,
                baseline_at=rows[0].created_at,
                shared_current=after,
                shared_baseline=before,
                change_pts=change,
                cliff=change <= -CLIFF_POINTS,
            )
            break
        out.append(comparison)
    return out
