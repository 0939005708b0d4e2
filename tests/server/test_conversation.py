"""The review is a conversation: replies in the bot's threads through the real server.

Signed `pull_request_review_comment` deliveries (the real payload, its comment swapped for the
fake GitHub's own) go through the queue to a worker that reads the thread, routes the answer and
replies in the thread through the replies endpoint; the ledger and the conversation tables are
real SQLite files.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from app.gh.markers import read_markers
from app.review.conversation import DISMISS_ACK, REPLY_KIND
from app.review.publish import FINGERPRINT_KIND, ROUTE_KIND
from app.store import schema
from tests.fakes.github_fake import BOT_LOGIN
from tests.review.test_engine import reviewer
from tests.server.test_http import NUMBER, OWNER, REPO, App, payload, running_app

HOOK = Path(__file__).resolve().parents[1] / "fixtures" / "github-webhooks"
REPLY_SYSTEM = "# Answering a developer in a review thread"


def responder(model: str, system: str, user: str) -> str:
    """Reviews as `reviewer` does; answers thread replies naming the model that answered."""
    if system.startswith(REPLY_SYSTEM):
        return f"Answer from {model}: the check matters because the value can be empty."
    return reviewer(model, system, user)


@dataclass
class Conversation:
    app: App
    llm: Any

    def review(self) -> dict[str, Any]:
        """Review the fixture PR; the bot's first inline comment."""
        response = self.app.deliver("pull_request", payload("pull_request.opened.json"), "d-open")
        assert self.app.wait(response.json()["job_id"]) == "done"
        mine = [
            c
            for c in self.app.gh.review_comments(OWNER, REPO, NUMBER)
            if c["user"] == BOT_LOGIN and c.get("in_reply_to_id") is None
        ]
        assert mine, "the review left no inline comment"
        return mine[0]

    def say(self, root_id: int, text: str, delivery: str, user: str = "Codertocat") -> Any:
        """A developer replies in the thread; GitHub delivers the webhook."""
        record = self.app.gh.add_review_reply(OWNER, REPO, NUMBER, root_id, text, user)
        return self.deliver(record["id"], delivery)

    def deliver(self, comment_id: int, delivery: str) -> Any:
        data = copy.deepcopy(
            json.loads((HOOK / "pull_request_review_comment.created.json").read_text())
        )
        data["comment"] = self.app.gh.review_comment_json(self.app.gh_url, comment_id)
        data["pull_request"]["number"] = NUMBER
        data["pull_request"]["state"] = "open"
        return self.app.deliver("pull_request_review_comment", data, delivery)

    def bot_replies(self, root_id: int) -> list[dict[str, Any]]:
        return [
            c
            for c in self.app.gh.review_comments(OWNER, REPO, NUMBER)
            if c["user"] == BOT_LOGIN and c.get("in_reply_to_id") == root_id
        ]

    def reply_models(self) -> list[str]:
        return [
            str(r.json["model"])
            for r in self.llm.log.entries
            if isinstance(r.json, dict) and REPLY_SYSTEM in json.dumps(r.json.get("system"))
        ]


@pytest.fixture
def talk(tmp_path: Path, counter: object) -> Iterator[Conversation]:
    with running_app(tmp_path, responder) as (app, llm):
        yield Conversation(app, llm)
        assert app.gh.invalid == [], "a request outside GitHub's published descriptions"


def test_a_question_gets_one_answer_in_its_thread_on_the_findings_tier(
    talk: Conversation,
) -> None:
    root = talk.review()
    tier, difficulty, category = read_markers(root["body"], ROUTE_KIND)[0].split()
    assert category == "bug" and difficulty in ("trivial", "routine", "substantive")
    answered = talk.say(root["id"], "Why does this matter here?", "d-q1")
    assert answered.status_code == 202
    assert talk.app.wait(answered.json()["job_id"]) == "done"
    replies = talk.bot_replies(root["id"])
    assert len(replies) == 1
    model = {"small": "claude-haiku-5-5", "middle": "claude-sonnet-5-5"}[tier]
    assert replies[0]["body"].split("\n", 1)[1].startswith(f"Answer from {model}:")
    asked = read_markers(replies[0]["body"], REPLY_KIND)
    assert asked == [str(talk.app.gh.review_comments(OWNER, REPO, NUMBER)[-2]["id"])]
    assert talk.reply_models() == [model]
    # The same delivery again, and a second delivery of the same comment: no second answer.
    comment_id = int(asked[0])
    again = talk.deliver(comment_id, "d-q1")
    assert again.json()["reason"] == "redelivery"
    other = talk.deliver(comment_id, "d-q1-bis")
    assert other.json()["created"] is False
    assert len(talk.bot_replies(root["id"])) == 1
    assert talk.reply_models() == [model]
    # The ledger has the reply's cost as a request of task `reply` on that tier.
    assert talk.app.engine is not None
    with talk.app.engine.connect() as conn:
        rows = conn.execute(
            sa.select(schema.review_requests).where(schema.review_requests.c.task == "reply")
        ).all()
        claims = conn.execute(sa.select(schema.thread_replies)).all()
    assert [(r.tier, r.model, r.cost_usd > 0) for r in rows] == [(tier, model, True)]
    assert [(c.comment_id, c.kind, c.tier) for c in claims] == [(comment_id, "question", tier)]


