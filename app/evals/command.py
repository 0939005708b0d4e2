"""The `eval` command: run the cases on each tier, score, store, and compare with the baseline.

Each case runs once per chosen tier with every request forced onto that tier (one routing rule
sends every task there; the privacy guard and pricing are the ordinary ones), or, by default,
as routed, charging each planted defect to the tier its chunk went to (labels `routed:<tier>`).
Every case run is a `reviews` row with source `eval` (tenant `eval`, repository the case id,
`run_uid` the invocation's), and its scores are `eval_results` rows under the same `run_uid`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path

import sqlalchemy as sa
from rich.console import Console
from sqlalchemy.engine import Engine

from app.errors import EvalError, ExitCode
from app.evals.core import (
    Comparison,
    Defect,
    EvalCase,
    Score,
    StoredScore,
    compare,
    forced_config,
    load_cases,
    score_case,
)
from app.evals.output import eval_json, print_eval
from app.evals.scripted import PromptCache, ScriptedProvider
from app.evals.sloppy import Behaviour, Intent, ScriptedModel
from app.plan.config import Config, Mode, Task
from app.plan.packing import PullRequestInfo
from app.plan.planner import Plan, PlanInputs, build_plan
from app.plan.tiers import TIERS
from app.providers.base import Provider
from app.providers.registry import available, open_providers, require_keys
from app.resources import load_config, plan_inputs
from app.review.engine import EngineOptions, run_review
from app.review.findings import Finding
from app.review.result import ReviewResult
from app.settings import Settings
from app.store import schema
from app.store.db import open_database, write_transaction
from app.store.ledger import ReviewContext, record_review

ROUTED = "routed"
EVAL_TENANT = "eval"
CLIFF_EXIT = int(ExitCode.EVAL_CLIFF)  # a capability cliff is flagged: a red weekly run


@dataclass(frozen=True, slots=True)
class CaseRun:
    """One case reviewed on one tier (or as routed), with its scores."""

    case: EvalCase
    tier: str  # the forced tier, or "routed"
    result: ReviewResult
    plan_ms: float
    scores: tuple[Score, ...]
    intents: tuple[Intent, ...] = ()  # what a scripted model meant to report


@dataclass(frozen=True, slots=True)
class EvalRun:
    """One invocation of `eval`: every case run, and each (tier, category) against its baseline."""

    run_uid: str
    created_at: float
    tiers: tuple[str, ...]
    runs: tuple[CaseRun, ...]
    comparisons: tuple[Comparison, ...]
    behaviour: Behaviour | None = None  # the scripted model that answered, if any

    @property
    def cost_usd(self) -> float:
        """What the whole run cost."""
        return sum(r.result.totals.cost_usd for r in self.runs)

    @property
    def cliffs(self) -> tuple[Comparison, ...]:
        """The (tier, category) pairs whose recall fell off a cliff."""
        return tuple(c for c in self.comparisons if c.cliff)


def bundled_cases() -> Path:
    """The eval set shipped with the package."""
    return Path(str(resources.files("app"))) / "data" / "evals"


def parse_tiers(value: str | None, config: Config) -> tuple[str, ...]:
    """`small,middle,frontier` -> the tiers in order; unset -> ("routed",)."""
    if value is None or not value.strip():
        return (ROUTED,)
    tiers: list[str] = []
    for name in (t.strip() for t in value.split(",")):
        if name != ROUTED and name not in TIERS:
            raise EvalError(f"--tiers: unknown tier {name!r}; tiers are {', '.join(TIERS)}")
        if name != ROUTED and name not in config.tiers:
            raise EvalError(f"--tiers: tier {name!r} is not configured")
        if name and name not in tiers:
            tiers.append(name)
    return tuple(tiers)


def case_inputs(case: EvalCase, base: PlanInputs, tier: str) -> PlanInputs:
    """The plan inputs of one case on one tier: its PR text, and the tier forced unless routed."""
    config = base.config if tier == ROUTED else forced_config(base.config, tier)
    pr = PullRequestInfo(title=case.title, body=case.description)
    return PlanInputs(config, base.catalog, base.prompts, base.counter, base.today, Mode.NORMAL, pr)


def attribute(
    case: EvalCase, result: ReviewResult, tier: str
) -> tuple[list[tuple[str, Defect]], list[tuple[str, Finding]], dict[str, str]]:
    """Charge each defect and finding to a tier label, and name the models behind each label."""
    outcomes = {o.id: o for o in result.requests}

    def label(request_tier: str) -> str:
        return tier if tier != ROUTED else f"{ROUTED}:{request_tier}"

    findings = [
        (label(outcomes[f.request_id].tier), f) for f in result.findings if f.request_id in outcomes
    ]
    defects = [(label(_defect_tier(d, result)), d) for d in case.defects]
    answered: dict[str, set[str]] = {}
    planned: dict[str, set[str]] = {}
    for o, p in zip(result.requests, result.plan.requests, strict=True):
        planned.setdefault(label(o.tier), set()).add(p.request.route.model.key)
        if o.status in ("ok", "fallback"):
            answered.setdefault(label(o.tier), set()).add(f"{o.provider}:{o.model}")
    models = {k: ",".join(sorted(answered.get(k) or v))[:128] for k, v in planned.items()}
    return defects, findings, models


def _defect_tier(defect: Defect, result: ReviewResult) -> str:
    """The tier of the review request that carried the defect's lines ("unreviewed" if none)."""
    for chunk in result.plan.chunks:
        lines = {a.line for a in chunk.anchors() if a.side == "RIGHT"}
        if chunk.path != defect.path or not any(defect.start <= n <= defect.end for n in lines):
            continue
        for outcome in sorted(result.requests, key=lambda o: o.task is not Task.REVIEW):
            if chunk.id in outcome.chunk_ids and outcome.task is not Task.SUMMARY:
                return outcome.tier
    return "unreviewed"


