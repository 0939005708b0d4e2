"""The real `tiered-review` entry point, run as a user would: exit codes, output and errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.plan.config import config_json_schema
from app.store import schema
from app.store.db import database_url, make_engine, state_dir
from tests.conftest import EXAMPLE_DIFF, ROOT, git


def run(
    *args: str, cwd: Path = ROOT, stdin: bytes = b"", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a child process, the way the console script does."""
    done = subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        check=False,
    )
    return subprocess.CompletedProcess(
        done.args, done.returncode, done.stdout.decode(), done.stderr.decode()
    )


def test_plan_json_on_the_example(counter: object) -> None:
    done = run("plan", "--diff", str(EXAMPLE_DIFF), "--format", "json")
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert plan["schema"] == "tiered-review/plan@1"
    assert set(plan["totals"]) >= {
        "est_cost_usd",
        "worst_case_usd",
        "all_frontier_usd",
        "all_middle_usd",
        "plan_ms",
    }
    request_keys = {
        "id",
        "task",
        "tier",
        "provider",
        "model",
        "rule",
        "chunk_ids",
        "input_tokens",
        "tokens_exact",
        "prefix_tokens",
        "prefix_fingerprint",
        "cacheable",
        "est_output_tokens",
        "est_cost_usd",
        "worst_case_usd",
    }
    assert all(request_keys <= set(r) for r in plan["requests"])
    chunk_keys = {"id", "path", "lines_added", "lines_deleted", "difficulty", "reasons", "skipped"}
    assert all(chunk_keys <= set(c) for c in plan["chunks"])


def test_plan_table_explains(counter: object) -> None:
    done = run("plan", "--diff", "-", "--explain", stdin=EXAMPLE_DIFF.read_bytes())
    assert done.returncode == 0, done.stderr
    assert "rule architectural-frontier" in done.stdout
    assert "% saved" in done.stdout


def test_malformed_diff_exits_2_with_one_line() -> None:
    done = run("plan", "--diff", "-", stdin=b"--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n a\n-b\n")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "malformed diff" in done.stderr and "line 3" in done.stderr


def test_empty_diff_is_an_empty_plan(counter: object) -> None:
    done = run("plan", "--diff", "-", "--format", "json", stdin=b"")
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert plan["chunks"] == [] and plan["requests"] == []


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ("tiers:\n  small:\n    modle: x\n", "unknown key 'tiers.small.modle'"),
        ("budget:\n  max_usd_per_pr: -1\n", "budget.max_usd_per_pr"),
        ("tiers:\n  small:\n    base_url: http://127.0.0.1:1\n", "tiers.small.base_url"),
        ("tiers:\n  small: {model: 'anthropic:claude-9'}\n", "known models are"),
        ("tiers:\n  small: {model: 'acme:m1'}\n", "known providers are"),
        ("rules: [{id: x, tier: huge}]\n", "rules.0.tier"),
        (": : :\n", "not valid YAML"),
    ],
)
def test_bad_config_exits_2_naming_it(tmp_path: Path, config: str, expected: str) -> None:
    path = tmp_path / "tiered-review.yml"
    path.write_text(config)
    done = run("plan", "--diff", str(EXAMPLE_DIFF), "--config", str(path))
    assert done.returncode == 2, done.stdout
    assert expected in done.stderr and "Traceback" not in done.stderr


def test_plan_without_diff_uses_the_merge_base(repo: Path, counter: object) -> None:
    (repo / "README.md").write_text("hello\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / "auth.py").write_text("def login(user, password):\n    return check(password)\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "feature")
    (repo / "notes.md").write_text("uncommitted\n")
    git(repo, "add", "notes.md")
    committed = json.loads(run("plan", "--format", "json", cwd=repo).stdout)
    assert [c["path"] for c in committed["chunks"]] == ["auth.py"]
    assert committed["chunks"][0]["difficulty"] == "architectural"
    both = json.loads(run("plan", "--format", "json", "--worktree", cwd=repo).stdout)
    assert [c["path"] for c in both["chunks"]] == ["auth.py", "notes.md"]
    based = run("plan", "--base", "nope", cwd=repo)
    assert based.returncode == 2 and "git merge-base" in based.stderr