TOKEN = "ghp_Zq8vR2mK9xT4bN7cW1yL5hJ3fD6sA0pE8gUi"


def test_a_dispute_goes_to_frontier_and_bots_get_no_answer(talk: Conversation) -> None:
    root = talk.review()
    disputed = talk.say(root["id"], f"I disagree, this is not a bug. CI uses {TOKEN}.", "d-x1")
    assert talk.app.wait(disputed.json()["job_id"]) == "done"
    assert talk.reply_models() == ["claude-opus-5-5"]
    sent = [e.body.decode() for e in talk.llm.log.entries]
    assert not any(TOKEN in body for body in sent)  # secrets never reach a model
    assert any("[REDACTED:github_token]" in body for body in sent)
    by_bot = talk.say(root["id"], "Why?", "d-x2", user="dependabot[bot]")
    assert by_bot.status_code == 200 and by_bot.json()["outcome"] == "ignore"
    assert len(talk.bot_replies(root["id"])) == 1


def test_a_dismissed_finding_is_remembered_and_not_raised_again_after_a_push(
    talk: Conversation,
) -> None:
    root = talk.review()
    fingerprint = read_markers(root["body"], FINGERPRINT_KIND)[0]
    dismissed = talk.say(root["id"], "Won't fix: we accept this.", "d-w1")
    assert talk.app.wait(dismissed.json()["job_id"]) == "done"
    replies = talk.bot_replies(root["id"])
    assert [r["body"].split("\n", 1)[1] for r in replies] == [DISMISS_ACK]  # after the marker
    assert talk.reply_models() == []  # acknowledged without a model call
    assert talk.app.engine is not None
    with talk.app.engine.connect() as conn:
        held = conn.execute(sa.select(schema.suppressions)).all()
        signals = conn.execute(sa.select(schema.feedback)).all()
    assert [(s.fingerprint, s.reason) for s in held] == [(fingerprint, "reply")]
    assert [(f.fingerprint, f.signal, f.category) for f in signals] == [
        (fingerprint, "dismissed", "bug")
    ]
    # A push that touches the file again: the review runs, the finding is not posted again,
    # and the summary says one dismissed finding was held back.
    gh = talk.app.gh
    pull_files = gh.review_comments(OWNER, REPO, NUMBER)
    files = [dict(f) for f in _files(talk)]
    gh.push(OWNER, REPO, NUMBER, new_head_sha="c" * 40, files=files)
    gh.set_compare(OWNER, REPO, _head(talk), "c" * 40, files)
    pushed = payload("pull_request.opened.json")
    pushed["action"] = "synchronize"
    pushed["pull_request"]["head"]["sha"] = "c" * 40
    job = talk.app.deliver("pull_request", pushed, "d-push").json()["job_id"]
    assert talk.app.wait(job) == "done"
    after = gh.review_comments(OWNER, REPO, NUMBER)
    again = [
        c
        for c in after
        if c["user"] == BOT_LOGIN and fingerprint in read_markers(c["body"], FINGERPRINT_KIND)
    ]
    assert len(again) == 1 and len(after) == len(pull_files)
    summary = gh.issue_comments(OWNER, REPO, NUMBER)[0]["body"]
    assert re.search(r"1 dismissed finding not raised again", summary)


def _changed_first_line(files: list[dict[str, Any]], path: str) -> list[dict[str, Any]]:
    """The PR's files with the first added line of `path` rewritten: its hunk changes."""
    out = []
    for item in files:
        item = dict(item)
        if item["filename"] == path:
            lines = item["patch"].split("\n")
            first = next(i for i, line in enumerate(lines) if line.startswith("+"))
            lines[first] = "+Rewritten in the second push"
            item["patch"] = "\n".join(lines)
        out.append(item)
    return out


