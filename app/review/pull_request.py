"""Review a GitHub pull request end to end: read it, plan, run the models, post once."""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from app.errors import ConfigError, RoutingError, TieredReviewError
from app.gh.client import GitHubClient, PullInfo
from app.gh.markers import marker, read_markers, strip_hidden, with_markers
from app.plan.catalog import Catalog
from app.plan.config import (
    Config,
    Difficulty,
    Mode,
    build_config,
    parse_repo_config,
    with_budget,
    with_per_pr_cap,
)
from app.plan.conventions import conventions_block, with_conventions
from app.plan.diff import PatchFile, diff_from_patches, parse_diff
from app.plan.packing import Prompts, PullRequestInfo
from app.plan.planner import Plan, PlanInputs, build_plan
from app.plan.tokens import TokenCounter
from app.plan.wording import usd
from app.providers.base import Provider
from app.review.bot_state import BotState, bot_state
from app.review.engine import EngineOptions, run_review
from app.review.feedback import PullId, resolve_outdated
from app.review.findings import Finding
from app.review.posting import Posted, post_review, post_summary
from app.review.publish import (
    Selection,
    SummaryInputs,
    comment_payload,
    job_id,
    render_summary,
    review_body,
    select,
)
from app.review.result import ReviewResult
from app.review.safety import prose
from app.review.whole_files import BlobCache, WholeFiles, whole_file_targets

log = logging.getLogger(__name__)
CONFIG_PATH = ".github/tiered-review.yml"
CONFIG_ERROR_KIND = "config_error"  # the base commit whose broken config was reported
_REF = re.compile(r"^(?P<owner>[\w.-]+)/(?P<repo>[\w.-]+)#(?P<number>\d+)$")


@dataclass(frozen=True, slots=True)
class PullRef:
    """`OWNER/REPO#N`."""

    owner: str
    repo: str
    number: int

    @property
    def repository(self) -> str:
        """`OWNER/REPO`."""
        return f"{self.owner}/{self.repo}"

    @classmethod
    def parse(cls, text: str) -> PullRef:
        """Parse `OWNER/REPO#N`, or raise a user-facing error."""
        match = _REF.match(text.strip())
        if not match:
            raise TieredReviewError(f"{text!r} is not OWNER/REPO#NUMBER")
        return cls(match["owner"], match["repo"], int(match["number"]))


@dataclass(frozen=True, slots=True)
class Toolkit:
    """The pure core's fixed inputs and the providers, built once at the edge."""

    defaults: Mapping[str, Any]
    catalog_for: Callable[[Config], Catalog]
    prompts: Prompts
    counter: TokenCounter
    providers: Mapping[str, Provider]
    today: dt.date
    concurrency: int = 8
    config_path: str = CONFIG_PATH  # read from the base branch, never from the PR's head
    max_usd_per_pr: float | None = None  # a cap from outside the repo: the stricter one wins
    spent_today: Callable[[], float] | None = None  # the tenant's spend today, for the daily cap
    # Fingerprints developers dismissed on this PR (the database's suppressions): never re-raised.
    suppressed: Callable[[], frozenset[str]] | None = None
    reply_prompt: str = ""  # the system prompt of thread replies (prompts/reply.md)
    blob_cache: BlobCache | None = None  # whole files by blob SHA, this tenant's repository's


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a run reviewed and what it posted (or would post)."""

    info: PullInfo
    result: ReviewResult
    selection: Selection
    summary: str
    review_body: str | None
    comments: tuple[dict[str, Any], ...]
    posted: bool
    scope_note: str
    rejected: tuple[tuple[Finding, str], ...] = field(default_factory=tuple)
    routing_ms: float = 0.0


def repo_config(client: GitHubClient, info: PullInfo, kit: Toolkit, mode: Mode) -> Config:
    """The bot's config from the base branch only: a PR cannot change its own review.

    A deep review is bound by the deep-review cap instead of the per-PR one; a cap from outside
    the repository (the Action's input, what is left of the day's budget) lowers either.
    """
    path = kit.config_path
    text = client.file_text(info.owner, info.repo, path, info.base_sha)
    repo = parse_repo_config(text, f"{path}@{info.base_sha[:12]}") if text else {}
    config = build_config(kit.defaults, repo, path)
    _check_catalogued(config, kit.catalog_for(config), path)
    config = _with_conventions(client, info, config, kit)
    if mode is Mode.DEEP:
        config = with_per_pr_cap(config, config.budget.max_usd_per_deep_review)
    return with_budget(config, kit.max_usd_per_pr)


def _with_conventions(client: GitHubClient, info: PullInfo, config: Config, kit: Toolkit) -> Config:
    """`config` with the conventions files of the base branch appended to its instructions."""
    wanted = config.conventions
    if wanted.max_tokens <= 0 or not wanted.files:
        return config
    texts = []
    for name in wanted.files:
        text = client.file_text(info.owner, info.repo, name, info.base_sha)
        if text:
            texts.append((name, strip_hidden(text)))
    block, cut = conventions_block(texts, wanted.max_tokens, kit.counter.count)
    if cut:
        log.info("conventions files cut to %s tokens", wanted.max_tokens)
    merged = with_conventions(config.instructions, block)
    return config.model_copy(update={"instructions": merged}) if block else config


@dataclass(frozen=True, slots=True)
class _Scope:
    """What this run reviews: the PR's files, or those changed since the last reviewed head."""

    files: tuple[PatchFile, ...]
    note: str  # incremental, forced full, or the daily budget's limit; empty when none
    missing: tuple[str, ...]  # what the review could not read, for the summary


