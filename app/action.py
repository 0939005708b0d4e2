"""The GitHub Action entrypoint: the runner's event, the App's rules, one review, a job summary.

The Action reads the event GitHub wrote for the workflow, decides it with the App's classifier
(the same skip rules and the same `/review` gate), runs the job with the App's runner, then
writes a Markdown job summary and the step's outputs. It never checks out or runs PR code: the
diff and the config come from the API, the config from the base branch.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from app.errors import TieredReviewError, WebhookError
from app.gh.client import GitHubClient
from app.gh.decision import JobDecision
from app.gh.webhooks import classify, parse_json
from app.plan.config import Mode
from app.plan.tokens import load_counter
from app.providers.registry import available
from app.review.publish import spent_on
from app.review.pull_request import CONFIG_PATH
from app.review.status import EXIT_CODES, review_status, status_line
from app.server.job_spec import JobKind, JobSpec
from app.server.jobs import JobReport, JobRunner, SpentToday, skip_rules, token_clients
from app.settings import Settings, from_environment
from app.store.blobs import forget_all
from app.store.db import open_database

ACTIONS_BOT = "github-actions[bot]"  # who the workflow's GITHUB_TOKEN posts as
LEDGER_NAME = "tiered-review-ledger.db"
OUTPUT_NAMES = (
    "cost-usd",
    "baseline-usd",
    "savings-pct",
    "requests",
    "findings",
    "status",
    "exit-code",
)
NOT_REVIEWED = {"status": "skipped", "exit-code": "0"}  # nothing to review: not an error
NO_KEYS_NOTE = (
    "No model provider key is available to this run, so nothing was sent to a model and "
    "nothing was spent. This is expected on pull requests from forks: GitHub does not give "
    "them the repository's secrets. A maintainer can comment `/review` (or `/review deep`) on "
    "the pull request: the comment-triggered workflow runs with the repository's secrets and "
    "never checks out the fork's code."
)


class ActionEnv(BaseModel):
    """What the runner and `action.yml` put in the environment (an empty value is unset)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_name: str = Field(alias="GITHUB_EVENT_NAME")
    event_path: Path = Field(alias="GITHUB_EVENT_PATH")
    repository: str = Field(alias="GITHUB_REPOSITORY")
    step_summary: Path | None = Field(None, alias="GITHUB_STEP_SUMMARY")
    output: Path | None = Field(None, alias="GITHUB_OUTPUT")
    runner_temp: Path | None = Field(None, alias="RUNNER_TEMP")
    mode: Mode = Field(Mode.NORMAL, alias="TIERED_REVIEW_MODE")
    post: bool = Field(True, alias="TIERED_REVIEW_POST")
    max_cost_usd: float | None = Field(None, ge=0, alias="TIERED_REVIEW_MAX_COST_USD")
    config: str = Field(CONFIG_PATH, alias="TIERED_REVIEW_CONFIG")
    fail_on_error: bool = Field(False, alias="TIERED_REVIEW_FAIL_ON_ERROR")

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> ActionEnv:
        """Read and validate, naming the variable (never its value) on a bad one."""
        return from_environment(cls, environ, "Actions environment")


def run_action(environ: Mapping[str, str] | None = None) -> int:
    """Handle the workflow's event; the `exit-code` output says how the review went.

    The step itself exits 0 on a partial or failed review unless `fail-on-error` is true, then
    with that code (4 or 5, see `ExitCode`); errors of input, config or credentials exit 2.
    """
    source = os.environ if environ is None else environ
    env = ActionEnv.from_env(source)
    settings = Settings.from_env(source)
    if not source.get("TIERED_REVIEW_BOT_LOGIN"):
        settings = settings.model_copy(update={"bot_login": ACTIONS_BOT})
    spec, reason = _job(env, settings)
    if spec is None:
        _finish(env, f"Nothing to review: {reason}.", NOT_REVIEWED)
        return 0
    if not available(settings):
        _finish(env, NO_KEYS_NOTE, NOT_REVIEWED)
        return 0
    if settings.github_token is None:
        raise TieredReviewError("missing credentials: set GITHUB_TOKEN (the github-token input)")
    report = asyncio.run(_run(env, settings, spec))
    values = outputs(report)
    _finish(env, job_summary(spec, report), values)
    code = int(values["exit-code"])
    if code and not env.fail_on_error:
        sys.stderr.write(f"tiered-review: exit-code {code} (fail-on-error is false: step passes)\n")
        return 0
    return code


def _job(env: ActionEnv, settings: Settings) -> tuple[JobSpec | None, str]:
    """The job the event asks for, or None and why not."""
    event = "pull_request" if env.event_name == "pull_request_target" else env.event_name
    try:
        payload = parse_json(env.event_path.read_bytes())
        decision = classify(event, payload, skip_rules(settings))
    except OSError as exc:
        raise TieredReviewError(f"{env.event_path}: cannot read the event: {exc.strerror}") from exc
    except WebhookError as exc:
        raise TieredReviewError(f"{env.event_path}: {exc}") from exc
    if not isinstance(decision, JobDecision):
        return None, decision.reason
    spec = JobSpec.from_decision(decision)
    # The Action's tenant is the repository, whatever installation the payload names.
    spec = replace(spec, installation_id=None)
    if spec.kind is JobKind.REVIEW:
        spec = replace(spec, mode=env.mode)
    return spec, decision.reason


