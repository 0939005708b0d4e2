"""Random faults in the fakes, and a short fault campaign through a real `serve` process."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from app.gh.client import GitHubClient
from app.settings import Settings
from app.store.db import make_engine, migrate
from app.store.queue import JobQueue, JobState
from tests.conftest import EXAMPLE_DIFF
from tests.fakes import CHAOS_KINDS, Chaos, anthropic_fake
from tests.fault_campaign import CampaignOptions, kill_points, run_campaign
from tests.fault_results import scan_logs
from tests.review.test_pull_request import pr_files

OWNER, REPO, NUMBER, HEAD = "acme", "api", 7, "c" * 40


def test_chaos_is_deterministic_whatever_the_order_of_requests() -> None:
    identities = [f"POST /x\0body-{i % 7}" for i in range(400)]  # retries repeat identities

    def run(order: list[str]) -> dict[tuple[str, int], str | None]:
        chaos, seen, out = Chaos(0.3, ("a", "b", "c"), seed=5), dict[str, int](), {}
        for identity in order:
            n = seen[identity] = seen.get(identity, -1) + 1
            drawn = chaos.draw(identity)
            out[(identity, n)] = None if drawn is None else drawn.kind
        return out

    forwards, backwards = run(identities), run(identities[::-1])
    assert forwards == backwards
    failed = sum(kind is not None for kind in forwards.values())
    assert 80 <= failed <= 160  # 30% of 400, loosely
    assert {kind for kind in forwards.values() if kind} == {"a", "b", "c"}
    other_seed = Chaos(0.3, ("a", "b", "c"), seed=6)
    assert [other_seed.draw(i) for i in identities[:50]] != [
        Chaos(0.3, ("a", "b", "c"), seed=5).draw(i) for i in identities[:50]
    ]


def test_chaos_rejects_bad_rates_and_kinds() -> None:
    with pytest.raises(ValueError, match="rate"):
        Chaos(1.5, ("a",))
    with pytest.raises(ValueError, match="kind"):
        Chaos(0.5, ())
    with anthropic_fake() as (_url, state), pytest.raises(ValueError, match="unknown fault kinds"):
        state.faults.chaos(0.5, ("418",))  # type: ignore[arg-type]


def _anthropic_call(url: str) -> httpx2.Response:
    body = {
        "model": "claude-haiku-5-5",
        "max_tokens": 50,
        "messages": [{"role": "user", "content": f"hello {time.monotonic_ns()}"}],
    }
    return httpx2.post(f"{url}/v1/messages", json=body, headers={"x-api-key": "k"}, timeout=5)


def test_llm_chaos_fails_calls_with_the_kinds_asked_then_stops() -> None:
    with anthropic_fake() as (url, state):
        state.faults.chaos(1.0, ("429",), seed=1, retry_after=2)
        limited = _anthropic_call(url)
        assert limited.status_code == 429 and limited.headers["retry-after"] == "2"
        state.faults.chaos(1.0, ("broken_body",), seed=1)
        broken = _anthropic_call(url)
        assert broken.status_code == 200
        with pytest.raises(ValueError):
            broken.json()
        state.faults.add("500")  # a scripted fault still comes first
        assert _anthropic_call(url).status_code == 500
        state.faults.chaos(0)
        assert _anthropic_call(url).status_code == 200
        assert state.faults.injected() == {}  # chaos off: its counts went with it
        assert set(CHAOS_KINDS) >= {"429", "500", "timeout", "malformed_json", "broken_body"}


@pytest.fixture
def github() -> Iterator[tuple[str, Any]]:
    from tests.fakes.github_fake import github_fake

    with github_fake() as (url, gh):
        gh.open_pr(
            OWNER,
            REPO,
            NUMBER,
            title="t",
            body="b",
            base_sha="b" * 40,
            head_sha=HEAD,
            files=pr_files(EXAMPLE_DIFF.read_text()),
        )
        yield url, gh


def _comment(url: str, text: str) -> httpx2.Response:
    return httpx2.post(
        f"{url}/repos/{OWNER}/{REPO}/issues/{NUMBER}/comments",
        json={"body": text},
        headers={"Authorization": "token t"},
        timeout=10,
    )


def test_github_chaos_502_applied_502_and_slow(github: tuple[str, Any]) -> None:
    url, gh = github
    gh.chaos(1.0, ("502",), seed=1)
    assert _comment(url, "dropped").status_code == 502
    gh.chaos(1.0, ("applied_502",), seed=1)
    assert _comment(url, "applied").status_code == 502
    auth = {"Authorization": "token t"}
    pull = httpx2.get(f"{url}/repos/{OWNER}/{REPO}/pulls/{NUMBER}", headers=auth, timeout=10)
    assert pull.status_code == 502  # a read has nothing to apply: a plain 502
    gh.chaos(1.0, ("slow",), seed=1, slow_s=(0.3, 0.3))
    started = time.monotonic()
    assert _comment(url, "slow").status_code == 201
    assert time.monotonic() - started >= 0.3
    assert [c["body"] for c in gh.issue_comments(OWNER, REPO, NUMBER)] == ["applied", "slow"]
    assert gh.injected() == {"slow": 1}
    gh.chaos(0)
    assert _comment(url, "calm").status_code == 201


def test_a_check_run_answered_502_is_retried_and_never_fails_the_job(
    github: tuple[str, Any],
) -> None:
    # Found by the fault campaign: one 502 on the check run failed the whole job, which then
    # waited 30 s and ran every model request again for a cosmetic status.
    url, gh = github
    client = GitHubClient("ghs_t", url, throttle=False, sleep=lambda s: None)
    try:
        info = client.pull(OWNER, REPO, NUMBER)
        gh.fail_next("POST", r"/check-runs$", status=502, apply=False)
        assert client.neutral_check(info, "title", "summary") is True
        assert len(gh.check_runs(OWNER, REPO)) == 1
        gh.fail_next("POST", r"/check-runs$", status=502, apply=False, times=10)
        assert client.neutral_check(info, "title", "summary") is False  # logged, not raised
        assert len(gh.check_runs(OWNER, REPO)) == 1
    finally:
        client.close()


def test_three_crashes_in_a_row_do_not_lose_a_job(tmp_path: Path) -> None:
    # Found by the fault campaign (`--kills 5`): each SIGKILL costs every running job an attempt,
    # and with three attempts, innocent jobs caught by three restarts in a row failed for good.
    engine = make_engine(f"sqlite:///{tmp_path / 'q.db'}")
    migrate(engine)
    now = [1000.0]
    settings = Settings.from_env({})
    queue = JobQueue(engine, lambda: now[0], max_attempts=settings.max_attempts)
    try:
        job = queue.enqueue(
            delivery_id="d-1",
            event="pull_request",
            kind="review",
            tenant="1",
            repository=f"{OWNER}/{REPO}",
            pr_number=NUMBER,
            head_sha=HEAD,
            mode="normal",
            trigger="push",
            payload={},
        ).job_id
        for crash in range(3):
            claimed = queue.claim(f"killed-{crash}", 5.0)
            assert claimed is not None and claimed.id == job
            now[0] += 10  # the process died: its lease runs out
        survivor = queue.claim("alive", 5.0)
        assert survivor is not None and survivor.attempts == 4
        assert queue.complete(job, "alive")
        assert queue.get(job).state is JobState.DONE
    finally:
        engine.dispose()


def test_kill_points_spread_over_the_deliveries() -> None:
    assert kill_points(50, 3) == [8, 23, 38]
    assert kill_points(4, 1) == [2]
    assert kill_points(1, 2) == [1, 1]


def test_scan_logs_tells_handled_failures_from_crashes(tmp_path: Path) -> None:
    log = tmp_path / "serve-1.log"
    log.write_text(
        '{"level": "error", "logger": "app.server.worker", "message": "job 3 failed (attempt 1)",'
        ' "exception": "Traceback ...\\nGitHubError: HTTP 502"}\n'
        '{"level": "warning", "logger": "app.server.worker", "message": "job 4: lease lost"}\n'
        '{"level": "error", "logger": "uvicorn.error",'
        ' "message": "Exception in ASGI application"}\n'
        "Traceback (most recent call last):\n"
        '{"level": "info", "logger": "app.server.http", "mess'  # cut short by SIGKILL
    )
    unhandled, failures, lease_lost = scan_logs([log])
    assert failures == {"GitHubError: HTTP 502": 1}
    assert lease_lost == 1
    assert len(unhandled) == 2 and "Exception in ASGI application" in unhandled[0]


def test_a_short_fault_run_reviews_every_pr_exactly_once(tmp_path: Path, counter: object) -> None:
    options = CampaignOptions(
        prs=4,
        kills=1,
        llm_fail=0.35,
        github_fail=0.12,
        seed=3,
        timeout_s=90,
        interval_s=0.3,
        redeliver_acked=2,
        slow_s=(0.2, 0.6),
        llm_timeout_s=1.5,
        lease_s=3,
        workers=2,
    )
    result = run_campaign(options, tmp_path)
    assert not result.timed_out
    assert len(result.kills) == 1 and "0 jobs running" not in result.kills[0], result.kills
    assert result.exactly_one == 4, [(t.summaries, t.reviews_by_sha) for t in result.tallies]
    assert result.duplicated == 0
    assert result.missing_findings == 0
    assert result.lost == 0, [t.job_states for t in result.tallies]
    assert result.crashes == 0, (result.unhandled, result.unexpected_exits, result.final_exit)
    assert result.dedupe_checked == 2 and result.dedupe_broken == []
    assert sum(result.llm_faults.values()) > 0 and sum(result.github_faults.values()) > 0
    assert result.applied_502.get("review", 0) >= 1  # the scripted one, at least
    assert result.applied_502.get("summary create", 0) >= 1
    assert sum(t.reviews for t in result.tallies) >= 3  # reviews were really posted
    assert result.github_refused == []
    assert {t.max_attempts for t in result.tallies} == {Settings.from_env({}).max_attempts}
    assert result.goals_met