async def review_pull_request(
    client: GitHubClient,
    ref: PullRef,
    kit: Toolkit,
    *,
    mode: Mode = Mode.NORMAL,
    post: bool = False,
    bot_login: str = "tiered-review[bot]",
    tenant: str | None = None,
    trigger: str = "",
    only_path: str | None = None,
) -> Outcome:
    """Review one PR; with `post`, leave one review, the sticky summary and a check run.

    The stages hand values on: read (the PR, its config, the bot's state, the scope), plan,
    run the models, select, post the review, then the summary and the check run.
    """
    info = client.pull(ref.owner, ref.repo, ref.number)
    config, budget_note = _within_daily_cap(repo_config(client, info, kit, mode), kit)
    catalog: Catalog = kit.catalog_for(config)
    mine = client.bot_comments(ref.owner, ref.repo, ref.number, bot_login)
    state = bot_state(mine)
    scope = _scope(client, info, state, budget_note)
    if only_path is not None:  # a command in a review thread: that thread's file only
        only = tuple(f for f in info.files if f.filename == only_path)
        scope = _Scope(only, f"only {only_path}, as asked in its thread", scope.missing)
    diff_text, unread = diff_from_patches(scope.files)
    started = time.perf_counter()
    plan = _plan(client, info, config, catalog, kit, mode, diff_text)
    routing_ms = (time.perf_counter() - started) * 1000
    options = EngineOptions(tenant=tenant or ref.repository, concurrency=kit.concurrency)
    result = await run_review(plan, kit.providers, config, catalog, options)
    dismissed = kit.suppressed() if kit.suppressed is not None else frozenset()
    selection = select(result.findings, config.comments, state.prints | dismissed)
    scope_note = scope.note
    if dismissed:
        held = sum(f.fingerprint in dismissed for f in selection.duplicates)
        note = f"{held} dismissed finding{'s' if held != 1 else ''} not raised again"
        scope_note = "; ".join(n for n in (scope_note, note) if n)
    routes = finding_routes(result)

    def payload(f: Finding) -> dict[str, Any]:
        return comment_payload(f, routes.get((f.request_id, f.chunk_id), ""))

    comments = tuple(payload(f) for f in selection.inline)
    job = job_id(ref.repository, ref.number, info.head_sha, mode.value, trigger)
    body = review_body(job, len(comments)) if comments else None
    if post:
        reported = frozenset(f.fingerprint for f in result.findings)
        threads = any(c.kind == "review_comment" for c in mine)
        pull_id = PullId(ref.owner, ref.repo, ref.number)
        resolved = resolve_outdated(client, pull_id, bot_login, reported) if threads else 0
        if resolved:
            note = f"resolved {resolved} outdated thread{'s' if resolved != 1 else ''}"
            scope_note = "; ".join(n for n in (scope_note, note) if n)
    posted = Posted(info)
    if post and body is not None:
        posted = post_review(client, info, body, selection.inline, bot_login, job, payload)
    refused = {f.fingerprint for f, _ in posted.rejected}
    summary = render_summary(
        result,
        SummaryInputs(
            head_sha=posted.info.head_sha,
            reviewed_shas=state.reviewed_with(info.head_sha),
            spent=state.spent_with(kit.today, result.totals.cost_usd),
            fingerprints=state.prints | ({f.fingerprint for f in selection.inline} - refused),
            selection=selection,
            not_reviewed=unread + scope.missing,
            scope_note=scope_note,
            rejected=posted.rejected,
        ),
    )
    if post:
        landed = len(selection.inline) - len(posted.rejected)
        post_summary(client, posted.info, state.sticky_id, bot_login, summary, result, landed)
    return Outcome(
        posted.info,
        result,
        selection,
        summary,
        body,
        comments,
        post,
        scope_note,
        posted.rejected,
        routing_ms,
    )


