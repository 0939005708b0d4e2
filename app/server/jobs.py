"""What a queued job does: review a PR on a push, or answer a `/review` command behind the gate."""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from sqlalchemy.engine import Engine

from app.errors import ConfigError, TieredReviewError
from app.gh.client import GitHubClient
from app.gh.commands import WRITE_PERMISSIONS, gate, runs_today
from app.gh.threads import reply_in_thread, thread_of
from app.gh.webhooks import SkipRules
from app.plan.config import Mode, build_config
from app.plan.tokens import TokenCounter
from app.providers.base import Provider
from app.providers.registry import open_providers
from app.resources import default_config_data, load_catalog, load_prompts, load_reply_prompt
from app.review.conversation import answer_reply
from app.review.feedback import PullId, read_signals
from app.review.pull_request import (
    CONFIG_PATH,
    Outcome,
    PullRef,
    Toolkit,
    plan_pull_request,
    report_config_error,
    review_pull_request,
)
from app.server.job_spec import JobKind, JobSpec
from app.server.logs import log_context
from app.server.metrics import Metrics
from app.settings import Settings
from app.store.blobs import BlobStore
from app.store.conversation import (
    FindingRoute,
    PullKey,
    claim_reply,
    record_feedback,
    release_reply,
    suppress,
    suppressed,
)
from app.store.ledger import ReviewContext, day_start, record_reply, record_review, spent_since

log = logging.getLogger(__name__)


def token_clients(settings: Settings) -> Callable[[int | None], GitHubClient]:
    """A GitHub client per job from GITHUB_TOKEN, whatever the installation (Action, CLI)."""
    secret = settings.github_token
    if secret is None:
        raise TieredReviewError("missing credentials: set GITHUB_TOKEN")
    token = secret.get_secret_value()

    def client_for(_installation: int | None) -> GitHubClient:
        return GitHubClient(token, settings.github_api_url, throttle=settings.github_throttle)

    return client_for


def skip_rules(settings: Settings) -> SkipRules:
    """The skip rules of the App and the Action: the defaults' authors, labels and drafts."""
    skip = build_config(default_config_data(), {}, "defaults").skip
    return SkipRules(
        bot_login=settings.bot_login,
        bot_authors=frozenset(skip.authors),
        skip_labels=frozenset(skip.labels),
        skip_drafts=skip.drafts,
    )


@dataclass(frozen=True, slots=True)
class JobReport:
    """What a job did: one line for the log, and the review when one ran."""

    text: str
    outcome: Outcome | None = None


# What the tenant spent today before this job: (client, spec, tenant, today) -> USD.
SpentToday = Callable[[GitHubClient, JobSpec, str, dt.date], float]


