"""The webhook edge's pure part, over GitHub's real payloads (signed, parsed, classified)."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.errors import TieredReviewError, WebhookError
from app.gh.commands import parse_command
from app.gh.decision import (
    CommandDecision,
    IgnoreDecision,
    InstallationDecision,
    JobDecision,
    PullTarget,
    ReplyDecision,
    ReviewDecision,
)
from app.gh.webhooks import SkipRules, classify, parse_json, verify_signature
from app.plan.config import Mode
from tests.conftest import HOOKS

FIXTURES = HOOKS
SECRET = b"It's a Secret to Everybody"
RULES = SkipRules(
    bot_login="tiered-review[bot]",
    bot_authors=frozenset({"dependabot[bot]", "renovate[bot]"}),
    skip_labels=frozenset({"no-review"}),
    skip_drafts=True,
)
HEAD = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
BASE = "f95f852bd8fca8fcc58a9a2d6c842781e32a215e"


def raw(name: str) -> bytes:
    """A fixture's exact bytes, as GitHub would post them."""
    return (FIXTURES / name).read_bytes()


def load(name: str) -> dict[str, Any]:
    """A fresh, editable copy of a fixture's payload."""
    return dict(parse_json(raw(name)))


def event_of(name: str) -> str:
    return name.split(".", 1)[0]


def sign(body: bytes, secret: bytes = SECRET) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def pr_comment(body: str | None, **user: str) -> dict[str, Any]:
    """The fixture comment on a pull request, with another body (and commenter fields)."""
    payload = load("issue_comment.created.4.json")
    payload["comment"]["body"] = body
    payload["comment"]["user"].update(user)
    return payload


# --- signatures -------------------------------------------------------------------------------


def test_signature_of_a_real_payload_verifies() -> None:
    body = raw("pull_request.opened.json")
    assert verify_signature(SECRET, body, sign(body))
    assert verify_signature(SECRET, body, sign(body).upper().replace("SHA256=", "sha256="))


@pytest.mark.parametrize(
    ("body", "secret", "header"),
    [
        (b'{"action": "opened"} ', SECRET, sign(b'{"action": "opened"}')),  # tampered body
        (b"{}", b"another secret", sign(b"{}")),  # wrong secret
        (b"{}", b"", sign(b"{}", b"")),  # an empty secret never verifies
        (b"{}", SECRET, None),  # missing header
        (b"{}", SECRET, ""),
        (b"{}", SECRET, "sha1=" + hmac.new(SECRET, b"{}", hashlib.sha1).hexdigest()),
        (b"{}", SECRET, sign(b"{}").replace("sha256=", "SHA256=")),
        (b"{}", SECRET, sign(b"{}")[:-2]),  # too short
        (b"{}", SECRET, sign(b"{}") + "00"),  # too long
        (b"{}", SECRET, "sha256=" + "zz" * 32),  # not hex
        (b"{}", SECRET, "sha256=" + " " * 2 + sign(b"{}")[9:]),  # spaces bytes.fromhex would skip
        (b"{}", SECRET, " " + sign(b"{}")),
        (b"{}", SECRET, "sha256=" + "\u0660" * 64),  # non-ASCII digits
    ],
)
def test_bad_signatures_fail(body: bytes, secret: bytes, header: str | None) -> None:
    assert verify_signature(secret, body, header) is False


@settings(max_examples=300, deadline=None)
@given(
    st.binary(),
    st.binary(),
    st.none() | st.text() | st.text().map(lambda t: "sha256=" + t),
)
def test_verify_signature_never_raises(secret: bytes, body: bytes, header: str | None) -> None:
    assert verify_signature(secret, body, header) in (True, False)


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=1), st.binary())
def test_a_correct_signature_always_verifies(secret: bytes, body: bytes) -> None:
    assert verify_signature(secret, body, sign(body, secret))
    assert not verify_signature(secret, body + b"x", sign(body, secret))