def score_run(case: EvalCase, result: ReviewResult, tier: str) -> tuple[Score, ...]:
    """The case's scores on this tier (or on each routed tier)."""
    defects, findings, models = attribute(case, result, tier)
    return score_case(case.id, defects, findings, models)


async def _run_tier(
    jobs: Sequence[tuple[EvalCase, Plan, PlanInputs, float]],
    tier: str,
    providers: Mapping[str, Provider],
    options: EngineOptions,
    counts: dict[str, int],
    record: Engine,
    uid: str,
    now: float,
    script: _Script | None = None,
) -> list[CaseRun]:
    """The cases of one tier one after another, so that each reads the cache the first wrote."""
    out: list[CaseRun] = []
    for case, plan, inputs, plan_ms in jobs:
        model: ScriptedModel | None = None
        if script is not None:
            model, providers = script.providers(case, plan, inputs)
        result = await run_review(plan, providers, inputs.config, inputs.catalog, options, counts)
        context = ReviewContext(
            source="eval", tenant=EVAL_TENANT, repository=case.id, run_uid=uid, routing_ms=plan_ms
        )
        # Recorded as it finishes: money spent is in the ledger even if a later case crashes.
        # A scripted model spends nothing and is no baseline for real ones: it is not recorded.
        if script is None:
            await asyncio.to_thread(record_review, record, result, context, now)
        intents = tuple(model.intents.values()) if model is not None else ()
        out.append(CaseRun(case, tier, result, plan_ms, score_run(case, result, tier), intents))
    return out


@dataclass(frozen=True, slots=True)
class _Script:
    """Scripted providers in place of the real ones: one model per case, one shared cache."""

    behaviour: Behaviour
    cache: PromptCache
    seed: int = 0

    def providers(
        self, case: EvalCase, plan: Plan, inputs: PlanInputs
    ) -> tuple[ScriptedModel, dict[str, Provider]]:
        """The case's model and a provider of that model under every name the plan routes to."""
        skip = frozenset({inputs.prompts.summary})  # the summary's findings are never placed
        model = ScriptedModel(case, self.behaviour, seed=self.seed, skip_systems=skip)
        names = {p.request.route.model.provider for p in plan.requests}
        for tier in inputs.config.tiers.values():
            if tier.alternate is not None:
                names.add(inputs.catalog.get(tier.alternate).provider)
        count = inputs.counter.count
        return model, {n: ScriptedProvider(n, model, count, self.cache) for n in sorted(names)}


