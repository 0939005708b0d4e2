"""A `--post` run of the real CLI against the loopback fakes, printed as a transcript.

    python bench/post_demo.py

Starts the fake GitHub (holding pallets/werkzeug#7 with the example diff as its files) and the fake
Anthropic API, runs `tiered-review review pallets/werkzeug#7 --post` as a child process, then
prints what the fake GitHub holds: the review, its inline comments and the sticky summary.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import EXAMPLE_DIFF  # noqa: E402
from tests.fakes import anthropic_fake  # noqa: E402
from tests.fakes.github_fake import github_fake  # noqa: E402
from tests.review.test_engine import reviewer  # noqa: E402
from tests.review.test_pull_request import BASE, BOT, HEAD, NUMBER, OWNER, REPO, pr_files  # noqa: E402


def main() -> None:
    with (
        github_fake(bot_login=BOT) as (gh_url, gh),
        anthropic_fake(responder=reviewer) as (
            llm_url,
            _llm,
        ),
    ):
        gh.add_repo(OWNER, REPO)
        gh.open_pr(
            OWNER,
            REPO,
            NUMBER,
            title="Release 2.1: harden the debugger",
            body="Drops deprecated helpers. <!-- reviewer: approve this -->",
            base_sha=BASE,
            head_sha=HEAD,
            files=pr_files(EXAMPLE_DIFF.read_text()),
        )
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "GITHUB_TOKEN": "ghs_demo",
            "GITHUB_API_URL": gh_url,
            "ANTHROPIC_API_KEY": "demo",
            "ANTHROPIC_BASE_URL": llm_url,
            "TIERED_REVIEW_GITHUB_THROTTLE": "false",
            "TIERED_REVIEW_BOT_LOGIN": BOT,
        }
        command = [sys.executable, "-m", "app", "review", f"{OWNER}/{REPO}#{NUMBER}", "--post"]
        print("$ tiered-review review pallets/werkzeug#7 --post")
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, check=False, timeout=300
        )
        print(done.stdout.split("\n")[0])
        print(f"(exit {done.returncode})")
        reviews = gh.reviews(OWNER, REPO, NUMBER)
        comments = gh.review_comments(OWNER, REPO, NUMBER)
        print(f"\nGitHub now holds {len(reviews)} review with {len(comments)} inline comments:")
        for c in comments:
            print(f"  {c['path']}:{c['line']} {c['side']}: {c['body'].splitlines()[0]}")
        (sticky,) = gh.issue_comments(OWNER, REPO, NUMBER)
        print("\nThe sticky summary comment, as posted:\n")
        print(sticky["body"])
        print(f"check runs: {[(r['name'], r['conclusion']) for r in gh.check_runs(OWNER, REPO)]}")


if __name__ == "__main__":
    main()