# --- commands ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("/review", "review"),
        ("/review deep", "review deep"),
        ("  /review\r\n", "review"),
        ("/review\r\nplease look at the parser", "review"),
        ("/REVIEW", "review"),
        ("/Review DEEP", "review deep"),
        ("/review   deep", "review deep"),
        ("\t/review \t deep \r\n", "review deep"),
        ("please /review", None),
        ("/reviewing", None),
        ("/review deeper", None),
        ("/reviewdeep", None),
        ("/review deep now", None),
        ("> /review", None),
        ("`/review`", None),
        ("review", None),
        ("\n/review", None),  # the command must be on the first line
        ("/review\u00a0deep", None),
        ("", None),
        ("   \r\n", None),
        (None, None),
    ],
)
def test_parse_command(body: str | None, expected: str | None) -> None:
    assert parse_command(body) == expected


@settings(max_examples=500, deadline=None)
@given(st.none() | st.text() | st.text().map(lambda t: "/review" + t))
def test_parse_command_never_raises(body: str | None) -> None:
    assert parse_command(body) in (None, "review", "review deep")


# --- every real payload -----------------------------------------------------------------------

EXPECTED = [
    ("pull_request.opened.json", "review", "PR #2 opened"),
    ("pull_request.opened.1.json", "review", "PR #2 opened"),  # pull_request.body is null
    ("pull_request.opened.2.json", "review", "PR #2 opened"),
    ("pull_request.reopened.json", "review", "PR #2 reopened"),
    ("pull_request.reopened.1.json", "review", "PR #2 reopened"),
    ("pull_request.synchronize.json", "review", "PR #2 synchronize"),
    ("pull_request.ready_for_review.json", "review", "PR #2 ready_for_review"),
    ("pull_request.ready_for_review.1.json", "review", "PR #2 ready_for_review"),
    ("pull_request.ready_for_review.2.json", "review", "PR #2 ready_for_review"),
    ("pull_request.closed.json", "ignore", "unhandled action closed"),
    ("pull_request.closed.1.json", "ignore", "unhandled action closed"),
    ("pull_request.converted_to_draft.json", "ignore", "unhandled action converted_to_draft"),
    ("pull_request.converted_to_draft.1.json", "ignore", "unhandled action converted_to_draft"),
    ("pull_request.converted_to_draft.2.json", "ignore", "unhandled action converted_to_draft"),
    ("pull_request.assigned.json", "ignore", "unhandled action assigned"),
    ("pull_request.assigned.1.json", "ignore", "unhandled action assigned"),
    ("pull_request.unassigned.json", "ignore", "unhandled action unassigned"),
    ("pull_request.unassigned.1.json", "ignore", "unhandled action unassigned"),
    ("pull_request.labeled.json", "ignore", "unhandled action labeled"),
    ("pull_request.labeled.1.json", "ignore", "unhandled action labeled"),
    ("pull_request.unlabeled.json", "ignore", "unhandled action unlabeled"),
    ("pull_request.unlabeled.1.json", "ignore", "unhandled action unlabeled"),
    ("pull_request.locked.json", "ignore", "unhandled action locked"),
    ("pull_request.locked.1.json", "ignore", "unhandled action locked"),
    ("pull_request.unlocked.json", "ignore", "unhandled action unlocked"),
    ("pull_request.unlocked.1.json", "ignore", "unhandled action unlocked"),
    ("pull_request.review_requested.json", "ignore", "unhandled action review_requested"),
    (
        "pull_request.review_request_removed.json",
        "ignore",
        "unhandled action review_request_removed",
    ),
    ("issue_comment.created.json", "ignore", "comment on issue #1, not a pull request"),
    ("issue_comment.created.1.json", "ignore", "comment on issue #1, not a pull request"),
    ("issue_comment.created.2.json", "ignore", "comment on issue #1, not a pull request"),
    ("issue_comment.created.3.json", "ignore", "comment on issue #1, not a pull request"),
    ("issue_comment.created.4.json", "ignore", "comment is not a /review command"),  # /retest
    ("issue_comment.edited.json", "ignore", "comment edited, not created"),
    ("issue_comment.edited.1.json", "ignore", "comment edited, not created"),
    ("issue_comment.deleted.json", "ignore", "comment deleted, not created"),
    ("issue_comment.deleted.1.json", "ignore", "comment deleted, not created"),
    (  # a new thread by a person that does not mention the bot
        "pull_request_review_comment.created.json",
        "ignore",
        "review comment starts a thread and does not mention the bot",
    ),
    (
        "pull_request_review_comment.created.1.json",
        "ignore",
        "review comment starts a thread and does not mention the bot",
    ),
    ("ping.json", "pong", "ping from hook 109948940"),
    ("ping.1.json", "pong", "ping from hook"),
    ("ping.2.json", "pong", "ping from hook"),  # organization hook: no repository
    ("installation.created.json", "installation", "installation created"),
    ("installation.created.1.json", "installation", "installation created"),
    ("installation.deleted.json", "installation", "installation deleted"),
    (
        "installation_repositories.added.json",
        "installation",
        "added ['Codertocat/Space'], removed []",
    ),
    ("installation_repositories.removed.json", "installation", "installation repositories removed"),
]