class JobRunner:
    """Runs jobs with one GitHub client per job and the providers the settings allow.

    `source` names the surface in the ledger (serve, action, review). `max_usd_per_pr` is a cap
    from outside the repository (the Action's input); `spent_today` feeds the daily cap, by
    default from the ledger, and `daily_cap` false leaves it off (the CLI's reviews). `tenant`
    replaces the job's own (the CLI's `--repo`). With `post` false the review is built but not
    posted (command replies are).
    """

    def __init__(
        self,
        settings: Settings,
        client_for: Callable[[int | None], GitHubClient],
        counter: TokenCounter,
        metrics: Metrics | None = None,
        today: Callable[[], dt.date] = lambda: dt.datetime.now(dt.UTC).date(),
        ledger: Engine | None = None,
        *,
        source: str = "serve",
        config_path: str = CONFIG_PATH,
        max_usd_per_pr: float | None = None,
        spent_today: SpentToday | None = None,
        daily_cap: bool = True,
        tenant: str | None = None,
        post: bool = True,
    ) -> None:
        self._settings = settings
        self._client_for = client_for
        self._counter = counter
        self._metrics = metrics
        self._today = today
        self._ledger = ledger
        self._source = source
        self._config_path = config_path
        self._max_usd_per_pr = max_usd_per_pr
        self._spent_today = spent_today or self._ledger_spent
        self._daily_cap = daily_cap
        self._tenant = tenant
        self._post = post

    async def run(self, spec: JobSpec) -> str:
        """Do the job; returns a one-line outcome. Raises on failures worth a retry."""
        return (await self.execute(spec)).text

    async def execute(self, spec: JobSpec) -> JobReport:
        """Do the job and keep what it reviewed."""
        with log_context(repository=spec.repository, pr=spec.pr_number):
            client = self._client_for(spec.installation_id)
            try:
                async with open_providers(self._settings) as providers:
                    return await self._execute(client, providers, spec)
            finally:
                client.close()

    async def _execute(
        self, client: GitHubClient, providers: Mapping[str, Provider], spec: JobSpec
    ) -> JobReport:
        kit = Toolkit(
            default_config_data(),
            functools.partial(load_catalog, models_file=self._settings.models_file),
            load_prompts(),
            self._counter,
            providers,
            self._today(),
            self._settings.concurrency,
            self._config_path,
            self._max_usd_per_pr,
        )
        if self._ledger is not None and self._settings.blob_cache_mb > 0:
            tenant = self._tenant or spec.tenant
            cache_bytes = self._settings.blob_cache_mb * 1024 * 1024
            blobs = BlobStore(self._ledger, tenant, spec.repository, cache_bytes)
            kit = replace(kit, blob_cache=blobs)
        try:
            # The PR may have closed while the job waited: nothing is run or posted.
            state = client.pull(spec.owner, spec.repo, spec.pr_number).state
            if state != "open":
                return JobReport(f"not reviewed: the pull request is {state}")
            if spec.kind is JobKind.COMMAND:
                return await self._command(client, kit, spec)
            if spec.kind is JobKind.REPLY:
                return JobReport(await self._reply(client, kit, spec))
            outcome = await self._review(client, kit, spec, spec.mode)
        except ConfigError as exc:
            # The repository's config is broken: retrying cannot help, so say so on the PR
            # (once per base commit) and finish the job.
            ref = PullRef(spec.owner, spec.repo, spec.pr_number)
            if self._post:
                report_config_error(client, ref, self._settings.bot_login, exc)
            return JobReport(f"not reviewed: {exc}")
        return JobReport(_describe(outcome), outcome)

    def _ledger_spent(
        self, _client: GitHubClient, _spec: JobSpec, tenant: str, today: dt.date
    ) -> float:
        if self._ledger is None:
            return 0.0
        return spent_since(self._ledger, tenant, day_start(today))

    async def _reply(self, client: GitHubClient, kit: Toolkit, spec: JobSpec) -> str:
        """Answer a review comment in its thread, once per comment id (see conversation.py)."""
        comment_id = spec.trigger.comment_id
        if comment_id is None:
            return "not answered: the job names no review comment"
        tenant = self._tenant or spec.tenant
        pull = PullKey(tenant, spec.repository, spec.pr_number)
        left: float | None = None
        config_cap = build_config(default_config_data(), {}, "defaults").budget.max_usd_per_day
        if self._daily_cap and config_cap is not None:
            left = max(0.0, config_cap - self._spent_today(client, spec, tenant, kit.today))
        if self._ledger is not None and not claim_reply(
            self._ledger, pull, comment_id, "claimed", ""
        ):
            return f"not answered: review comment {comment_id} was already answered"
        try:
            outcome = await answer_reply(
                client,
                PullRef(spec.owner, spec.repo, spec.pr_number),
                replace(kit, reply_prompt=load_reply_prompt()),
                comment_id=comment_id,
                bot_login=self._settings.bot_login,
                tenant=tenant,
                budget_left_usd=left,
            )
        except BaseException:
            if self._ledger is not None:
                release_reply(self._ledger, comment_id)
            raise
        if self._ledger is not None:
            record_reply(self._ledger, pull, comment_id, outcome, self._source)
            if outcome.status == "dismissed" and outcome.finding is not None:
                f = outcome.finding
                suppress(self._ledger, pull, f.fingerprint, "reply")
                route = FindingRoute(f.fingerprint, f.tier, f.difficulty, f.category)
                record_feedback(self._ledger, pull, route, "dismissed")
        return f"reply {outcome.status}: {outcome.reason}" + (
            f" ({outcome.tier}, ${outcome.cost_usd:.4f})" if outcome.usage else ""
        )

    def _record_feedback(self, client: GitHubClient, spec: JobSpec) -> None:
        """Keep what developers did with the bot's findings; dismissed ones are suppressed."""
        if self._ledger is None:
            return
        pull = PullKey(spec.tenant, spec.repository, spec.pr_number)
        ref = PullId(spec.owner, spec.repo, spec.pr_number)
        for s in read_signals(client, ref, self._settings.bot_login):
            f = s.finding
            route = FindingRoute(f.fingerprint, f.tier, f.difficulty, f.category)
            record_feedback(self._ledger, pull, route, s.signal)
            if s.dismiss:
                suppress(self._ledger, pull, f.fingerprint, s.reason)

    async def _review(
        self,
        client: GitHubClient,
        kit: Toolkit,
        spec: JobSpec,
        mode: Mode,
        only_path: str | None = None,
    ) -> Outcome:
        tenant = self._tenant or spec.tenant
        if self._daily_cap:
            spent = self._spent_today
            kit = replace(kit, spent_today=lambda: spent(client, spec, tenant, kit.today))
        if self._ledger is not None:
            ledger = self._ledger
            self._record_feedback(client, spec)
            kit = replace(
                kit, suppressed=lambda: suppressed(ledger, spec.repository, spec.pr_number)
            )
        outcome = await review_pull_request(
            client,
            PullRef(spec.owner, spec.repo, spec.pr_number),
            kit,
            mode=mode,
            post=self._post,
            bot_login=self._settings.bot_login,
            tenant=tenant,
            trigger=str(spec.trigger),
            only_path=only_path,
        )
        if self._metrics is not None:
            self._metrics.record_review(outcome.result, outcome.routing_ms)
        if self._ledger is not None:
            context = ReviewContext(
                source=self._source,
                tenant=tenant,
                repository=spec.repository,
                pr_number=spec.pr_number,
                head_sha=outcome.info.head_sha,
                outcome="posted" if outcome.posted else "printed",
                routing_ms=outcome.routing_ms,
            )
            record_review(self._ledger, outcome.result, context)
        return outcome

    async def _command(self, client: GitHubClient, kit: Toolkit, spec: JobSpec) -> JobReport:
        info = client.pull(spec.owner, spec.repo, spec.pr_number)
        commenter = spec.commenter or ""
        permission = client.permission(spec.owner, spec.repo, commenter)
        mine = client.bot_comments(spec.owner, spec.repo, spec.pr_number, self._settings.bot_login)
        today = self._today()
        mode = spec.mode
        estimate: float | None = None
        deep_cap: float | None = None
        if mode is Mode.DEEP and permission in WRITE_PERMISSIONS:
            ref = PullRef(spec.owner, spec.repo, spec.pr_number)
            plan, config = plan_pull_request(client, ref, kit, Mode.DEEP)
            estimate = plan.totals.worst_case_usd
            deep_cap = config.budget.max_usd_per_deep_review
        decision = gate(
            "review deep" if mode is Mode.DEEP else "review",
            commenter=commenter,
            author=info.author,
            permission=permission,
            accepted_today=runs_today((c.body for c in mine), today),
            daily_limit=self._settings.commands_per_day,
            today=today,
            estimate_usd=estimate,
            deep_cap_usd=deep_cap,
        )
        thread = []
        if spec.trigger.in_thread and spec.trigger.comment_id is not None:
            thread = thread_of(
                client, spec.owner, spec.repo, spec.pr_number, spec.trigger.comment_id
            )
            if not thread:
                return JobReport("not answered: the review comment is gone")
            reply_in_thread(
                client,
                spec.owner,
                spec.repo,
                spec.pr_number,
                thread[0].id,
                decision.reply,
                lambda: False,
            )
        else:
            if spec.trigger.comment_id is not None:
                client.react(spec.owner, spec.repo, spec.trigger.comment_id, "eyes")
            client.reply(info, decision.reply)
        if not decision.allowed:
            name = "review deep" if mode is Mode.DEEP else "review"
            return JobReport(f"refused /{name}: {decision.reason}")
        only = thread[0].path if thread else None
        outcome = await self._review(client, kit, spec, mode, only)
        return JobReport(_describe(outcome), outcome)


def _describe(outcome: Outcome) -> str:
    t = outcome.result.totals
    return (
        f"reviewed {outcome.info.head_sha[:12]}: {len(outcome.comments)} inline, "
        f"${t.cost_usd:.4f} ({t.savings_pct:.0f}% saved)"
    )
