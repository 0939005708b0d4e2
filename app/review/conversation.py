"""Answer a developer in the bot's review thread: read the thread, route, ask a model, reply once.

The thread must start with the bot's finding (its route marker says the tier, difficulty and
category) or the comment must mention the bot. A dismissal is acknowledged without a model call
and reported back so the caller remembers it; anything else is answered by the tier
`route_reply` picks, with the finding, its file's hunks and the thread as context. Private paths
go to the local tier or get no model answer. The reply carries a marker naming the comment it
answers, so a retried job never answers twice.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from app.errors import ProviderError
from app.gh.client import GitHubClient, PullInfo
from app.gh.markers import marker, read_markers, strip_hidden, with_markers
from app.gh.threads import ThreadComment, reply_in_thread, thread_of
from app.plan.config import Difficulty, Mode
from app.plan.conversation import ReplyKind, classify_reply, route_reply
from app.plan.cost import Usage, reprice, usage_cost
from app.plan.diff import diff_from_patches
from app.plan.globs import compile_globs
from app.plan.packing import fingerprint
from app.plan.routing import build_router, guard_privacy
from app.plan.tiers import Tier
from app.providers.base import CompletionRequest
from app.review.engine import cache_key
from app.review.publish import BODY_LIMIT, FindingRef, finding_of
from app.review.pull_request import PullRef, Toolkit, repo_config
from app.review.redact import redact_diff, redact_text
from app.review.safety import prose

log = logging.getLogger(__name__)
REPLY_KIND = "reply_to"  # marker: the review comment a bot reply answers
_MAX_OUTPUT = 1_200
_THREAD_CHARS = 12_000
_CODE_CHARS = 24_000
DISMISS_ACK = (
    "Understood: this finding is marked as dismissed and will not be raised again on this "
    "pull request."
)


@dataclass(frozen=True, slots=True)
class ReplyOutcome:
    """What answering one comment did; `usage` is None when no model was called."""

    status: str  # answered, dismissed, skipped
    reason: str
    kind: ReplyKind | None = None
    finding: FindingRef | None = None
    tier: str = ""
    provider: str = ""
    model: str = ""
    rule: str = ""
    usage: Usage | None = None
    cost_usd: float = 0.0
    all_frontier_usd: float = 0.0
    all_middle_usd: float = 0.0
    latency_ms: float = 0.0
    prefix_hash: str = ""
    head_sha: str = ""


async def answer_reply(
    client: GitHubClient,
    ref: PullRef,
    kit: Toolkit,
    *,
    comment_id: int,
    bot_login: str,
    tenant: str,
    budget_left_usd: float | None = None,
) -> ReplyOutcome:
    """Answer review comment `comment_id` in its thread, once; see the module's docstring."""
    thread = thread_of(client, ref.owner, ref.repo, ref.number, comment_id)
    if not thread:
        return ReplyOutcome("skipped", f"review comment {comment_id} is gone")
    this = next(c for c in thread if c.id == comment_id)
    root = thread[0]
    mine = [c for c in thread if c.user.casefold() == bot_login.casefold()]
    if any(str(comment_id) in read_markers(c.body, REPLY_KIND) for c in mine):
        return ReplyOutcome("skipped", f"comment {comment_id} was already answered")
    if this.user_type == "Bot" or this.user.casefold() == bot_login.casefold():
        return ReplyOutcome("skipped", f"comment by bot {this.user}")
    finding = finding_of(root, bot_login)
    mention = "@" + bot_login.casefold().removesuffix("[bot]")
    if finding is None and mention not in this.body.casefold():
        return ReplyOutcome("skipped", "not the bot's thread and no mention")
    info = client.pull(ref.owner, ref.repo, ref.number)
    kind = classify_reply(strip_hidden(this.body))

    def post(text: str) -> None:
        # Model text made inert (app/review/safety.py), after the marker, the only place read.
        body = with_markers([marker(REPLY_KIND, str(comment_id))], prose(text)[: BODY_LIMIT - 200])

        def landed() -> bool:
            again = thread_of(client, ref.owner, ref.repo, ref.number, comment_id)
            return any(
                str(comment_id) in read_markers(c.body, REPLY_KIND)
                for c in again
                if c.user.casefold() == bot_login.casefold()
            )

        reply_in_thread(client, ref.owner, ref.repo, ref.number, root.id, body, landed)

    if kind is ReplyKind.DISMISS and finding is not None:
        post(DISMISS_ACK)
        return ReplyOutcome(
            "dismissed",
            "the developer dismissed the finding",
            kind,
            finding,
            head_sha=info.head_sha,
        )
    return await _answer(
        client, ref, kit, info, thread, finding, kind, post, budget_left_usd, tenant
    )