def test_the_table_covers_every_fixture() -> None:
    assert sorted(p.name for p in FIXTURES.glob("*.json")) == sorted(
        name for name, _, _ in EXPECTED
    )


@pytest.mark.parametrize(("name", "action", "reason"), EXPECTED)
def test_every_fixture_classifies(name: str, action: str, reason: str) -> None:
    body = raw(name)
    assert verify_signature(SECRET, body, sign(body))
    decision = classify(event_of(name), parse_json(body), RULES)
    assert decision.kind == action
    assert reason in decision.reason
    if action in ("review", "command"):
        assert isinstance(decision, JobDecision)
        assert decision.pull.owner and decision.pull.repo and decision.pull.number > 0
    if action == "installation":
        assert isinstance(decision, InstallationDecision) and decision.installation_id > 0


def test_a_review_decision_carries_the_pull_request() -> None:
    decision = classify("pull_request", load("pull_request.opened.json"), RULES)
    assert decision == ReviewDecision(
        "PR #2 opened",
        PullTarget("Codertocat", "Hello-World", 2, installation_id=1),
        head_sha=HEAD,
        base_sha=BASE,
        author="Codertocat",
        author_association="OWNER",
    )
    assert decision.pull.repository == "Codertocat/Hello-World"
    assert str(decision.trigger) == "push"


def test_a_payload_without_installation_reviews() -> None:
    decision = classify("pull_request", load("pull_request.ready_for_review.json"), RULES)
    assert isinstance(decision, ReviewDecision)
    assert decision.pull.installation_id is None


# --- skipped pull requests --------------------------------------------------------------------


def edited_pr(action: str = "synchronize", **changes: Any) -> dict[str, Any]:
    payload = load("pull_request.synchronize.json")
    payload["action"] = action
    payload["pull_request"].update(changes)
    return payload


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (edited_pr(draft=True), "draft PR"),
        (edited_pr("opened", draft=True), "draft PR"),
        (edited_pr(state="closed"), "closed PR"),
        (
            edited_pr(user={"login": "dependabot[bot]", "type": "Bot"}),
            "author dependabot[bot] is a configured bot",
        ),
        (
            edited_pr(user={"login": "Renovate[bot]", "type": "Bot"}),
            "author Renovate[bot] is a configured bot",
        ),
        (edited_pr(labels=[{"name": "bug"}, {"name": "no-review"}]), "label no-review"),
        (edited_pr(labels=[{"name": "No-Review"}]), "label No-Review"),
    ],
)
def test_skipped_pull_requests(payload: dict[str, Any], reason: str) -> None:
    assert classify("pull_request", payload, RULES) == IgnoreDecision(reason)


