"""The Action's entrypoint run as a runner would, against the loopback fakes, as a transcript.

    python bench/action_demo.py

Uses the real webhook payloads in tests/fixtures/. Starts the fake GitHub (holding
Codertocat/Hello-World#2 with the example diff as its files) and the fake Anthropic API, then
runs `tiered-review action` three times with the Actions environment set: on `pull_request`
(opened), on a fork's `pull_request_target` without keys, and on a maintainer's `/review deep`
comment. After each run it prints the job summary and the outputs the step wrote.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes import anthropic_fake  # noqa: E402
from tests.fakes.github_fake import github_fake  # noqa: E402
from tests.review.test_engine import reviewer  # noqa: E402
from tests.server.test_http import NUMBER, OWNER, REPO, _command, open_fixture_pr, payload  # noqa: E402


def step(tmp: Path, env: dict[str, str], event: str, data: dict[str, Any], **extra: str) -> None:
    """One workflow run of the action's step; prints what a maintainer sees in the Actions UI."""
    event_path = tmp / f"{event}.json"
    event_path.write_text(json.dumps(data))
    summary, output = tmp / "summary.md", tmp / "output.txt"
    summary.write_text("")
    output.write_text("")
    run_env = {
        **env,
        "GITHUB_EVENT_NAME": event,
        "GITHUB_EVENT_PATH": str(event_path),
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_OUTPUT": str(output),
        **extra,
    }
    shown = " ".join(f"{k}={v or '(empty)'}" for k, v in extra.items())
    print(f"$ GITHUB_EVENT_NAME={event} {shown} tiered-review action".replace("  ", " "))
    done = subprocess.run(
        [sys.executable, "-m", "app", "action"],
        env=run_env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    print(done.stdout.rstrip())
    if done.stderr.strip():
        print(done.stderr.rstrip())
    print(f"(exit {done.returncode})\n")
    print("--- $GITHUB_STEP_SUMMARY ---")
    print(summary.read_text().rstrip())
    print("--- $GITHUB_OUTPUT ---")
    print(output.read_text().rstrip())
    print()


def main() -> None:
    with (
        tempfile.TemporaryDirectory() as folder,
        github_fake(bot_login="github-actions[bot]") as (gh_url, gh),
        anthropic_fake(responder=reviewer) as (llm_url, _llm),
    ):
        tmp = Path(folder)
        open_fixture_pr(gh)
        gh.set_permission(OWNER, REPO, "maintainer", "maintain")
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "GITHUB_REPOSITORY": f"{OWNER}/{REPO}",
            "GITHUB_API_URL": gh_url,
            "GITHUB_TOKEN": "ghs_workflow",
            "RUNNER_TEMP": str(tmp),
            "ANTHROPIC_API_KEY": "demo",
            "ANTHROPIC_BASE_URL": llm_url,
            "TIERED_REVIEW_GITHUB_THROTTLE": "false",
        }
        step(tmp, env, "pull_request", payload("pull_request.opened.json"))
        step(
            tmp,
            env,
            "pull_request_target",
            payload("pull_request.opened.json"),
            ANTHROPIC_API_KEY="",
        )
        step(tmp, env, "issue_comment", _command("/review deep", "maintainer", 4242))
        print(f"--- what {OWNER}/{REPO}#{NUMBER} holds ---")
        reviews = gh.reviews(OWNER, REPO, NUMBER)
        comments = gh.issue_comments(OWNER, REPO, NUMBER)
        print(f"{len(reviews)} reviews by {sorted({r['user'] for r in reviews})}")
        for c in comments:
            first = next((line for line in c["body"].splitlines() if line.strip()), "")
            print(f"issue comment by {c['user']}: {first[:100]}")


if __name__ == "__main__":
    main()