def test_tokenizer_fallback_warns_and_does_not_crash(tmp_path: Path) -> None:
    # An empty tiktoken cache and a closed loopback proxy: tiktoken cannot load its BPE files.
    env = {
        "TIKTOKEN_CACHE_DIR": str(tmp_path),
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "",
    }
    done = run("plan", "--diff", str(EXAMPLE_DIFF), "--format", "json", env=env)
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert "tokenizer_fallback" in {w["code"] for w in plan["warnings"]}
    assert plan["requests"] and not any(r["tokens_exact"] for r in plan["requests"])


def test_committed_json_schema_is_current() -> None:
    committed = (ROOT / "schema" / "tiered-review.schema.json").read_text()
    assert committed == config_json_schema(), (
        "schema/tiered-review.schema.json is stale: run "
        "`tiered-review config-schema > schema/tiered-review.schema.json`"
    )


def test_review_without_keys_names_the_variables(counter: object) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ANTHROPIC", "OPENAI", "GEMINI", "LOCAL_LLM"))
    }
    done = subprocess.run(
        [sys.executable, "-m", "app", "review", "--diff", str(EXAMPLE_DIFF)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**env, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert done.returncode == 2, done.stdout
    assert "ANTHROPIC_API_KEY" in done.stderr
    assert "small" in done.stderr and "frontier" in done.stderr
    assert done.stderr.count("\n") == 1


def test_review_end_to_end_against_the_fakes(tmp_path: Path, counter: object) -> None:
    from tests.fakes import anthropic_fake
    from tests.review.test_engine import reviewer

    with anthropic_fake(responder=reviewer) as (url, state):
        env = {
            "ANTHROPIC_API_KEY": "k",
            "ANTHROPIC_BASE_URL": url,
            "TIERED_REVIEW_LLM_MAX_RETRIES": "0",
        }
        done = run(
            "review",
            "--diff",
            str(EXAMPLE_DIFF),
            "--format",
            "json",
            "--repo",
            "o/r",
            "--title",
            "Werkzeug 2.1",
            env=env,
            cwd=tmp_path,
        )
        markdown = run("review", "--diff", str(EXAMPLE_DIFF), env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    review = json.loads(done.stdout)
    assert review["schema"] == "tiered-review/review@1"
    assert set(review["totals"]) >= {
        "cost_usd",
        "all_frontier_usd",
        "all_middle_usd",
        "savings_pct",
        "cache_hit_rate",
        "cache_hit_rate_by_provider",
    }
    keys = {
        "id",
        "task",
        "tier",
        "provider",
        "model",
        "rule",
        "fresh_input_tokens",
        "cache_write_tokens",
        "cache_read_tokens",
        "output_tokens",
        "cost_usd",
        "latency_ms",
        "status",
    }
    assert all(keys <= set(r) for r in review["requests"])
    assert {r["status"] for r in review["requests"]} == {"ok"}
    finding_keys = {
        "path",
        "line",
        "start_line",
        "side",
        "start_side",
        "severity",
        "category",
        "title",
        "body",
        "suggestion",
        "chunk_id",
        "inline",
        "fingerprint",
    }
    assert review["findings"] and all(finding_keys <= set(f) for f in review["findings"])
    assert 0 < review["totals"]["savings_pct"] < 100
    assert markdown.returncode == 0 and "## Routing and cost" in markdown.stdout
    assert "Werkzeug 2.1" in state.log.entries[0].body.decode()
    # Both runs went into the ledger in the default state folder, request by request.
    ledger = make_engine(database_url(None, state_dir()))
    try:
        with ledger.connect() as conn:
            rows = conn.execute(sa.select(schema.reviews).order_by(schema.reviews.c.id)).all()
            requests = conn.execute(sa.select(schema.review_requests)).all()
    finally:
        ledger.dispose()
    assert [(r.source, r.repository, r.tenant) for r in rows][0] == ("review", "o/r", "o/r")
    assert len(rows) == 2 and rows[0].cost_usd == pytest.approx(
        review["totals"]["cost_usd"], abs=1e-6
    )
    first = [q for q in requests if q.review_id == rows[0].id]
    assert sorted(q.request_id for q in first) == sorted(r["id"] for r in review["requests"])
    by_id = {r["id"]: r for r in review["requests"]}
    for q in first:
        r = by_id[q.request_id]
        assert (q.tier, q.model, q.cache_read_tokens, q.output_tokens) == (
            r["tier"],
            r["model"],
            r["cache_read_tokens"],
            r["output_tokens"],
        )
        assert q.difficulty in {"trivial", "routine", "substantive", "architectural"}