def test_drafts_are_reviewed_when_the_rules_allow() -> None:
    rules = SkipRules(bot_login="tiered-review[bot]", skip_drafts=False)
    assert classify("pull_request", edited_pr(draft=True), rules).kind == "review"


def test_an_unconfigured_bot_author_is_reviewed() -> None:
    payload = edited_pr(user={"login": "github-actions[bot]", "type": "Bot"})
    decision = classify("pull_request", payload, RULES)
    assert isinstance(decision, ReviewDecision) and decision.author == "github-actions[bot]"


# --- comment commands -------------------------------------------------------------------------


def test_review_deep_on_a_pull_request_is_a_command() -> None:
    decision = classify("issue_comment", pr_comment("/review deep\r\n"), RULES)
    assert decision == CommandDecision(
        "/review deep by chmouel on PR #1",
        PullTarget("chmouel", "scratchmyback", 1, installation_id=16556382),
        mode=Mode.DEEP,
        comment_id=840508083,
        commenter="chmouel",
        author="chmouel",
        author_association="OWNER",
    )
    assert str(decision.trigger) == "comment:840508083"


def test_a_plain_review_command_without_installation() -> None:
    payload = pr_comment("  /REVIEW", login="alice")
    del payload["installation"]
    decision = classify("issue_comment", payload, RULES)
    assert isinstance(decision, CommandDecision)
    assert (decision.mode, decision.commenter, decision.author) == (Mode.NORMAL, "alice", "chmouel")
    assert decision.pull.installation_id is None


def _closed(payload: dict[str, Any]) -> dict[str, Any]:
    payload["issue"]["state"] = "closed"
    return payload


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (
            pr_comment("/review", login="tiered-review[bot]", type="Bot"),
            "comment by this App (tiered-review[bot])",
        ),
        (
            pr_comment("/review", login="Tiered-Review[bot]", type="User"),
            "comment by this App (Tiered-Review[bot])",
        ),
        (
            pr_comment("/review", login="github-actions[bot]", type="Bot"),
            "comment by bot github-actions[bot]",
        ),
        (pr_comment(None), "comment is not a /review command"),  # body: null
        (pr_comment("please /review"), "comment is not a /review command"),
        ({**pr_comment("/review"), "action": "edited"}, "comment edited, not created"),
        (_closed(pr_comment("/review deep")), "/review deep on PR #1, which is closed"),
    ],
)
def test_ignored_comments(payload: dict[str, Any], reason: str) -> None:
    assert classify("issue_comment", payload, RULES) == IgnoreDecision(reason)


def test_a_command_on_a_plain_issue_is_ignored() -> None:
    payload = load("issue_comment.created.2.json")
    payload["comment"]["body"] = "/review deep"
    decision = classify("issue_comment", payload, RULES)
    assert decision == IgnoreDecision("comment on issue #1, not a pull request")


def test_a_signed_edited_payload_round_trips(tmp_path: Path) -> None:
    """Sign an edited copy's bytes, then verify, parse and classify them as the edge will."""
    source = raw("issue_comment.created.4.json")
    path = tmp_path / "comment.json"
    path.write_bytes(source.replace(b'"body": "/retest"', b'"body": "/review"'))
    body = path.read_bytes()
    assert body != source
    assert verify_signature(SECRET, body, sign(body))
    assert not verify_signature(SECRET, body, sign(source))
    assert classify("issue_comment", parse_json(body), RULES).kind == "command"


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b"", b"{", b"not json", b"\xff\xfe\xfa", b"[1, 2]", b'"text"', b"null", b"[" * 100_000],
)
def test_malformed_json(body: bytes) -> None:
    with pytest.raises(WebhookError, match=r"^malformed JSON: "):
        parse_json(body)


