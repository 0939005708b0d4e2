"""The plan end to end: golden output, routing rules, privacy, windows, budgets and cost."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from app.errors import ConfigError, RoutingError
from app.plan.chunks import SkipReason
from app.plan.config import Mode, Task
from app.plan.contract import tool_text
from app.plan.notices import BudgetWarning, WarningCode
from app.plan.output import plan_json
from app.plan.planner import Plan, build_plan
from app.plan.wording import warning_message
from tests.conftest import EXAMPLE_DIFF, ROOT, InputsFactory

GOLDEN = ROOT / "tests" / "golden" / "examples_pr.plan.json"


def _py_file(path: str, body: list[str]) -> str:
    lines = "".join(f"+{line}\n" for line in body)
    return (
        f"diff --git a/{path} b/{path}\nnew file mode 100644\n--- /dev/null\n+++ b/{path}\n"
        f"@@ -0,0 +1,{len(body)} @@\n{lines}"
    )


def _stable(doc: dict[str, Any]) -> dict[str, Any]:
    doc["totals"]["plan_ms"] = 0
    return doc


def test_example_plan_matches_golden_file(make_inputs: InputsFactory) -> None:
    plan = build_plan(EXAMPLE_DIFF.read_text(), make_inputs())
    doc = _stable(plan_json(plan, 0.0))
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(json.dumps(doc, indent=2) + "\n")
    assert doc == json.loads(GOLDEN.read_text())


def test_example_plan_covers_labels_skips_and_saves(make_inputs: InputsFactory) -> None:
    plan = build_plan(EXAMPLE_DIFF.read_text(), make_inputs())
    labels = {c.difficulty.value for c in plan.chunks if c.skipped is None}
    assert {"trivial", "routine", "architectural"} <= labels
    assert {c.skipped for c in plan.chunks} >= {SkipReason.BINARY}
    assert sum(c.lines_added + c.lines_deleted for c in plan.chunks) >= 300
    assert plan.totals.est_cost_usd < plan.totals.all_frontier_usd
    assert plan.requests[0].request.task is Task.SUMMARY
    # every reviewable chunk is in exactly one review request
    reviewed = [
        cid for r in plan.requests if r.request.task is Task.REVIEW for cid in r.request.chunk_ids
    ]
    assert sorted(reviewed) == sorted(c.id for c in plan.chunks if c.reviewable)


def test_plans_are_deterministic(make_inputs: InputsFactory) -> None:
    text = EXAMPLE_DIFF.read_text()
    first = _stable(plan_json(build_plan(text, make_inputs()), 1.0))
    second = _stable(plan_json(build_plan(text, make_inputs()), 2.0))
    assert first == second


def test_prefix_fingerprint_is_the_same_across_prs_and_repos(make_inputs: InputsFactory) -> None:
    pr_a = _py_file("service/a.py", ["def f(x):", "    return x + 1"] * 20)
    pr_b = _py_file("other_repo/lib/b.py", ["class K:", "    pass"] * 30)
    plan_a = build_plan(pr_a, make_inputs({"instructions": "Repo A uses tabs."}, title="A"))
    plan_b = build_plan(pr_b, make_inputs({"instructions": "Repo B is strict."}, title="B"))

    def prints(plan: Plan) -> dict[tuple[str, str], str]:
        return {
            (r.request.task.value, r.request.route.model.key): r.fingerprint for r in plan.requests
        }

    a, b = prints(plan_a), prints(plan_b)
    shared = a.keys() & b.keys()
    assert ("summary", "anthropic:claude-haiku-5-5") in shared
    assert shared and all(a[k] == b[k] for k in shared)
    # the per-repo instructions live after the stable prefix, not in it
    assert plan_a.requests[0].request.instructions != plan_b.requests[0].request.instructions


def test_deep_mode_sends_reviews_to_frontier_and_keeps_summary_small(
    make_inputs: InputsFactory,
) -> None:
    plan = build_plan(EXAMPLE_DIFF.read_text(), make_inputs(mode=Mode.DEEP))
    for planned in plan.requests:
        route = planned.request.route
        if planned.request.task is Task.REVIEW:
            assert (route.tier, route.rule) == ("frontier", "deep-frontier")
        else:
            assert route.tier == "small"


def test_private_paths_never_leave_without_a_local_tier(make_inputs: InputsFactory) -> None:
    overrides = {"paths": {"private": ["src/werkzeug/security.py"]}}
    plan = build_plan(EXAMPLE_DIFF.read_text(), make_inputs(overrides))
    (chunk,) = [c for c in plan.chunks if c.path == "src/werkzeug/security.py"]
    assert chunk.skipped is SkipReason.PRIVATE_NO_LOCAL
    for planned in plan.requests:
        assert chunk.id not in planned.request.chunk_ids
        assert "src/werkzeug/security.py" not in planned.request.user
    assert "private_no_local" in {w.code for w in plan.warnings}


def test_private_paths_go_to_local_whatever_the_rules_say(make_inputs: InputsFactory) -> None:
    overrides = {
        "tiers": {"local": {"model": "local:qwen3-coder", "max_input_tokens": 16000}},
        "paths": {"private": ["src/werkzeug/security.py"]},
        # a rule table that would send everything to frontier, private or not
        "rules": [{"id": "all-frontier", "tier": "frontier"}],
    }
    plan = build_plan(EXAMPLE_DIFF.read_text(), make_inputs(overrides, mode=Mode.DEEP))
    (chunk,) = [c for c in plan.chunks if c.path == "src/werkzeug/security.py"]
    holders = [r.request for r in plan.requests if chunk.id in r.request.chunk_ids]
    assert [(r.route.tier, r.route.model.provider, r.route.rule) for r in holders] == [
        ("local", "local", "privacy-guard")
    ]
    for planned in plan.requests:
        if planned.request.route.model.provider != "local":
            assert "src/werkzeug/security.py" not in planned.request.user


def test_local_tier_must_be_a_local_model(make_inputs: InputsFactory) -> None:
    with pytest.raises(ConfigError, match="not a local model"):
        build_plan("", make_inputs({"tiers": {"local": {"model": "openai:gpt-5.6-luna"}}}))


def test_unknown_model_lists_the_known_ones(make_inputs: InputsFactory) -> None:
    with pytest.raises(RoutingError, match="known models are .*claude-opus-5-5"):
        build_plan("", make_inputs({"tiers": {"small": {"model": "anthropic:claude-nope"}}}))


def test_request_over_the_window_moves_to_long(make_inputs: InputsFactory) -> None:
    overrides = {
        "models": {
            "openai:tiny": {
                "window": 9000,
                "max_output": 2000,
                "min_cacheable": 1024,
                "tokenizer": {"kind": "o200k"},
                "prices": [{"input": 1, "cache_read": 0.1, "cache_write": 1, "output": 2}],
            }
        },
        "tiers": {"frontier": {"model": "openai:tiny", "max_input_tokens": 100000}},
    }
    plan = build_plan(EXAMPLE_DIFF.read_text(), make_inputs(overrides))
    moved = [r.request for r in plan.requests if r.request.route.tier == "long"]
    assert moved and all(r.route.rule == "architectural-frontier" for r in moved)
    window = [n for r in moved for n in r.notes if n.text.startswith("window: moved from frontier")]
    assert window and all(n.warns is WarningCode.WINDOW for n in window)
    assert "window" in {w.code for w in plan.warnings}


def test_openai_counts_are_exact_and_add_up(make_inputs: InputsFactory) -> None:
    overrides = {
        "tiers": {
            "small": {"model": "openai:gpt-5.6-luna"},
            "middle": {"model": "openai:gpt-5.6-terra"},
            "frontier": {"model": "openai:gpt-5.6-sol"},
        }
    }
    inputs = make_inputs(overrides)
    plan = build_plan(EXAMPLE_DIFF.read_text(), inputs)
    for planned in plan.requests:
        r = planned.request
        whole = inputs.counter.count(tool_text())  # the answer's schema is sent too
        whole += inputs.counter.count(r.system) + inputs.counter.count(r.user)
        whole += inputs.counter.count(r.instructions) if r.instructions else 0
        assert planned.priced.tokens_exact
        assert planned.priced.input_tokens == whole


def test_cost_follows_the_price_file(make_inputs: InputsFactory) -> None:
    inputs = make_inputs()
    plan = build_plan(EXAMPLE_DIFF.read_text(), inputs)
    small = [p for p in plan.requests if p.request.route.tier == "small"]
    first, later = small[0], [p for p in small if p.fingerprint == small[0].fingerprint][1:]
    spec = inputs.catalog.get("anthropic:claude-haiku-5-5")
    price = spec.price_for(first.priced.input_tokens)
    cached = first.priced.cache_write_tokens
    expected = (
        (first.priced.input_tokens - cached) * price.input
        + cached * price.cache_write
        + first.request.est_output_tokens * price.output
    ) / 1e6
    assert cached > 0 and first.priced.est_cost_usd == pytest.approx(expected)
    for p in later + [q for q in small if q.fingerprint != first.fingerprint][1:]:
        assert p.priced.cache_read_tokens > 0 and p.priced.cache_write_tokens == 0


def test_budget_drops_trivial_then_routine_then_largest(make_inputs: InputsFactory) -> None:
    full = build_plan(EXAMPLE_DIFF.read_text(), make_inputs())
    budget = round(full.totals.worst_case_usd * 0.8, 4)
    plan = build_plan(EXAMPLE_DIFF.read_text(), make_inputs({"budget": {"max_usd_per_pr": budget}}))
    assert plan.totals.worst_case_usd <= budget
    dropped = [c for c in plan.chunks if c.skipped is SkipReason.OVER_BUDGET]
    kept = [c for c in plan.chunks if c.reviewable]
    assert dropped
    assert max(c.difficulty.rank for c in dropped[:1]) <= min(
        (c.difficulty.rank for c in kept), default=9
    ) or all(c.difficulty.rank <= 1 for c in dropped)
    assert "over_budget" in {w.code for w in plan.warnings}


@pytest.mark.parametrize("budget", [0.0, 0.0005])
def test_a_budget_below_the_smallest_review_sends_nothing(
    make_inputs: InputsFactory, budget: float
) -> None:
    plan = build_plan(EXAMPLE_DIFF.read_text(), make_inputs({"budget": {"max_usd_per_pr": budget}}))
    assert not plan.requests
    assert plan.totals.worst_case_usd == 0 <= budget
    assert all(c.skipped is not None for c in plan.chunks)
    [warning] = [w for w in plan.warnings if w.code == "over_budget"]
    assert isinstance(warning, BudgetWarning) and warning.nothing_sent
    assert warning.budget_usd == budget
    message = warning_message(warning)
    assert message.startswith("not reviewed") and f"${budget:.4f} budget" in message


def test_retiring_models_warn_with_the_given_date(make_inputs: InputsFactory) -> None:
    overrides = {"tiers": {"middle": {"model": "openai:gpt-4.1"}}}
    soon = build_plan("", make_inputs(overrides))
    assert [w.code for w in soon.warnings] == ["model_retiring"]
    import datetime as dt

    later = build_plan("", make_inputs(overrides, today=dt.date(2027, 2, 1)))
    assert [w.code for w in later.warnings] == ["model_retired"]


def test_cross_cutting_request_for_a_pr_across_packages(make_inputs: InputsFactory) -> None:
    parts = [
        _py_file(f"{pkg}/mod.py", [f"def {pkg}_fn(a, b):", "    return a + b"] * 10)
        for pkg in ("billing", "accounts", "search", "notify", "reports")
    ]
    plan = build_plan("".join(parts), make_inputs())
    cross = [r.request for r in plan.requests if r.request.task is Task.CROSS_CUTTING]
    assert len(cross) == 1
    assert cross[0].route.tier == "frontier"
    assert "## Changed signatures" in cross[0].user and "billing/mod.py" in cross[0].user
    # chunks themselves are not promoted by the PR-wide signal: each keeps its label alone
    by_path = {c.path: c.difficulty for c in plan.chunks}
    for part in parts:
        alone = build_plan(part, make_inputs())
        assert [c.difficulty for c in alone.chunks] == [by_path[alone.chunks[0].path]]
        assert not any(r.request.task is Task.CROSS_CUTTING for r in alone.requests)


def test_empty_diff_gives_an_empty_plan(make_inputs: InputsFactory) -> None:
    plan = build_plan("", make_inputs())
    assert plan.chunks == () and plan.requests == ()
    assert plan.totals.est_cost_usd == 0


def test_skip_reasons(make_inputs: InputsFactory) -> None:
    diff = "".join(
        [
            _py_file("package-lock.json", ['{"a": 1}']),
            _py_file("vendor/lib/x.py", ["x = 1"]),
            _py_file("api/gen_pb2.py", ["x = 1"]),
            _py_file("web/app.min.js", ["var a=1;"]),
            _py_file("web/bundle2.js", ["var a=" + "1," * 800 + "1;"]),
            _py_file("gen/schema_out.py", ["# Code generated by tool. DO NOT EDIT.", "x = 1"]),
            _py_file("skip/me.py", ["x = 1"]),
        ]
    )
    plan = build_plan(diff, make_inputs({"paths": {"exclude": ["skip/**"]}}))
    got = {c.path: c.skipped.value if c.skipped else None for c in plan.chunks}
    assert got == {
        "package-lock.json": "lockfile",
        "vendor/lib/x.py": "vendored",
        "api/gen_pb2.py": "generated",
        "web/app.min.js": "minified",
        "web/bundle2.js": "minified",
        "gen/schema_out.py": "generated",
        "skip/me.py": "filtered",
    }
    assert plan.requests == ()


def test_large_file_splits_into_stable_hunk_groups(make_inputs: InputsFactory) -> None:
    hunks = []
    for i in range(40):
        start = 1 + i * 100
        body = "".join(f"+value_{i}_{j} = compute({j}, 'some text here')\n" for j in range(30))
        hunks.append(f"@@ -{start},0 +{start + i * 30},30 @@\n{body}")
    diff = "diff --git a/big.py b/big.py\n--- a/big.py\n+++ b/big.py\n" + "".join(hunks)
    inputs = make_inputs({"requests": {"chunk_max_tokens": 2000}})
    plan = build_plan(diff, inputs)
    ids = [c.id for c in plan.chunks]
    assert len(ids) > 3 and len(set(ids)) == len(ids)
    assert all(c.tokens <= 2000 + 50 for c in plan.chunks)
    assert ids == [c.id for c in build_plan(diff, inputs).chunks]
    assert all(i.endswith(f"-h{c.hunks[0].index}") for i, c in zip(ids, plan.chunks, strict=True))


def test_summary_is_capped_and_says_so(make_inputs: InputsFactory) -> None:
    plan = build_plan(
        EXAMPLE_DIFF.read_text(), make_inputs({"requests": {"summary_max_tokens": 1500}})
    )
    summary = plan.requests[0].request
    assert summary.task is Task.SUMMARY
    assert summary.input_o200k - summary.cached_o200k <= 1500
    assert any("summary trimmed" in n.text and n.warns is None for n in summary.notes)


def test_request_files_exist(tmp_path: Path) -> None:
    # the prompts ship with the package and have no template placeholders
    for name in ("review", "summary", "cross_cutting"):
        text = (ROOT / "prompts" / f"{name}.md").read_text()
        assert "{{" not in text and "${" not in text
