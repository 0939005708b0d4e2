"""Calibration, pure: a labelled corpus's rows, each PR's routed outcome, the figures, the fit.

A PR's label is its hardest chunk's; the router's verdict is whether any request went to the
frontier tier. The fit is a plain coordinate search over a small grid of weights, scored on the
fitting part only by a loss that states what matters: an architectural PR with no frontier
request costs 4, a trivial or routine PR with one costs 3, any other wrong label 0.5, and the
routed share of the all-frontier cost counts 10 times.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from app.errors import TieredReviewError
from app.plan.config import Difficulty
from app.plan.facts.model import Params, score_facts
from app.plan.planner import Plan

COLUMNS = ("repo", "base", "head", "label", "reason")
_SHA = re.compile(r"^[0-9a-f]{40}$")
_REPO = re.compile(r"^[\w.-]+/[\w.-]+$")
HELD_BACK_MODULUS = 3  # a third of the PRs, by a hash of the head commit, is never fitted on
GRID = (0.0, 1.0, 2.0, 2.5, 3.0)
COMBINE_GRID = (0.0, 0.25, 0.5)
RUBRIC_GRID = (2.5, 3.0)  # facts the rubric calls architectural: the fit may only soften them
# to the ambiguous band, never drop them (so a small, noisy corpus cannot unlearn the rubric)
RUBRIC_ARCHITECTURAL = frozenset(
    {
        "surface.removed",
        "surface.renamed",
        "surface.signature",
        "surface.export",
        "surface.deprecation",
        "deps.added",
        "deps.removed",
        "security.tls",
        "security.crypto",
        "security.auth",
        "security.deserialize",
        "security.shell",
        "security.sql",
        "state.concurrency",
        "path.security",
        "content.security_call",
        "content.concurrency_call",
        "content.signature_change",
        "content.removed_public_name",
    }
)
BAND_GRID = (0.0, 0.5, 1.0)
MAX_LINES_GRID = (30.0, 60.0, 120.0, 250.0)
_LOW = (Difficulty.TRIVIAL, Difficulty.ROUTINE)


class CorpusError(TieredReviewError):
    """The corpus file is not the five-column TSV calibrate reads."""


@dataclass(frozen=True, slots=True)
class CorpusRow:
    """One labelled PR: where its diff came from and what a reviewer called it."""

    repo: str
    base: str
    head: str
    label: Difficulty
    reason: str

    @property
    def held_back(self) -> bool:
        """Whether this PR belongs to the part the fit never sees (a third, by head hash)."""
        digest = hashlib.sha256(self.head.encode("ascii")).digest()
        return int.from_bytes(digest[:4], "big") % HELD_BACK_MODULUS == 0

    @property
    def diff_name(self) -> str:
        """The diff's path under the corpus folder."""
        return f"diffs/{self.repo.replace('/', '__')}/{self.head}.diff.gz"


def parse_corpus(text: str, source: str) -> list[CorpusRow]:
    """Rows of a corpus TSV; a bad line raises CorpusError naming it."""
    lines = text.splitlines()
    if not lines or tuple(lines[0].split("\t")) != COLUMNS:
        raise CorpusError(f"{source}: line 1 must be the header {chr(9).join(COLUMNS)!r}")
    rows: list[CorpusRow] = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        cells = line.split("\t")
        if len(cells) != len(COLUMNS):
            raise CorpusError(f"{source}:{number}: {len(cells)} columns, expected 5")
        repo, base, head, label, reason = cells
        if not _REPO.match(repo):
            raise CorpusError(f"{source}:{number}: repo {repo!r} is not owner/name")
        for name, sha in (("base", base), ("head", head)):
            if not _SHA.match(sha):
                raise CorpusError(f"{source}:{number}: {name} is not a 40-hex commit")
        try:
            difficulty = Difficulty(label)
        except ValueError:
            raise CorpusError(
                f"{source}:{number}: label {label!r} is not one of "
                f"{', '.join(d.value for d in Difficulty)}"
            ) from None
        rows.append(CorpusRow(repo, base, head, difficulty, reason))
    if not rows:
        raise CorpusError(f"{source}: no rows")
    return rows