async def _run(env: ActionEnv, settings: Settings, spec: JobSpec) -> JobReport:
    counter, _ = load_counter()
    ledger = open_database(settings.database or _ledger_path(env))
    try:
        runner = JobRunner(
            settings,
            token_clients(settings),
            counter,
            ledger=ledger,
            source="action",
            config_path=env.config,
            max_usd_per_pr=env.max_cost_usd,
            post=env.post,
            spent_today=_spent_from_markers(settings.bot_login),
        )
        return await runner.execute(spec)
    finally:
        if settings.database is None:  # the runner's ledger, which may become an artifact
            forget_all(ledger)
        ledger.dispose()


def _spent_from_markers(bot: str) -> SpentToday:
    """The Action keeps no database between runs: today's spend is in its sticky comments."""

    def spent(client: GitHubClient, spec: JobSpec, _tenant: str, today: dt.date) -> float:
        midnight = dt.datetime.combine(today, dt.time(), tzinfo=dt.UTC)
        bodies = client.bot_comments_since(spec.owner, spec.repo, midnight, bot)
        return spent_on(bodies, today)

    return spent


def _ledger_path(env: ActionEnv) -> str | None:
    """In the runner's temp folder, where a later step can upload it as an artifact."""
    return str(env.runner_temp / LEDGER_NAME) if env.runner_temp else None


def outputs(report: JobReport) -> dict[str, str]:
    """The step's outputs; zeros (status `skipped`) when nothing was reviewed."""
    if report.outcome is None:
        return dict(NOT_REVIEWED)
    result = report.outcome.result
    t = result.totals
    status = review_status(result)
    return {
        "status": status.value,
        "exit-code": str(int(EXIT_CODES[status])),
        "cost-usd": f"{t.cost_usd:.6f}",
        "baseline-usd": f"{t.all_frontier_usd:.6f}",
        "savings-pct": f"{t.savings_pct:.1f}",
        "requests": str(len(result.requests)),
        "findings": str(len(result.findings)),
    }


def job_summary(spec: JobSpec, report: JobReport) -> str:
    """The Markdown job summary: what ran, the routing table, cost, savings and cache hits."""
    where = f"{spec.owner}/{spec.repo}#{spec.pr_number}"
    if report.outcome is None:
        return f"`{where}`: {report.text}."
    outcome = report.outcome
    result, t = outcome.result, outcome.result.totals
    posted = "posted" if outcome.posted else "not posted (post: false)"
    lines = [
        f"`{where}` at `{outcome.info.head_sha[:12]}` ({result.plan.mode.value} mode): "
        f"{_count(len(result.findings), 'finding')}, "
        f"{_count(len(outcome.comments), 'inline comment')} {posted}.",
        "",
        "| request | task | tier | model | input | cache read | output | status | cost |",
        "| --- | --- | --- | --- | ---: | ---: | ---: | --- | ---: |",
    ]
    for o in result.requests:
        u = o.usage
        lines.append(
            f"| {o.id} | {o.task.value} | {o.tier} | {o.provider}:{o.model} | "
            f"{u.input_tokens:,} | {u.cache_read_tokens:,} | {u.output_tokens:,} | {o.status} | "
            f"${o.cost_usd:.4f} |"
        )
    hits = ", ".join(f"{p} {r:.0%}" for p, r in sorted(t.cache_hit_rate_by_provider.items()))
    lines += [
        "",
        f"**Cost ${t.cost_usd:.4f}**; all-frontier ${t.all_frontier_usd:.4f} "
        f"(**{t.savings_pct:.1f}% saved**), all-middle ${t.all_middle_usd:.4f}.",
        f"Cache hit rate {t.cache_hit_rate:.0%}{f' ({hits})' if hits else ''}; routed in "
        f"{outcome.routing_ms:.1f} ms.",
    ]
    if outcome.scope_note:
        lines.append(f"Scope: {outcome.scope_note}.")
    warning = status_line(result)
    if warning:
        lines.insert(0, f"**{warning}**\n")
    return "\n".join(lines)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _finish(env: ActionEnv, body: str, values: Mapping[str, str]) -> None:
    """Append the job summary and the outputs (every output, zero when unset)."""
    if env.step_summary is not None:
        with env.step_summary.open("a", encoding="utf-8") as out:
            out.write(f"## tiered-review\n\n{body}\n")
    if env.output is not None:
        with env.output.open("a", encoding="utf-8") as out:
            for name in OUTPUT_NAMES:
                # One line per output: the values are numbers, never multi-line text.
                out.write(f"{name}={values.get(name, '0')}\n")
    sys.stdout.write(json.dumps({"summary": body.splitlines()[0], **values}) + "\n")