def run_eval(
    cases: Sequence[EvalCase],
    tiers: Sequence[str],
    base: PlanInputs,
    settings: Settings,
    engine: Engine,
    now: float,
    behaviour: Behaviour | None = None,
    seed: int = 0,
) -> EvalRun:
    """Plan every (case, tier), check keys, run tiers concurrently, store and compare.

    With `behaviour`, a scripted model answers every request in-process (no keys needed); `seed`
    varies its mistakes.
    """
    jobs: dict[str, list[tuple[EvalCase, Plan, PlanInputs, float]]] = {}
    ready = available(settings)
    for tier in tiers:
        for case in cases:
            inputs = case_inputs(case, base, tier)
            started = time.perf_counter()
            plan = build_plan(case.diff, inputs)
            plan_ms = (time.perf_counter() - started) * 1000
            if behaviour is None:
                require_keys(plan, ready)
            jobs.setdefault(tier, []).append((case, plan, inputs, plan_ms))
    uid = uuid.uuid4().hex
    options = EngineOptions(tenant=EVAL_TENANT, concurrency=settings.concurrency)

    script = None if behaviour is None else _Script(behaviour, PromptCache(), seed)

    async def go() -> list[list[CaseRun]]:
        counts: dict[str, int] = {}
        async with open_providers(settings) as providers:
            return await asyncio.gather(
                *(
                    _run_tier(jobs[t], t, providers, options, counts, engine, uid, now, script)
                    for t in tiers
                )
            )

    runs = tuple(r for per_tier in asyncio.run(go()) for r in per_tier)
    scores = [s for r in runs for s in r.scores]
    if behaviour is not None:  # scored, but neither stored nor compared with real runs
        return EvalRun(uid, now, tuple(tiers), runs, tuple(compare(scores, [])), behaviour)
    comparisons = compare(scores, load_history(engine, {s.tier for s in scores}, uid))
    record_scores(engine, uid, now, scores)
    return EvalRun(uid, now, tuple(tiers), runs, tuple(comparisons), behaviour)


def record_scores(engine: Engine, uid: str, now: float, scores: Sequence[Score]) -> None:
    """The run's `eval_results` rows, in one transaction."""
    if not scores:
        return
    rows = [{"run_uid": uid, "created_at": now, **asdict(s)} for s in scores]
    with write_transaction(engine) as conn:
        conn.execute(schema.eval_results.insert(), rows)


def load_history(engine: Engine, tiers: set[str], exclude_run: str) -> list[StoredScore]:
    """Every stored score on `tiers` from runs other than `exclude_run`."""
    t = schema.eval_results
    query = (
        sa.select(t).where(t.c.tier.in_(sorted(tiers)), t.c.run_uid != exclude_run).order_by(t.c.id)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [
        StoredScore(
            r["run_uid"],
            r["created_at"],
            r["id"],
            Score(
                r["case_id"],
                r["tier"],
                r["model"],
                r["category"],
                r["expected"],
                r["found"],
                r["reported"],
                r["correct"],
            ),
        )
        for r in rows
    ]


def run_eval_command(args: argparse.Namespace, out: Console) -> int:
    """`tiered-review eval`: 0 normally, `CLIFF_EXIT` (3) when a capability cliff is flagged."""
    settings = Settings.from_env()
    cases = load_cases(Path(args.cases) if args.cases is not None else bundled_cases())
    config = load_config(args.config)
    tiers = parse_tiers(args.tiers, config)
    base, _ = plan_inputs(config)
    engine = open_database(settings.database)
    try:
        behaviour = None if args.model_behaviour is None else Behaviour(args.model_behaviour)
        run = run_eval(cases, tiers, base, settings, engine, time.time(), behaviour)
    finally:
        engine.dispose()
    doc = eval_json(run)
    if args.report is not None:
        Path(args.report).write_text(json.dumps(doc, indent=2) + "\n", "utf-8")
    if args.format == "json":
        out.file.write(json.dumps(doc, indent=2) + "\n")
    else:
        print_eval(run, out)
    return CLIFF_EXIT if run.cliffs else 0
