"""The forecast's HTML page in headless Chromium: what is drawn matches the JSON forecast."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from app.forecast.output import COST_PER_MONTH, TIER_MIX
from tests.browser import render
from tests.history_repo import build_history


def test_rendered_charts_match_the_json(tmp_path: Path, counter: object) -> None:
    repo = tmp_path / "repo"
    build_history(repo)
    page, data = tmp_path / "forecast.html", tmp_path / "forecast.json"
    for fmt, out in (("html", page), ("json", data)):  # the real entry point, in process
        assert main(["forecast", "--repo", str(repo), "--format", fmt, "--output", str(out)]) == 0
    doc = json.loads(data.read_text())
    assert "<script" not in page.read_text()
    drawn = render(page, tmp_path / "forecast.png")  # fails if the page requests anything
    assert drawn.title.startswith("tiered-review forecast")

    # Tier mix: one bar per (tier, measure); value = the tier's share of the JSON totals.
    tiers = doc["by_tier"]
    measures = {
        "requests %": {t: u["requests"] for t, u in tiers.items()},
        "input tokens %": {t: u["input_tokens"] for t, u in tiers.items()},
        "cost %": {t: u["est_cost_usd"] for t, u in tiers.items()},
    }
    bars = [m for m in drawn.marks if m.chart == TIER_MIX]
    assert all(m.tag == "rect" for m in bars)
    assert len(bars) == len(tiers) * len(measures)
    assert (
        [m.label for m in bars][:: len(measures)] == list(tiers) == ["small", "middle", "frontier"]
    )
    for m in bars:
        whole = sum(measures[m.series].values())
        assert m.value == pytest.approx(100 * measures[m.series][m.label] / whole, abs=0.01)
    tallest = max(bars, key=lambda m: m.height)
    for m in bars:
        assert m.height / tallest.height * tallest.value == pytest.approx(
            m.value, abs=tallest.value / tallest.height
        ), m  # within a pixel
        assert m.y + m.height == pytest.approx(drawn.baselines[TIER_MIX], abs=1.0)

    # Cost per month: one point per (series, month), height above the baseline ~ value.
    points = [m for m in drawn.marks if m.chart == COST_PER_MONTH]
    months = doc["by_month"]
    assert len(points) == 3 * len(months) == 12
    keys = {
        "routed": "est_cost_usd",
        "all-frontier": "all_frontier_usd",
        "all-middle": "all_middle_usd",
    }
    for m in points:
        row = next(r for r in months if r["month"] == m.label)
        assert m.value == pytest.approx(row[keys[m.series]], abs=1e-6)
    base = drawn.baselines[COST_PER_MONTH]
    top = max(points, key=lambda m: m.value)
    for m in points:
        assert (base - m.cy) / (base - top.cy) * top.value == pytest.approx(
            m.value, abs=top.value / (base - top.cy)
        ), m
    march = [m for m in points if m.label == "2026-03"]
    assert [m.value for m in march] == [0.0, 0.0, 0.0] and all(
        m.cy == pytest.approx(base, abs=0.5) for m in march
    )