def _scope(client: GitHubClient, info: PullInfo, state: BotState, budget_note: str) -> _Scope:
    """The files to review: only those changed since the last head the bot reviewed, if any."""
    files, note = info.files, ""
    last = state.shas[-1] if state.shas else None
    if last and last != info.head_sha:
        changed = client.changed_since(info.owner, info.repo, last, info.head_sha)
        if changed is None:
            note = f"full review: {last[:12]} is gone (force-push)"
        else:
            files = tuple(f for f in info.files if f.filename in changed)
            note = f"incremental: {len(files)} files changed since {last[:12]}"
    missing: tuple[str, ...] = ()
    if info.over_file_limit:
        missing = (f"the PR has more files than GitHub lists ({len(info.files)} read)",)
    return _Scope(files, "; ".join(n for n in (note, budget_note) if n), missing)


def finding_routes(result: ReviewResult) -> dict[tuple[str, str | None], str]:
    """(request id, chunk id) -> "TIER DIFFICULTY" of the request and chunk a finding came from."""
    tiers = {r.id: r.tier for r in result.requests}
    labels = {c.id: c.difficulty.value for c in result.plan.chunks}
    out: dict[tuple[str, str | None], str] = {}
    for f in result.findings:
        tier = tiers.get(f.request_id)
        if tier:
            out[(f.request_id, f.chunk_id)] = f"{tier} {labels.get(f.chunk_id or '', '-')}"
    return out


def _check_catalogued(config: Config, catalog: Catalog, source: str) -> None:
    """Refuse a tier whose model the catalog does not price: a repository only chooses."""
    for name, tier in sorted(config.tiers.items()):
        for key in (tier.model, tier.alternate):
            if key is None:
                continue
            try:
                catalog.get(key)
            except RoutingError as exc:
                raise ConfigError(f"{source}: tiers.{name}: {exc}") from exc


def report_config_error(
    client: GitHubClient, ref: PullRef, bot_login: str, error: ConfigError
) -> None:
    """Tell the PR its base branch's config is unusable, once per base commit."""
    info = client.pull(ref.owner, ref.repo, ref.number)
    key = info.base_sha[:12]
    mine = client.bot_comments(ref.owner, ref.repo, ref.number, bot_login)
    if any(key in read_markers(c.body, CONFIG_ERROR_KIND) for c in mine):
        return
    client.reply(
        info,
        with_markers(
            [marker(CONFIG_ERROR_KIND, key)],
            "tiered-review could not use its configuration, so nothing was reviewed:\n\n"
            f"> {_indent_quote(prose(str(error)))}\n\n"
            "Fix the file on the base branch; the next push is reviewed with it.",
        ),
    )


def _indent_quote(text: str) -> str:
    return text.replace("\n", "\n> ")


def _within_daily_cap(config: Config, kit: Toolkit) -> tuple[Config, str]:
    """`config` bound by what is left of the tenant's daily budget, and a note saying so."""
    cap = config.budget.max_usd_per_day
    if cap is None or kit.spent_today is None:
        return config, ""
    left = max(0.0, cap - kit.spent_today())
    return with_budget(config, left), f"daily budget: {usd(left)} of {usd(cap)} left today"


def _plan(
    client: GitHubClient,
    info: PullInfo,
    config: Config,
    catalog: Catalog,
    kit: Toolkit,
    mode: Mode,
    diff_text: str,
) -> Plan:
    """Plan the PR's diff with whole files read first (base and head, for the parsed facts).

    Substantive and architectural files also get their code at the head for surrounding
    context: most are among the files already read, so one plan suffices; a second plan runs
    only when such a file was not (a language the facts do not parse, or past `max_files`).
    """
    pr = PullRequestInfo(title=strip_hidden(info.title), body=strip_hidden(info.body))
    inputs = PlanInputs(config, catalog, kit.prompts, kit.counter, kit.today, mode, pr)
    whole = WholeFiles(client, info, config, kit.blob_cache)
    whole.fetch(whole_file_targets(parse_diff(diff_text), config))
    log.info(
        "whole files for the facts: %d at the head, %d at the base (%d GitHub requests)",
        len(whole.sources),
        len(whole.originals),
        whole.requests,
    )

    def planned() -> Plan:
        whole_inputs = replace(inputs, sources=dict(whole.sources), originals=whole.originals)
        return build_plan(diff_text, whole_inputs)

    plan = planned()
    wanted = sorted(
        {
            c.path
            for c in plan.chunks
            if c.reviewable and not c.private and c.difficulty.rank >= Difficulty.SUBSTANTIVE.rank
        }
    )
    return planned() if whole.context(wanted) else plan


def plan_pull_request(
    client: GitHubClient, ref: PullRef, kit: Toolkit, mode: Mode
) -> tuple[Plan, Config]:
    """The whole PR's plan with no cap applied (no model call), and the repository's config.

    The plan is what a `/review deep` reply quotes and checks against the deep-review cap.
    """
    info = client.pull(ref.owner, ref.repo, ref.number)
    config = repo_config(client, info, kit, mode)
    uncapped = with_per_pr_cap(config, None)
    diff_text, _ = diff_from_patches(info.files)
    plan = _plan(client, info, uncapped, kit.catalog_for(config), kit, mode, diff_text)
    return plan, config