@dataclass(frozen=True, slots=True)
class ChunkFacts:
    """What the fit needs of a reviewed chunk: its facts, size and tokens."""

    signals: tuple[str, ...]
    changed_lines: int
    tokens: int
    package: str
    code: bool


@dataclass(frozen=True, slots=True)
class Outcome:
    """One PR through the planner."""

    row: CorpusRow
    predicted: Difficulty
    frontier: bool
    routed_usd: float
    all_frontier_usd: float
    all_middle_usd: float
    signals: frozenset[str]
    chunks: tuple[ChunkFacts, ...] = ()
    formatter_run: bool = False  # a formatter or codemod run: nothing above substantive, no
    # cross-cutting request


def outcome(
    row: CorpusRow, plan: Plan, package_of: Mapping[str, str], formatter_run: bool = False
) -> Outcome:
    """Reduce a PR's plan to its label, verdict, cost and facts."""
    reviewed = [c for c in plan.chunks if c.reviewable]
    predicted = max((c.difficulty for c in reviewed), key=lambda d: d.rank, default=None)
    return Outcome(
        row=row,
        predicted=predicted or Difficulty.TRIVIAL,
        frontier=any(r.request.route.tier == "frontier" for r in plan.requests),
        routed_usd=plan.totals.est_cost_usd,
        all_frontier_usd=plan.totals.all_frontier_usd,
        all_middle_usd=plan.totals.all_middle_usd,
        signals=frozenset(s for c in reviewed for s in c.signals),
        chunks=tuple(
            ChunkFacts(
                c.signals,
                c.lines_added + c.lines_deleted,
                c.tokens,
                package_of.get(c.path, c.path),
                c.kind.value == "code" and not c.private,
            )
            for c in reviewed
        ),
        formatter_run=formatter_run,
    )


@dataclass(frozen=True, slots=True)
class SignalScore:
    """How often a signal fired on a PR, and how often that PR was as hard as the signal says."""

    signal: str
    fired: int
    precision: float


@dataclass(frozen=True, slots=True)
class Figures:
    """The calibration figures of one model on one set of PRs."""

    prs: int
    confusion: dict[str, dict[str, int]]  # gold label -> predicted label -> PRs
    architectural_recall: float | None  # architectural PRs with a frontier request
    low_with_frontier: float | None  # trivial and routine PRs with a frontier request
    routed_over_frontier: float | None
    routed_over_middle: float | None
    label_accuracy: float | None
    signals: tuple[SignalScore, ...] = field(default=())


def _share(hits: int, total: int) -> float | None:
    return None if total == 0 else hits / total


def figures(outcomes: Sequence[Outcome], levels: Mapping[str, Difficulty]) -> Figures:
    """The figures of a set of outcomes; `levels` is each signal's own label, for precision."""
    confusion = {g.value: {p.value: 0 for p in Difficulty} for g in Difficulty}
    for o in outcomes:
        confusion[o.row.label.value][o.predicted.value] += 1
    arch = [o for o in outcomes if o.row.label is Difficulty.ARCHITECTURAL]
    low = [o for o in outcomes if o.row.label in _LOW]
    routed = sum(o.routed_usd for o in outcomes)
    frontier = sum(o.all_frontier_usd for o in outcomes)
    middle = sum(o.all_middle_usd for o in outcomes)
    scores = []
    for signal in sorted({s for o in outcomes for s in o.signals}):
        fired = [o for o in outcomes if signal in o.signals]
        level = levels.get(signal, Difficulty.TRIVIAL)
        good = sum(1 for o in fired if o.row.label.rank >= level.rank)
        scores.append(SignalScore(signal, len(fired), good / len(fired)))
    return Figures(
        prs=len(outcomes),
        confusion=confusion,
        architectural_recall=_share(sum(o.frontier for o in arch), len(arch)),
        low_with_frontier=_share(sum(o.frontier for o in low), len(low)),
        routed_over_frontier=None if frontier <= 0 else routed / frontier,
        routed_over_middle=None if middle <= 0 else routed / middle,
        label_accuracy=_share(sum(o.predicted is o.row.label for o in outcomes), len(outcomes)),
        signals=tuple(scores),
    )


def levels_of(weights: Mapping[str, float]) -> dict[str, Difficulty]:
    """Each fact's own label: the band its weight alone falls in."""
    order = list(Difficulty)
    return {f: order[min(3, max(0, int(w)))] for f, w in weights.items()}