@pytest.mark.parametrize(
    ("event", "name", "edit", "message"),
    [
        (
            "pull_request",
            "pull_request.opened.json",
            lambda p: p.pop("repository"),
            "pull_request payload: missing field repository",
        ),
        (
            "pull_request",
            "pull_request.opened.json",
            lambda p: p.pop("action"),
            "pull_request payload: missing field action",
        ),
        (
            "pull_request",
            "pull_request.opened.json",
            lambda p: p["pull_request"]["head"].pop("sha"),
            "pull_request payload: missing field pull_request.head.sha",
        ),
        (
            "pull_request",
            "pull_request.opened.json",
            lambda p: p["pull_request"].update(number="two"),
            "pull_request payload: field pull_request.number: Input should be a valid integer",
        ),
        (
            "issue_comment",
            "issue_comment.created.4.json",
            lambda p: p.pop("repository"),
            "issue_comment payload: missing field repository",
        ),
        (
            "issue_comment",
            "issue_comment.created.4.json",
            lambda p: p["comment"]["user"].pop("login"),
            "issue_comment payload: missing field comment.user.login",
        ),
        (
            "installation",
            "installation.created.json",
            lambda p: p.pop("installation"),
            "installation payload: missing field installation",
        ),
    ],
)
def test_invalid_payloads_name_the_field(event: str, name: str, edit: Any, message: str) -> None:
    payload = load(name)
    edit(payload)
    with pytest.raises(WebhookError) as caught:
        classify(event, payload, RULES)
    assert str(caught.value).startswith(message)
    assert "pydantic" not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert isinstance(caught.value, TieredReviewError)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(
        ["pull_request", "issue_comment", "ping", "installation", "installation_repositories", "x"]
    ),
    st.dictionaries(
        st.sampled_from(["action", "pull_request", "issue", "comment", "repository", "hook_id"]),
        json_values,
    ),
)
def test_classify_fails_only_with_webhook_error(event: str, payload: dict[str, Any]) -> None:
    try:
        decision = classify(event, payload, RULES)
    except WebhookError as error:
        assert str(error).startswith(f"{event} payload: ")
    else:
        assert decision.reason


def _review_comment(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(raw("pull_request_review_comment.created.json"))
    for key, value in changes.items():
        target, _, field = key.rpartition("__")
        node = data
        for part in target.split("__") if target else []:
            node = node[part]
        node[field] = value
    return data


def test_a_reply_in_a_thread_or_a_mention_is_a_reply_job() -> None:
    reply = classify(
        "pull_request_review_comment", _review_comment(comment__in_reply_to_id=7), RULES
    )
    assert isinstance(reply, ReplyDecision)
    assert (reply.comment_id, reply.in_reply_to, str(reply.trigger)) == (
        284312630,
        7,
        "thread:284312630",
    )
    mention = f"@{RULES.bot_login.removesuffix('[bot]')} why?"
    asked = classify("pull_request_review_comment", _review_comment(comment__body=mention), RULES)
    assert isinstance(asked, ReplyDecision) and asked.in_reply_to is None


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"comment__user__type": "Bot"}, "review comment by bot"),
        ({"comment__user__login": RULES.bot_login}, "review comment by this App"),
        ({"pull_request__state": "closed"}, "which is closed"),
        ({"action": "edited"}, "review comment edited, not created"),
    ],
)
def test_review_comments_the_bot_leaves_alone(changes: dict[str, Any], reason: str) -> None:
    data = _review_comment(comment__in_reply_to_id=7, **changes)
    decision = classify("pull_request_review_comment", data, RULES)
    assert decision.kind == "ignore" and reason in decision.reason


def test_review_deep_in_a_thread_is_a_command_about_that_thread() -> None:
    data = _review_comment(comment__in_reply_to_id=7, comment__body="/review deep")
    decision = classify("pull_request_review_comment", data, RULES)
    assert isinstance(decision, CommandDecision)
    assert decision.mode is Mode.DEEP and decision.in_thread
    assert str(decision.trigger) == "thread:284312630"
