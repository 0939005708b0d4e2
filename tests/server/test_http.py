"""The App over real HTTP: signed real payloads in, jobs through the SQLite queue, reviews out."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from app.errors import TieredReviewError
from app.server.service import build_server
from app.settings import Settings
from app.store import schema
from app.store.queue import JobQueue
from tests.conftest import EXAMPLE_DIFF, HOOKS
from tests.fakes import anthropic_fake
from tests.fakes.llm_common import FakeLLM, Responder
from tests.fakes.server import serve
from tests.review.test_engine import reviewer
from tests.review.test_pull_request import pr_files

SECRET = b"test-secret"
OWNER, REPO, NUMBER = "Codertocat", "Hello-World", 2


def payload(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((HOOKS / name).read_text())
    return data


def open_fixture_pr(gh: Any) -> None:
    """The PR the `pull_request.opened` fixture names, holding the example diff's files."""
    opened = payload("pull_request.opened.json")
    gh.add_repo(OWNER, REPO)
    gh.open_pr(
        OWNER,
        REPO,
        NUMBER,
        title="Update the README",
        body="Hi",
        base_sha="b" * 40,
        head_sha=opened["pull_request"]["head"]["sha"],
        files=pr_files(EXAMPLE_DIFF.read_text()),
        user="Codertocat",
    )


def sign(body: bytes, secret: bytes = SECRET) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


