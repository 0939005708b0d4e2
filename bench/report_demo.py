"""Real reviews into two ledgers, then `tiered-review report` over both (and a copy of one).

    python bench/report_demo.py [--png docs/report.png]

Starts the fake Anthropic and OpenAI APIs, runs six `tiered-review review --diff ...` on the
example diff and parts of it (two in `--mode deep`, two with the small tier on OpenAI) into two
ledger databases, as two Action runs would leave two artifacts, copies the first (as if
downloaded twice), then prints `tiered-review report` over all three in table form, writes the
JSON and the HTML report, and saves a screenshot of the HTML page rendered by headless Chromium.
Every figure comes from the reviews just run: nothing is made up or backdated, so the
cost-over-time chart has one day.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser import render  # noqa: E402
from tests.fakes import anthropic_fake, openai_fake  # noqa: E402
from tests.review.test_engine import reviewer  # noqa: E402

EXAMPLE = ROOT / "examples" / "pr.diff"
OPENAI_SMALL = """\
tiers:
  small:
    model: openai:gpt-5.6-luna
    alternate: anthropic:claude-haiku-5-5
"""


def file_diffs(text: str) -> dict[str, str]:
    """The example diff cut at each `diff --git` header, by new path."""
    parts = re.split(r"(?m)^(?=diff --git )", text)
    out: dict[str, str] = {}
    for part in parts:
        header = re.match(r"diff --git a/\S+ b/(\S+)", part)
        if header:
            out[header.group(1)] = part
    return out


def cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """The real entry point in a child process."""
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        env={**env, "PYTHONPATH": str(ROOT)},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--png", type=Path, default=ROOT / "docs" / "report.png")
    parser.add_argument("--html", type=Path, help="also keep the HTML report here")
    args = parser.parse_args()
    text = EXAMPLE.read_text()
    files = file_diffs(text)
    pick = {
        name: "".join(files[p] for p in paths)
        for name, paths in {
            "docs": ["CHANGES.rst", "docs/utils.rst"],
            "security": ["src/werkzeug/security.py", "tests/test_security.py"],
            "debugger": ["src/werkzeug/debug/__init__.py", "src/werkzeug/debug/console.py"],
        }.items()
    }
    with (
        tempfile.TemporaryDirectory() as folder,
        anthropic_fake(responder=reviewer) as (a_url, _a),
        openai_fake(responder=reviewer) as (o_url, _o),
    ):
        tmp = Path(folder)
        (tmp / "openai-small.yml").write_text(OPENAI_SMALL)
        for name, body in pick.items():
            (tmp / f"{name}.diff").write_text(body)
        (tmp / "full.diff").write_text(text)
        base = {
            **os.environ,
            "ANTHROPIC_API_KEY": "demo",
            "ANTHROPIC_BASE_URL": a_url,
            "OPENAI_API_KEY": "demo",
            "OPENAI_BASE_URL": o_url + "/v1",
            "TIERED_REVIEW_LLM_MAX_RETRIES": "0",
        }
        run1, run2, copy = tmp / "run-1.db", tmp / "run-2.db", tmp / "run-1-again.db"
        reviews = [
            (run1, "acme/werkzeug", ["--diff", "full.diff"]),
            (run1, "acme/werkzeug", ["--diff", "security.diff", "--mode", "deep"]),
            (run1, "acme/docs", ["--diff", "docs.diff"]),
            (run2, "acme/werkzeug", ["--diff", "full.diff", "--config", "openai-small.yml"]),
            (run2, "acme/werkzeug", ["--diff", "debugger.diff", "--mode", "deep"]),
            (run2, "acme/docs", ["--diff", "docs.diff", "--config", "openai-small.yml"]),
        ]
        for db, repo, extra in reviews:
            started = time.perf_counter()
            done = cli(
                "review", *extra, "--repo", repo, "--format", "json",
                env={**base, "TIERED_REVIEW_DB": str(db)}, cwd=tmp,
            )  # fmt: skip
            if done.returncode != 0:
                raise SystemExit(f"review {extra} failed:\n{done.stderr}")
            totals = json.loads(done.stdout)["totals"]
            print(
                f"$ TIERED_REVIEW_DB={db.name} tiered-review review {' '.join(extra)} "
                f"--repo {repo}\n  ${totals['cost_usd']:.4f} vs all-frontier "
                f"${totals['all_frontier_usd']:.4f}; cache {totals['cache_hit_rate_by_provider']}"
                f"; {time.perf_counter() - started:.1f} s"
            )
        shutil.copyfile(run1, copy)
        dbs = [a for db in (run1, run2, copy) for a in ("--db", db.name)]
        print(f"\n$ tiered-review report {' '.join(dbs)}")
        table = cli("report", *dbs, env=base, cwd=tmp)
        print(table.stdout.rstrip() or table.stderr)
        started = time.perf_counter()
        html = tmp / "report.html"
        for fmt, path in (("json", tmp / "report.json"), ("html", html)):
            done = cli("report", *dbs, "--format", fmt, "--output", str(path), env=base, cwd=tmp)
            if done.returncode != 0:
                raise SystemExit(f"report --format {fmt} failed:\n{done.stderr}")
        print(f"\nJSON and HTML reports written in {time.perf_counter() - started:.1f} s")
        doc = json.loads((tmp / "report.json").read_text())
        print("JSON totals:", json.dumps(doc["totals"]))
        args.png.parent.mkdir(parents=True, exist_ok=True)
        page = render(html, png=args.png)
        print(f"HTML: {len(page.marks)} chart marks drawn; screenshot {args.png}")
        if args.html:
            shutil.copyfile(html, args.html)


if __name__ == "__main__":
    main()