def test_reactions_are_feedback_and_an_outdated_thread_is_resolved_after_a_push(
    talk: Conversation,
) -> None:
    root = talk.review()
    fingerprint = read_markers(root["body"], FINGERPRINT_KIND)[0]
    gh = talk.app.gh
    gh.react(root["id"], "-1", "Codertocat")
    gh.react(root["id"], "+1", "dependabot[bot]")  # a bot's reaction is no signal
    files = _changed_first_line(_files(talk), root["path"])
    gh.push(OWNER, REPO, NUMBER, new_head_sha="d" * 40, files=files)
    gh.set_compare(OWNER, REPO, _head(talk), "d" * 40, files)
    pushed = payload("pull_request.opened.json")
    pushed["action"] = "synchronize"
    pushed["pull_request"]["head"]["sha"] = "d" * 40
    job = talk.app.deliver("pull_request", pushed, "d-push2").json()["job_id"]
    assert talk.app.wait(job) == "done"
    # The thumbs-down is feedback on the finding's route, and dismisses it on this PR.
    assert talk.app.engine is not None
    with talk.app.engine.connect() as conn:
        signals = conn.execute(sa.select(schema.feedback)).all()
        held = conn.execute(sa.select(schema.suppressions)).all()
    tier = read_markers(root["body"], ROUTE_KIND)[0].split()[0]
    assert [(f.fingerprint, f.signal, f.tier) for f in signals] == [
        (fingerprint, "thumbs_down", tier)
    ]
    assert [(h.fingerprint, h.reason) for h in held] == [(fingerprint, "thumbs_down")]
    # The push rewrote the line the finding pointed at and the review no longer reports it:
    # the bot resolved its thread, and the summary says so.
    assert gh.resolved_threads() == {root["id"]: BOT_LOGIN}
    summary = gh.issue_comments(OWNER, REPO, NUMBER)[0]["body"]
    assert "resolved 1 outdated thread" in summary


def _head(talk: Conversation) -> str:
    return str(payload("pull_request.opened.json")["pull_request"]["head"]["sha"])


def _files(talk: Conversation) -> list[dict[str, Any]]:
    from tests.conftest import EXAMPLE_DIFF
    from tests.review.test_pull_request import pr_files

    return list(pr_files(EXAMPLE_DIFF.read_text()))


CONVENTIONS = "# Conventions\n\nErrors are returned, never logged and swallowed.\n"


def test_a_conventions_file_reaches_the_cached_instructions_block_of_every_pr(
    talk: Conversation,
) -> None:
    gh = talk.app.gh
    base = "b" * 40  # the fixture PR's base
    gh.set_file(OWNER, REPO, base, "AGENTS.md", CONVENTIONS)
    gh.set_file(OWNER, REPO, "e" * 40, "AGENTS.md", "# Conventions\n\nA PR's own edit.\n")
    talk.review()
    gh.open_pr(
        OWNER,
        REPO,
        3,
        title="Another change",
        body="",
        base_sha=base,
        head_sha="e" * 40,
        files=_files(talk)[:1],
        user="Codertocat",
    )
    second = payload("pull_request.opened.json")
    second["number"] = second["pull_request"]["number"] = 3
    second["pull_request"]["head"]["sha"] = "e" * 40
    job = talk.app.deliver("pull_request", second, "d-open-3").json()["job_id"]
    assert talk.app.wait(job) == "done"
    blocks: dict[str, set[str]] = {}  # system prompt -> the instructions blocks sent after it
    for entry in talk.llm.log.entries:
        system = entry.json.get("system") if isinstance(entry.json, dict) else None
        if isinstance(system, list) and len(system) == 2:
            assert all("cache_control" in b for b in system)  # both before a breakpoint
            blocks.setdefault(system[0]["text"], set()).add(system[1]["text"])
    assert blocks, "no request carried an instructions block"
    for sent in blocks.values():
        # One block for both PRs (the base branch's file, not PR 3's head): cache-stable.
        assert len(sent) == 1
        (text,) = sent
        assert "### AGENTS.md" in text and "never logged and swallowed" in text
        assert "A PR's own edit" not in text
    assert talk.app.engine is not None
    with talk.app.engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                schema.review_requests.c.pr_number, schema.review_requests.c.cache_read_tokens
            )
        ).all()
    assert any(n == 3 and read > 0 for n, read in rows), "PR 3 read no cached prefix"


def test_review_deep_in_a_thread_rereviews_that_file_on_frontier_behind_the_gate(
    talk: Conversation,
) -> None:
    root = talk.review()
    gh = talk.app.gh
    before = len(talk.llm.log.entries)
    # Without write access the gate refuses, in the thread, and no model is called.
    refused = talk.say(root["id"], "/review deep", "d-deep-1", user="mallory")
    assert talk.app.wait(refused.json()["job_id"]) == "done"
    assert len(talk.llm.log.entries) == before
    assert len(talk.bot_replies(root["id"])) == 1
    gh.set_permission(OWNER, REPO, "Codertocat", "write")
    asked = talk.say(root["id"], "/review deep", "d-deep-2")
    assert talk.app.wait(asked.json()["job_id"]) == "done"
    assert len(talk.bot_replies(root["id"])) == 2  # the gate's answer, in the thread
    review_prompt = (Path(__file__).resolve().parents[2] / "prompts" / "review.md").read_text()
    reviewed = [
        e.json
        for e in talk.llm.log.entries[before:]
        if isinstance(e.json, dict) and e.json["system"][0]["text"] == review_prompt
    ]
    assert reviewed, "the deep review sent no review request"
    for request in reviewed:
        assert request["model"] == "claude-opus-5-5"
        text = json.dumps(request["messages"])
        others = {f["filename"] for f in _files(talk)} - {root["path"]}
        assert root["path"] in text and not any(f"`{o}`" in text for o in others)
