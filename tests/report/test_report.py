"""`tiered-review report`: figures checked by hand, merged databases, filters, HTML in Chromium.

The ledger below is written through `record_review` (the write side every surface uses) into
real SQLite files (and PostgreSQL, when `TIERED_REVIEW_TEST_PG` is set). Every expected figure
is worked out by hand in the comments from the rows, not by calling the report's own code.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from app.cli import main
from app.errors import LedgerError
from app.plan.config import Mode, Task
from app.plan.cost import Usage
from app.plan.planner import Plan, Totals
from app.report.core import build_report, cache_stats, parse_since, percentiles, timeline
from app.report.html import (
    CHART_BASELINES,
    CHART_CACHE,
    CHART_COST_OVER_TIME,
    CHART_TIER_MIX,
    report_html,
)
from app.report.output import REPORT_SCHEMA, report_json
from app.resources import load_catalog, load_config
from app.review.result import RequestOutcome, ReviewResult, ReviewTotals
from app.store import schema
from app.store.db import alembic_config, database_url, make_engine, open_database, write_transaction
from app.store.ledger import ReviewContext, record_review
from app.store.ledger_read import (
    LedgerPart,
    RequestRow,
    ReviewRow,
    merge_ledgers,
    read_ledgers,
    reader_engine,
)
from tests.browser import Mark, render
from tests.conftest import EXAMPLE_DIFF
from tests.test_cli import run

T0 = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC).timestamp()
DAY = 86400.0
NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC).timestamp()
CATALOG = load_catalog(load_config(None))


def ask(
    rid: str,
    task: str,
    tier: str,
    key: str,
    usage: tuple[int, int, int, int],
    cost: tuple[float, float, float],
    *,
    first: bool,
    prefix: int,
    prefix_hash: str = "P",
    status: str = "ok",
) -> RequestOutcome:
    """One request: usage is (fresh, cache write, cache read, output); cost is (routed,
    all-frontier, all-middle)."""
    provider, _, model = key.partition(":")
    return RequestOutcome(
        id=rid,
        task=Task(task),
        tier=tier,
        provider=provider,
        model=model,
        rule="test",
        chunk_ids=(),
        status=status,  # type: ignore[arg-type]
        usage=Usage(*usage),
        cost_usd=cost[0],
        all_frontier_usd=cost[1],
        all_middle_usd=cost[2],
        latency_ms=1.0,
        first_of_prefix=first,
        prefix_tokens=prefix,
        prefix_hash=prefix_hash,
    )


def result(mode: Mode, *outcomes: RequestOutcome) -> ReviewResult:
    plan = Plan(mode, (), (), Totals(0, 0, 0, 0), (), dt.date(2026, 11, 27))
    totals = ReviewTotals(
        cost_usd=sum(o.cost_usd for o in outcomes),
        all_frontier_usd=sum(o.all_frontier_usd for o in outcomes),
        all_middle_usd=sum(o.all_middle_usd for o in outcomes),
        savings_pct=0.0,
        cache_hit_rate=0.0,
        cache_hit_rate_by_provider={},
    )
    return ReviewResult("", (), (), tuple(outcomes), totals, {}, plan)


HAIKU, SONNET, OPUS = (
    "anthropic:claude-haiku-5-5",
    "anthropic:claude-sonnet-5-5",
    "anthropic:claude-opus-5-5",
)
LUNA, SOL, GPT41 = "openai:gpt-5.6-luna", "openai:gpt-5.6-sol", "openai:gpt-4.1"
GONE = "anthropic:claude-old-1"  # not in the catalog

# R1 acme/api#7, normal, day 0, routing 10 ms: cost .33, frontier .60, middle .30.
R1 = result(
    Mode.NORMAL,
    ask("s", "summary", "small", HAIKU, (1000, 2000, 0, 100), (0.01, 0.10, 0.05), first=True,
        prefix=2000),
    ask("r1", "review", "small", HAIKU, (500, 0, 2000, 200), (0.02, 0.20, 0.10), first=False,
        prefix=2100),  # estimated 2100; the first request wrote 2000: it counts at 2000
    ask("r2", "review", "frontier", OPUS, (3000, 1000, 0, 300), (0.30, 0.30, 0.15), first=True,
        prefix=1000),
)  # fmt: skip
# R2 acme/api#7, deep, day 1, routing 30 ms: cost .003, frontier .09, middle .04.
R2 = result(
    Mode.DEEP,
    ask("s", "summary", "small", LUNA, (3000, 0, 0, 100), (0.001, 0.05, 0.02), first=True,
        prefix=2500, prefix_hash="Q"),
    ask("r1", "review", "small", LUNA, (2000, 0, 500, 400), (0.002, 0.04, 0.02), first=False,
        prefix=2500, prefix_hash="Q"),  # the first wrote nothing: counts at its 2500 estimate
    ask("r2", "review", "frontier", SOL, (0, 0, 0, 0), (0.0, 0.0, 0.0), first=False,
        prefix=2500, prefix_hash="Q", status="failed"),  # failed: not counted for the cache
)  # fmt: skip
# R3 acme/web, a local diff (PR 0), normal, day 3, routing 20 ms: cost .012, frontier .046.
R3 = result(
    Mode.NORMAL,
    ask("r1", "review", "middle", SONNET, (100, 0, 1500, 50), (0.005, 0.02, 0.005), first=True,
        prefix=1500),
    ask("r2", "review", "middle", SONNET, (200, 0, 1000, 100), (0.004, 0.016, 0.004),
        first=False, prefix=1500),
    ask("r3", "review", "middle", GPT41, (1000, 0, 0, 50), (0.003, 0.01, 0.003), first=True,
        prefix=1000, prefix_hash="P2", status="fallback"),
)  # fmt: skip
# R4 acme/web#12, normal, day 3 + 1 h, routing 40 ms: cost .5, frontier .5, middle .25.
R4 = result(
    Mode.NORMAL,
    ask("x", "cross_cutting", "frontier", GONE, (1000, 0, 0, 500), (0.5, 0.5, 0.25),
        first=True, prefix=800, prefix_hash="Z"),
)  # fmt: skip


@dataclass
class Ledgers:
    a: Path  # R1, R2, R3
    b: str  # URL: R4 and a copy of R2 (same uid)
    uids: dict[str, str]


def copy_review(source: Path, target: sa.Engine, uid: str) -> None:
    """Copy one review and its requests row by row, as merging two ledgers by hand would."""
    reader = make_engine(database_url(str(source), source.parent))
    try:
        with reader.connect() as conn:
            review = conn.execute(
                sa.select(schema.reviews).where(schema.reviews.c.uid == uid)
            ).one()
            requests = conn.execute(
                sa.select(schema.review_requests).where(
                    schema.review_requests.c.review_id == review.id
                )
            ).all()
    finally:
        reader.dispose()
    with write_transaction(target) as conn:
        row = {k: v for k, v in review._mapping.items() if k != "id"}
        key = conn.execute(schema.reviews.insert().values(row)).inserted_primary_key
        assert key is not None
        new_id = key[0]
        for q in requests:
            values = {k: v for k, v in q._mapping.items() if k != "id"}
            conn.execute(schema.review_requests.insert().values({**values, "review_id": new_id}))


@pytest.fixture
def ledgers(tmp_path: Path, db_url: str) -> Iterator[Ledgers]:
    a = tmp_path / "artifacts" / "run-1.db"
    first = open_database(str(a))
    uids: dict[str, str] = {}
    try:
        for name, res, source, repo, pr, ms, at in (
            ("R1", R1, "serve", "acme/api", 7, 10.0, T0),
            ("R2", R2, "serve", "acme/api", 7, 30.0, T0 + DAY),
            ("R3", R3, "review", "acme/web", 0, 20.0, T0 + 3 * DAY),
        ):
            context = ReviewContext(source, repo, repo, pr, "abc", routing_ms=ms)
            uids[name] = record_review(first, res, context, now=at)
    finally:
        first.dispose()
    second = open_database(db_url)
    try:
        context = ReviewContext("action", "acme/web", "acme/web", 12, "def", routing_ms=40.0)
        uids["R4"] = record_review(second, R4, context, now=T0 + 3 * DAY + 3600)
        copy_review(a, second, uids["R2"])
    finally:
        second.dispose()
    yield Ledgers(a, db_url, uids)


def test_report_figures_match_the_hand_computed_ones(ledgers: Ledgers) -> None:
    ledger = read_ledgers([str(ledgers.a), ledgers.b])
    assert [(s.reviews, s.duplicates) for s in ledger.sources] == [(3, 0), (2, 1)]
    doc = report_json(build_report(ledger, CATALOG, NOW))
    t = doc["totals"]
    assert (t["reviews"], t["requests"]) == (4, 10)
    assert t["cost_usd"] == pytest.approx(0.33 + 0.003 + 0.012 + 0.5)  # 0.845
    assert t["all_frontier_usd"] == pytest.approx(0.60 + 0.09 + 0.046 + 0.5)  # 1.236
    assert t["all_middle_usd"] == pytest.approx(0.30 + 0.04 + 0.012 + 0.25)  # 0.602
    assert t["savings_usd"] == pytest.approx(1.236 - 0.845)
    assert t["savings_pct"] == pytest.approx(100 * (1 - 0.845 / 1.236), abs=0.01)  # 31.63
    assert t["fresh_input_tokens"] == 1000 + 500 + 3000 + 3000 + 2000 + 100 + 200 + 1000 + 1000
    assert t["cache_read_tokens"] == 2000 + 500 + 1500 + 1000
    # Cache, the engine's way: anthropic counts R1/r1 (read 2000 of the 2000 written) and
    # R3/r2 (1000 of the 1500 its first request read); openai only R2/r1 (500 of its 2500
    # estimate; r2 failed). R1/r2, R3/r1, R3/r3 and R4 are each the first of their prefix.
    assert t["cache_hit_rate_by_provider"] == {"anthropic": 0.8571, "openai": 0.2}
    assert t["cache_hit_rate"] == round(3500 / 6000, 4)
    providers = {p["provider"]: p for p in doc["providers"]}
    assert providers["anthropic"] == {
        "provider": "anthropic",
        "requests": 6,
        "counted_requests": 2,
        "cache_read_tokens": 3000,
        "cacheable_tokens": 3500,
        "cache_hit_rate": 0.8571,
        "below_threshold": False,
        # Every anthropic request's input: R1 3000 + 2500 + 4000, R3 1600 + 1200, R4 1000;
        # all its reads, R3's first request's 1500 too: 2000 + 1500 + 1000.
        "input_tokens": 13300,
        "all_cache_read_tokens": 4500,
        "cache_read_share": round(4500 / 13300, 4),
    }
    assert providers["openai"]["cache_read_share"] == round(500 / (3000 + 2500 + 1000), 4)
    assert (providers["openai"]["requests"], providers["openai"]["below_threshold"]) == (4, True)
    tasks = {
        r["task"]: (r["requests"], r["cost_usd"], r["all_frontier_usd"]) for r in doc["by_task"]
    }
    assert [r["task"] for r in doc["by_task"]] == ["review", "summary", "cross_cutting"]
    assert tasks["review"] == (7, pytest.approx(0.334), pytest.approx(0.586))
    assert tasks["summary"] == (2, pytest.approx(0.011), pytest.approx(0.15))
    assert tasks["cross_cutting"] == (1, pytest.approx(0.5), pytest.approx(0.5))
    tiers = [(r["tier"], r["requests"], r["cost_usd"]) for r in doc["by_tier"]]
    assert tiers == [
        ("small", 4, pytest.approx(0.033)),
        ("middle", 3, pytest.approx(0.012)),
        ("frontier", 3, pytest.approx(0.8)),
    ]
    models = [(m["tier"], f"{m['provider']}:{m['model']}", m["requests"]) for m in doc["by_model"]]
    assert models == [
        ("small", HAIKU, 2),
        ("small", LUNA, 2),
        ("middle", SONNET, 2),
        ("middle", GPT41, 1),
        ("frontier", GONE, 1),
        ("frontier", OPUS, 1),
        ("frontier", SOL, 1),
    ]
    mix = {m["tier"]: (m["requests_pct"], m["cost_pct"]) for m in doc["tier_mix"]}
    assert mix["small"] == (40.0, pytest.approx(100 * 0.033 / 0.845, abs=0.01))
    assert mix["frontier"] == (30.0, pytest.approx(100 * 0.8 / 0.845, abs=0.01))
    # Routing times 10, 30, 20, 40: nearest rank p50 is the 2nd of 4, p99 the 4th.
    assert doc["routing_ms"] == {"samples": 4, "p50": 20.0, "p99": 40.0}
    pulls = [(p["label"], p["reviews"], p["cost_usd"]) for p in doc["top_prs"]]
    assert pulls[:2] == [("acme/web#12", 1, 0.5), ("acme/api#7", 2, pytest.approx(0.333))]
    assert pulls[2][0] == "acme/web: local diff, normal, 2026-11-04 12:00 UTC"
    assert doc["timeline"] == {
        "period": "day",
        "labels": ["2026-11-01", "2026-11-02", "2026-11-03", "2026-11-04"],
        "cost_usd_by_task": {
            "review": [0.32, 0.002, 0.0, 0.012],
            "summary": [0.01, 0.001, 0.0, 0.0],
            "cross_cutting": [0.0, 0.0, 0.0, 0.5],
        },
    }
    codes = {(w["code"], w["message"].split(" ")[0].rstrip(":")) for w in doc["warnings"]}
    assert codes == {
        ("cache_hit_rate_low", "openai"),
        ("model_unknown", GONE),
        ("model_retiring", GPT41),  # 2027-01-14 is 48 days after 2026-11-27
    }
    later = report_json(build_report(ledger, CATALOG, NOW + 70 * DAY))
    assert ("model_retired", GPT41) in {
        (w["code"], w["message"].split(" ")[0]) for w in later["warnings"]
    }


def test_filters_by_date_and_repository(ledgers: Ledgers) -> None:
    since = parse_since("2026-11-02", NOW)
    assert since == T0 + DAY - 12 * 3600
    both = [str(ledgers.a), ledgers.b]
    recent = report_json(build_report(read_ledgers(both, since=since), CATALOG, NOW))
    # R2 (day 1, in both databases), R3 and R4.
    assert recent["totals"]["reviews"] == 3
    assert recent["totals"]["cost_usd"] == pytest.approx(0.003 + 0.012 + 0.5)
    assert [d["duplicates"] for d in recent["databases"]] == [0, 1]
    web = report_json(build_report(read_ledgers(both, repository="ACME/Web"), CATALOG, NOW))
    assert web["totals"]["reviews"] == 2 and web["totals"]["requests"] == 4
    assert web["totals"]["cost_usd"] == pytest.approx(0.512)
    assert web["totals"]["cache_hit_rate_by_provider"] == {"anthropic": round(1000 / 1500, 4)}
    nothing = build_report(read_ledgers(both, repository="acme/none"), CATALOG, NOW)
    assert nothing.reviews == 0 and [w.code for w in nothing.warnings] == ["no_reviews"]


def test_reader_cannot_write(ledgers: Ledgers) -> None:
    for url in (database_url(str(ledgers.a), ledgers.a.parent), ledgers.b):
        engine = reader_engine(url, "db")
        try:
            with engine.connect() as conn, pytest.raises(sa.exc.DBAPIError, match="read"):
                conn.execute(sa.delete(schema.reviews))
        finally:
            engine.dispose()


def test_since_accepts_dates_and_days_and_names_bad_values() -> None:
    assert parse_since("7d", NOW) == NOW - 7 * DAY
    assert parse_since(" 30d ", NOW) == NOW - 30 * DAY
    assert parse_since("2026-11-27", NOW) == NOW - 12 * 3600
    for bad in ("yesterday", "7", "-3d", "2026-13-01", "7h"):
        with pytest.raises(LedgerError, match="--since"):
            parse_since(bad, NOW)


def test_percentiles_are_nearest_rank() -> None:
    assert percentiles([]).p50 is None
    assert (percentiles([5.0]).p50, percentiles([5.0]).p99) == (5.0, 5.0)
    sample = [float(v) for v in range(1, 201)]  # 1..200: p50 is the 100th, p99 the 198th
    assert (percentiles(sample).p50, percentiles(sample).p99) == (100.0, 198.0)


def _review(uid: str, at: float, repository: str = "o/r", cost: float = 1.0) -> ReviewRow:
    return ReviewRow(uid, "review", at, repository, 0, "normal", cost, cost, cost, 1.0)


def _request(uid: str, task: str = "review", cost: float = 1.0) -> RequestRow:
    return RequestRow(
        uid, task, "small", "anthropic", "claude-haiku-5-5", 1, 0, 0, 1, 0, True, "P",
        cost, cost, cost, "ok",
    )  # fmt: skip


def test_cache_hit_rate_counts_repair_turns_per_call_and_never_passes_100() -> None:
    # One review on one prefix of 1,000 tokens. The first request writes it and its repair turn
    # misses; the second reads it twice (a repair turn too); the third reads it once.
    def row(first: bool, write: int, read: int, calls: int) -> RequestRow:
        return RequestRow(
            "u", "review", "small", "anthropic", "claude-haiku-5-5", 10, write, read, 5, 1_000,
            first, "P", 0.1, 0.2, 0.1, "ok", calls,
        )  # fmt: skip

    rows = [row(True, 1_000, 0, 2), row(False, 0, 2_000, 2), row(False, 0, 1_000, 1)]
    (stat,) = cache_stats(rows)
    # the first request's repair turn read the prefix the first call wrote: eligible too
    assert (stat.read_tokens, stat.eligible_tokens) == (3_000, 4_000)
    rows[0] = row(True, 1_000, 1_000, 2)
    (stat,) = cache_stats(rows)
    assert stat.hit_rate == 1.0
    # a provider reporting more reads than the calls could make still shows 100%, not 107%
    rows.append(row(False, 0, 5_000, 1))
    (stat,) = cache_stats(rows)
    assert stat.hit_rate == 1.0 and stat.eligible_requests == 4
    ledger = merge_ledgers([LedgerPart("x.db", (_review("u", NOW),), tuple(rows))])
    assert build_report(ledger, CATALOG, NOW).cache_hit_rate == 1.0


def test_timeline_switches_to_weeks_then_months() -> None:
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC).timestamp()  # a Thursday
    weeks = timeline([_review("a", start), _review("b", start + 40 * DAY)], [_request("b")])
    # Monday 2025-12-29 to the Monday of 2026-02-10, every week in between.
    assert weeks.period == "week" and len(weeks.labels) == 7
    assert (weeks.labels[0], weeks.labels[-1]) == ("2025-12-29", "2026-02-09")
    assert weeks.cost_by_task == {"review": (0, 0, 0, 0, 0, 0, 1.0)}
    months = timeline([_review("a", start), _review("b", start + 200 * DAY)], [])
    assert months.period == "month" and months.labels[0] == "2026-01" and len(months.labels) == 7


def test_merge_counts_each_uid_once_first_database_wins() -> None:
    one = LedgerPart("one", (_review("u1", 1.0, cost=2.0),), (_request("u1", cost=2.0),))
    two = LedgerPart(
        "two",
        (_review("u1", 1.0, cost=99.0), _review("u2", 2.0)),
        (_request("u1", cost=99.0), _request("u2")),
    )
    merged = merge_ledgers([one, two, one])
    assert [r.uid for r in merged.reviews] == ["u1", "u2"]
    assert [q.cost_usd for q in merged.requests] == [2.0, 1.0]
    assert [(s.name, s.reviews, s.duplicates) for s in merged.sources] == [
        ("one", 1, 0),
        ("two", 2, 1),
        ("one", 1, 1),
    ]


def test_html_escapes_what_the_ledger_holds() -> None:
    nasty = '<img src=x onerror="alert(1)">/repo'
    ledger = merge_ledgers([LedgerPart("x.db", (_review("u", NOW, nasty),), (_request("u"),))])
    page = report_html(build_report(ledger, CATALOG, NOW))
    assert "<img" not in page and "&lt;img src=x" in page
    assert "<script" not in page and "href" not in page and "url(" not in page


def report(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """`tiered-review report ARGS` through the real entry point, in this process (fast)."""
    capsys.readouterr()
    code = main(["report", *args])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return code, captured.out


def _files(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_cli_json_table_and_read_only(ledgers: Ledgers, capsys: pytest.CaptureFixture[str]) -> None:
    before = _files(ledgers.a.parent)
    args = ["--db", str(ledgers.a), "--db", ledgers.b]
    doc = json.loads(report(capsys, *args, "--format", "json")[1])
    assert doc["schema"] == REPORT_SCHEMA
    assert set(doc) >= {"totals", "by_task", "by_tier", "by_model", "providers", "routing_ms"}
    assert set(doc) >= {"top_prs", "timeline", "tier_mix", "warnings", "databases", "filters"}
    assert doc["totals"]["reviews"] == 4
    assert doc["totals"]["cost_usd"] == pytest.approx(0.845)
    assert doc["totals"]["cache_hit_rate_by_provider"] == {"anthropic": 0.8571, "openai": 0.2}
    assert any(
        w["code"] in ("model_retiring", "model_retired") and GPT41 in w["message"]
        for w in doc["warnings"]
    )
    filters = ["--since", "2026-11-04", "--repository", "acme/web", "--format", "json"]
    assert json.loads(report(capsys, *args, *filters)[1])["totals"]["reviews"] == 2  # R3, R4
    out = report(capsys, *args)[1]
    saved = ledgers.a.parent.parent / "report.txt"
    assert report(capsys, *args, "--output", str(saved)) == (0, "")
    assert saved.read_text() == out
    assert "Cost by task" in out and "Most expensive PRs" in out and "acme/web#12" in out
    assert "Spent $0.8450 on 4 reviews (10 requests)" in out
    assert "31.6% ($0.3910) saved" in out
    assert "Routing time p50 20.0 ms, p99 40.0 ms over 4 reviews" in out
    assert "warning cache_hit_rate_low: openai: cache hit rate 20.0% is below 40%" in out
    assert "(2, 1 already counted)" in out
    # Nothing was written beside the SQLite file: no migration, no -wal or -shm.
    assert _files(ledgers.a.parent) == before


def test_html_report_in_chromium_matches_the_json(
    ledgers: Ledgers, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--db", str(ledgers.a), "--db", ledgers.b]
    page_path = tmp_path / "report.html"
    assert report(capsys, *args, "--format", "html", "--output", str(page_path)) == (0, "")
    doc = json.loads(report(capsys, *args, "--format", "json")[1])
    page = render(page_path, png=tmp_path / "report.png")  # fails if anything was requested
    assert page.title == "tiered-review report"
    charts: dict[str, list[Mark]] = {}
    for mark in page.marks:
        charts.setdefault(mark.chart, []).append(mark)
    over_time = f"{CHART_COST_OVER_TIME} (per {doc['timeline']['period']})"
    assert set(charts) == {over_time, CHART_CACHE, CHART_TIER_MIX, CHART_BASELINES}
    expected = {
        over_time: [
            (task, label, value)
            for task, values in doc["timeline"]["cost_usd_by_task"].items()
            for label, value in zip(doc["timeline"]["labels"], values, strict=True)
        ],
        CHART_CACHE: [
            ("hit rate", p, round(100 * r, 2))
            for p, r in doc["totals"]["cache_hit_rate_by_provider"].items()
        ],
        CHART_TIER_MIX: [
            (series, m["tier"], m[key])
            for series, key in (("% of requests", "requests_pct"), ("% of cost", "cost_pct"))
            for m in doc["tier_mix"]
        ],
        CHART_BASELINES: [
            ("cost", "routed", doc["totals"]["cost_usd"]),
            ("cost", "all-middle", doc["totals"]["all_middle_usd"]),
            ("cost", "all-frontier", doc["totals"]["all_frontier_usd"]),
        ],
    }
    for title, marks in charts.items():
        drawn = sorted((m.series, m.label, m.value) for m in marks)
        assert drawn == sorted(expected[title]), title
        assert all(m.tag == "rect" for m in marks)
        # Heights proportional to the values: one pixels-per-unit scale for the whole chart.
        tallest = max(marks, key=lambda m: m.value)
        scale = tallest.height / tallest.value
        for m in marks:
            assert m.height == pytest.approx(m.value * scale, abs=0.6), (title, m)
    base = page.baselines[CHART_CACHE]
    bar = next(m for m in charts[CHART_CACHE] if m.label == "openai")
    scale = bar.height / bar.value
    assert base - page.thresholds[CHART_CACHE] == pytest.approx(40 * scale, abs=0.6)
    assert bar.y > page.thresholds[CHART_CACHE]  # openai's 20% bar stays under the 40% line
    # The stacked day 4: review on the bottom, cross-cutting on top of it.
    day4 = [m for m in charts[over_time] if m.label == "2026-11-04" and m.value > 0]
    low, high = sorted(day4, key=lambda m: -m.y)
    assert (low.series, high.series) == ("review", "cross_cutting")
    assert high.y + high.height == pytest.approx(low.y, abs=0.6)


def test_unreadable_databases_get_a_clear_error_and_are_left_alone(tmp_path: Path) -> None:
    old = tmp_path / "old.db"
    engine = make_engine(database_url(str(old), tmp_path))
    try:
        with write_transaction(engine) as conn:
            config = alembic_config()
            config.attributes["connection"] = conn
            command.upgrade(config, "0001")  # the queue only, before the ledger
    finally:
        engine.dispose()
    before = old.read_bytes()
    done = run("report", "--db", str(old), cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "schema revision 0001 predates the ledger (revision 0002)" in done.stderr
    assert old.read_bytes() == before  # not migrated
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(LedgerError, match="junk.db: cannot read the ledger: file is not a"):
        read_ledgers([str(junk)])
    with pytest.raises(LedgerError, match="missing.db: no such database file"):
        read_ledgers([str(tmp_path / "missing.db")])
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    with pytest.raises(LedgerError, match="not a tiered-review database"):
        read_ledgers([str(empty)])


def test_reads_a_live_wal_and_a_newer_revision(tmp_path: Path) -> None:
    path = tmp_path / "live.db"
    writer = open_database(str(path))
    try:
        context = ReviewContext("review", "o/r", "o/r", 1)
        record_review(writer, R4, context, now=T0)
        with writer.connect():  # a writer still holds the database: the review is in its WAL
            assert Path(f"{path}-wal").stat().st_size > 0
            ledger = read_ledgers([str(path)])
            assert [r.cost_usd for r in ledger.reviews] == [0.5]
    finally:
        writer.dispose()
    copy = tmp_path / "future.db"
    shutil.copyfile(path, copy)
    raw = sqlite3.connect(copy)
    with raw:  # a revision this version has never heard of
        raw.execute("UPDATE alembic_version SET version_num = '0999_future'")
    raw.close()
    assert len(read_ledgers([str(copy)]).reviews) == 1


def test_report_agrees_with_a_real_review(
    tmp_path: Path, counter: object, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.fakes import anthropic_fake, openai_fake
    from tests.review.test_engine import reviewer

    config = tmp_path / "openai-small.yml"
    # One chunk a request: several requests per model, so both providers have cache reads.
    config.write_text(
        'tiers:\n  small: {model: "openai:gpt-5.6-luna"}\nrequests:\n  max_chunks: 1\n'
    )
    db = tmp_path / "ledger.db"
    with (
        anthropic_fake(responder=reviewer) as (a_url, _a),
        openai_fake(responder=reviewer) as (o_url, _o),
    ):
        env = {
            "ANTHROPIC_API_KEY": "k",
            "ANTHROPIC_BASE_URL": a_url,
            "OPENAI_API_KEY": "k",
            "OPENAI_BASE_URL": o_url + "/v1",
            "TIERED_REVIEW_LLM_MAX_RETRIES": "0",
            "TIERED_REVIEW_DB": str(db),
        }
        args = ["--diff", str(EXAMPLE_DIFF), "--config", str(config), "--format", "json"]
        done = run("review", *args, "--repo", "o/r", env=env, cwd=tmp_path)
    # The scripted model anchors one finding at line 0 of a deleted file's chunk: that finding is
    # left out (and counted), the rest of the answer is kept, so no request fails (exit 0).
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert [r["status"] for r in doc["requests"]].count("failed") == 0
    dropped = [d for r in doc["requests"] for d in r["dropped"]]
    assert dropped == ["finding 1: line: Input should be greater than or equal to 1"]
    review = doc["totals"]
    totals = json.loads(report(capsys, "--db", str(db), "--format", "json")[1])["totals"]
    assert set(review["cache_hit_rate_by_provider"]) == {"anthropic", "openai"}
    assert totals["cache_hit_rate_by_provider"] == review["cache_hit_rate_by_provider"]
    assert totals["cache_hit_rate"] == review["cache_hit_rate"]
    for key in ("cost_usd", "all_frontier_usd", "all_middle_usd"):
        assert totals[key] == pytest.approx(review[key], abs=1e-6)
    assert totals["savings_pct"] == pytest.approx(review["savings_pct"], abs=0.01)