@dataclass(frozen=True, slots=True)
class Prices:
    """Input USD per million tokens of each routed tier, for the fit's cost estimate."""

    small: float
    middle: float
    frontier: float


@dataclass(frozen=True, slots=True)
class PrWide:
    """The cross-cutting rule the fit mirrors: so many packages or files of non-trivial code."""

    min_packages: int
    min_files: int


def _predict(o: Outcome, params: Params, prices: Prices, wide: PrWide) -> tuple[int, bool, float]:
    """(hardest label's rank, any frontier request, estimated routed input cost) under params."""
    hardest, frontier, cost = 0, False, 0.0
    heavy_packages: set[str] = set()
    heavy_files = 0
    for c in o.chunks:
        label = score_facts(c.signals, c.changed_lines, params).difficulty
        if o.formatter_run and label is Difficulty.ARCHITECTURAL:
            label = Difficulty.SUBSTANTIVE
        hardest = max(hardest, label.rank)
        if label is Difficulty.ARCHITECTURAL:
            frontier = True
            cost += c.tokens * prices.frontier
        elif label is Difficulty.SUBSTANTIVE:
            cost += c.tokens * prices.middle
        else:
            cost += c.tokens * prices.small
        if label.rank >= Difficulty.SUBSTANTIVE.rank:
            heavy_files += 1
            if c.code:
                heavy_packages.add(c.package)
    if not o.formatter_run and (
        len(heavy_packages) >= wide.min_packages or heavy_files >= wide.min_files
    ):
        frontier = True
        cost += sum(c.tokens for c in o.chunks) * prices.frontier * 0.5
    return hardest, frontier, cost


def loss(outcomes: Sequence[Outcome], params: Params, prices: Prices, wide: PrWide) -> float:
    """The fit's objective on a set of PRs (lower is better); see the module docstring."""
    total, routed, frontier_cost = 0.0, 0.0, 0.0
    for o in outcomes:
        rank, frontier, cost = _predict(o, params, prices, wide)
        gold = o.row.label
        if gold is Difficulty.ARCHITECTURAL and not frontier:
            total += 4
        elif gold in _LOW and frontier:
            total += 3
        elif rank != gold.rank:
            total += 0.5
        routed += cost
        frontier_cost += sum(c.tokens for c in o.chunks) * prices.frontier
    if frontier_cost > 0:
        total += 10 * routed / frontier_cost
    return total


def _with(params: Params, key: str, value: float) -> Params:
    """`params` with one of its scalar fields set."""
    if key == "combine":
        return replace(params, combine=value)
    if key == "ambiguous_band":
        return replace(params, ambiguous_band=value)
    return replace(params, ambiguous_max_lines=int(value))


def fit(
    outcomes: Sequence[Outcome],
    start: Params,
    facts: Iterable[str],
    prices: Prices,
    wide: PrWide,
    rounds: int = 3,
) -> tuple[Params, float, float]:
    """Coordinate search: each fact's weight, then `combine` and the ambiguous rule, over small
    grids, a few rounds. Facts the rubric calls architectural stay within RUBRIC_GRID.

    Returns the fitted params with the loss before and after. Deterministic: facts are visited
    in sorted order and ties keep the current value.
    """
    names = sorted(set(facts))
    best = start
    best_loss = before = loss(outcomes, start, prices, wide)
    for _ in range(rounds):
        moved = False
        for name in names:
            for value in RUBRIC_GRID if name in RUBRIC_ARCHITECTURAL else GRID:
                if value == best.weights.get(name):
                    continue
                trial = replace(best, weights={**best.weights, name: value})
                trial_loss = loss(outcomes, trial, prices, wide)
                if trial_loss < best_loss - 1e-9:
                    best, best_loss, moved = trial, trial_loss, True
        for key, grid in (
            ("combine", COMBINE_GRID),
            ("ambiguous_band", BAND_GRID),
            ("ambiguous_max_lines", MAX_LINES_GRID),
        ):
            for value in grid:
                trial = _with(best, key, value)
                trial_loss = loss(outcomes, trial, prices, wide)
                if trial_loss < best_loss - 1e-9:
                    best, best_loss, moved = trial, trial_loss, True
        if not moved:
            break
    return best, before, best_loss