async def _answer(
    client: GitHubClient,
    ref: PullRef,
    kit: Toolkit,
    info: PullInfo,
    thread: list[ThreadComment],
    finding: FindingRef | None,
    kind: ReplyKind,
    post: Any,
    budget_left_usd: float | None,
    tenant: str,
) -> ReplyOutcome:
    config = repo_config(client, info, kit, Mode.NORMAL)
    catalog = kit.catalog_for(config)
    router = build_router(config, catalog)
    difficulty = None
    if finding is not None and finding.difficulty in Difficulty.__members__.values():
        difficulty = Difficulty(finding.difficulty)
    chosen = route_reply(kind, finding.tier if finding else "", difficulty)
    if chosen.tier not in router.models:
        chosen = route_reply(kind, Tier.MIDDLE.value, None)
    path = thread[0].path
    private = compile_globs(config.paths.private).match(path)
    route = guard_privacy(router.tier(chosen.tier), private, router.models.get("local"))
    if route is None:
        return ReplyOutcome("skipped", f"{path} is private and no local tier is configured", kind)
    spec = route.model
    provider = kit.providers.get(spec.provider)
    if provider is None:
        return ReplyOutcome("skipped", f"no {spec.provider} credentials", kind)
    system = kit.reply_prompt
    instructions = f"## Repository instructions\n{config.instructions.strip()}\n"
    instructions = instructions if config.instructions.strip() else ""
    # Secrets never reach a model: the context is PR-derived, redacted like a review request.
    user = redact_diff(_context(info, thread, finding)).text
    instructions = redact_text(instructions).text
    worst = (len(system) + len(instructions) + len(user)) / 2 * spec.price_for(0).input / 1e6
    worst += _MAX_OUTPUT * spec.price_for(0).output / 1e6
    if budget_left_usd is not None and worst > budget_left_usd:
        return ReplyOutcome("skipped", "over the daily budget", kind)
    prefix = system + instructions
    request = CompletionRequest(
        model=spec.name,
        system=system,
        instructions=instructions,
        messages=(("user", user),),
        max_output_tokens=_MAX_OUTPUT,
        cache_key=cache_key(fingerprint(prefix), tenant),
    )
    started = time.perf_counter()
    try:
        completion = await provider.complete(request)
    except ProviderError as exc:
        raise RuntimeError(f"reply on {spec.key}: {exc}") from exc
    latency = (time.perf_counter() - started) * 1000
    post(completion.text.strip() or "I have nothing to add to the finding above.")
    return ReplyOutcome(
        "answered",
        chosen.rule,
        kind,
        finding,
        route.tier,
        spec.provider,
        spec.name,
        chosen.rule if route.tier == chosen.tier else route.rule,
        completion.usage,
        usage_cost(completion.usage, spec),
        reprice(completion.usage, spec, router.models["frontier"]),
        reprice(completion.usage, spec, router.models["middle"]),
        latency,
        fingerprint(prefix),
        info.head_sha,
    )


def _context(info: PullInfo, thread: list[ThreadComment], finding: FindingRef | None) -> str:
    """The finding, its file's hunks and the thread so far, as one user message."""
    root = thread[0]
    parts = []
    if finding is not None:
        parts.append(
            f"## Your finding\n(category {finding.category or '-'}, on {root.path})\n\n"
            + strip_hidden(root.body)
        )
    diff, _ = diff_from_patches(tuple(f for f in info.files if f.filename == root.path))
    parts.append(f"## The code\n```diff\n{diff[:_CODE_CHARS]}\n```")
    lines = [f"### {c.user}\n{strip_hidden(c.body)}" for c in thread[1 if finding else 0 :]]
    parts.append("## The thread so far\n" + "\n\n".join(lines)[-_THREAD_CHARS:])
    return "\n\n".join(parts) + "\n"