@dataclass
class App:
    url: str
    gh: Any
    queue: JobQueue
    gh_url: str = ""
    llm_url: str = ""
    engine: Engine | None = None

    def deliver(
        self,
        event: str,
        data: dict[str, Any],
        delivery: str,
        *,
        signature: str | None = "sign",
        body: bytes | None = None,
    ) -> httpx2.Response:
        raw = body if body is not None else json.dumps(data).encode()
        headers = {
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery,
            "Content-Type": "application/json",
        }
        if signature == "sign":
            headers["X-Hub-Signature-256"] = sign(raw)
        elif signature is not None:
            headers["X-Hub-Signature-256"] = signature
        return httpx2.post(f"{self.url}/webhook", content=raw, headers=headers, timeout=10)

    def wait(self, job_id: int, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = str(self.queue.get(job_id).state)
            if state in ("done", "failed"):
                return state
            time.sleep(0.1)
        job = self.queue.get(job_id)
        raise AssertionError(f"job {job_id} did not finish: {job.state} {job.last_error}")


@contextmanager
def running_app(tmp_path: Path, responder: Responder) -> Iterator[tuple[App, FakeLLM]]:
    """The App server on loopback, with the fake GitHub (fixture PR open) and a fake model."""
    from tests.fakes.github_fake import github_fake

    with github_fake() as (gh_url, gh), anthropic_fake(responder=responder) as (llm_url, llm):
        open_fixture_pr(gh)
        settings = Settings.from_env(
            {
                "GITHUB_TOKEN": "ghs_test",
                "GITHUB_API_URL": gh_url,
                "GITHUB_WEBHOOK_SECRET": SECRET.decode(),
                "TIERED_REVIEW_DB": str(tmp_path / "q.db"),
                "ANTHROPIC_API_KEY": "k",
                "ANTHROPIC_BASE_URL": llm_url,
                "TIERED_REVIEW_GITHUB_THROTTLE": "false",
                "TIERED_REVIEW_WORKERS": "2",
                "TIERED_REVIEW_LLM_MAX_RETRIES": "0",
            }
        )
        server, engine = build_server(settings)
        try:
            with serve(server, lifespan=True) as url:
                yield App(url, gh, JobQueue(engine), gh_url, llm_url, engine), llm
        finally:
            engine.dispose()


@pytest.fixture
def app(tmp_path: Path, counter: object) -> Iterator[App]:
    with running_app(tmp_path, reviewer) as (running, _llm):
        yield running


def test_a_signed_pull_request_is_reviewed_once_even_when_redelivered(app: App) -> None:
    data = payload("pull_request.opened.json")
    first = app.deliver("pull_request", data, "d-1")
    assert first.status_code == 202
    job = first.json()["job_id"]
    again = app.deliver("pull_request", data, "d-1")  # GitHub's redelivery keeps the id
    assert again.status_code == 202 and again.json() == {
        "job_id": job,
        "created": False,
        "reason": "redelivery",
    }
    assert app.wait(job) == "done"
    assert len(app.gh.reviews(OWNER, REPO, NUMBER)) == 1
    assert len(app.gh.issue_comments(OWNER, REPO, NUMBER)) == 1
    same_push = app.deliver("pull_request", data, "d-2")  # a second delivery of the same push
    assert same_push.json()["created"] is False
    assert len(app.gh.reviews(OWNER, REPO, NUMBER)) == 1
    # One ledger row for the one review, tenant = the installation, with its requests.
    assert app.engine is not None
    with app.engine.connect() as conn:
        reviews = conn.execute(sa.select(schema.reviews)).all()
        requests = conn.execute(sa.select(schema.review_requests)).all()
    assert [(r.source, r.repository, r.pr_number, r.outcome) for r in reviews] == [
        ("serve", f"{OWNER}/{REPO}", NUMBER, "posted")
    ]
    assert reviews[0].tenant == str(data["installation"]["id"])
    assert len(requests) == reviews[0].requests > 0
    assert sum(q.cost_usd for q in requests) == pytest.approx(reviews[0].cost_usd)


@pytest.mark.parametrize(
    ("signature", "body"),
    [(None, None), ("sha256=" + "0" * 64, None), ("sign-wrong", None), ("sign", b"tampered")],
)
def test_bad_signatures_are_refused_before_parsing(
    app: App, signature: str | None, body: bytes | None
) -> None:
    data = payload("pull_request.opened.json")
    raw = json.dumps(data).encode()
    if signature == "sign-wrong":
        signature = sign(raw, b"wrong-secret")
    if body is not None:  # signed, then changed in flight
        signature, raw = sign(raw), raw.replace(b"Hello-World", b"Hello-Warld")
    response = app.deliver("pull_request", data, "d-bad", signature=signature, body=raw)
    assert response.status_code == 401
    assert app.queue.delivery("d-bad") is None


def test_malformed_json_ping_installation_and_unknown_events(app: App) -> None:
    assert app.deliver("pull_request", {}, "d-j", body=b"{not json").status_code == 400
    assert app.deliver("ping", payload("ping.json"), "d-p").status_code == 200
    inst = app.deliver("installation", payload("installation.created.json"), "d-i")
    assert inst.status_code == 200 and inst.json()["outcome"] == "installation"
    other = app.deliver("star", {"action": "created"}, "d-s")
    assert other.status_code == 200 and other.json()["outcome"] == "ignore"
    closed = app.deliver("pull_request", payload("pull_request.closed.json"), "d-c")
    assert closed.json()["outcome"] == "ignore"


def _command(body: str, user: str, comment_id: int) -> dict[str, Any]:
    data = copy.deepcopy(payload("issue_comment.created.2.json"))
    data["comment"]["id"] = comment_id
    data["issue"]["number"] = NUMBER
    data["issue"]["pull_request"] = {"url": "https://example.invalid/pulls/2"}
    data["comment"]["body"] = body
    data["comment"]["user"]["login"] = user
    data["comment"]["user"]["type"] = "User"
    return data


def test_commands_behind_the_permission_gate(app: App) -> None:
    app.gh.set_permission(OWNER, REPO, "maintainer", "maintain")
    refused = app.deliver("issue_comment", _command("/review deep", "mallory", 901), "d-m")
    assert refused.status_code == 202
    assert app.wait(refused.json()["job_id"]) == "done"
    assert app.gh.reviews(OWNER, REPO, NUMBER) == []  # nothing ran
    assert "needs write access" in app.gh.issue_comments(OWNER, REPO, NUMBER)[-1]["body"]
    deep = app.deliver("issue_comment", _command("  /review deep\r\n", "maintainer", 902), "d-d")
    assert app.wait(deep.json()["job_id"]) == "done"
    (review,) = app.gh.reviews(OWNER, REPO, NUMBER)
    replies = [c["body"] for c in app.gh.issue_comments(OWNER, REPO, NUMBER)]
    assert any("Running a deep review" in b and "$" in b for b in replies)
    assert review["body"]


def test_metrics_and_health(app: App) -> None:
    app.deliver("ping", payload("ping.json"), "d-p2")
    health = httpx2.get(f"{app.url}/healthz", timeout=10)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    metrics = httpx2.get(f"{app.url}/metrics", timeout=10).text
    assert 'tiered_review_deliveries_total{event="ping",outcome="pong"} 1.0' in metrics


def test_the_server_refuses_to_start_without_a_secret(tmp_path: Path) -> None:
    settings = Settings.from_env({"TIERED_REVIEW_DB": str(tmp_path / "q.db")})
    with pytest.raises(TieredReviewError, match="GITHUB_WEBHOOK_SECRET"):
        build_server(settings)


def test_replay_runs_the_same_handler_without_a_server(app: App, tmp_path: Path) -> None:
    from tests.test_cli import run

    saved = tmp_path / "opened.json"
    saved.write_text(json.dumps(payload("pull_request.opened.json")))
    env = {
        "GITHUB_TOKEN": "t",
        "GITHUB_API_URL": app.gh_url,
        "ANTHROPIC_API_KEY": "k",
        "ANTHROPIC_BASE_URL": app.llm_url,
        "TIERED_REVIEW_GITHUB_THROTTLE": "false",
    }
    done = run("replay", str(saved), "--event", "pull_request", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["action"] == "review"
    assert len(app.gh.reviews(OWNER, REPO, NUMBER)) == 1
    ignored = run(
        "replay", str(HOOKS / "pull_request.closed.json"), "--event", "pull_request", env=env
    )
    assert json.loads(ignored.stdout)["action"] == "ignore"


def test_a_broken_repo_config_is_reported_once_and_not_retried(app: App) -> None:
    app.gh.set_file(OWNER, REPO, "b" * 40, ".github/tiered-review.yml", "nonsense: 1\n")
    first = app.deliver("pull_request", payload("pull_request.opened.json"), "d-1")
    assert app.wait(first.json()["job_id"]) == "done"
    assert app.queue.get(first.json()["job_id"]).attempts == 1
    (note,) = app.gh.issue_comments(OWNER, REPO, NUMBER)
    assert "could not use its configuration" in note["body"] and "nonsense" in note["body"]
    assert app.gh.reviews(OWNER, REPO, NUMBER) == []
    head = "e" * 40
    app.gh.push(OWNER, REPO, NUMBER, new_head_sha=head, files=pr_files(EXAMPLE_DIFF.read_text()))
    data = copy.deepcopy(payload("pull_request.synchronize.json"))
    data["pull_request"]["head"]["sha"] = data["after"] = head
    second = app.deliver("pull_request", data, "d-2")
    assert app.wait(second.json()["job_id"]) == "done"
    assert len(app.gh.issue_comments(OWNER, REPO, NUMBER)) == 1  # the same base: said once
