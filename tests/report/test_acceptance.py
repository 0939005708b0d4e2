"""`report` on a ledger with developer feedback: acceptance per tier and category, JSON and HTML."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from app.store.conversation import FindingRoute, PullKey, record_feedback
from app.store.db import open_database
from app.store.ledger import ReviewContext, record_review
from tests.report.test_report import R1, T0, report

PULL = PullKey("acme", "acme/api", 7)
# (fingerprint, signal, tier, category): small has 2 accepted and 1 rejected bug findings and a
# rejected style one; frontier has one accepted design finding.
SIGNALS = (
    ("f1", "thumbs_up", "small", "bug"),
    ("f2", "resolved_after_change", "small", "bug"),
    ("f3", "thumbs_down", "small", "bug"),
    ("f4", "dismissed", "small", "style"),
    ("f5", "thumbs_up", "frontier", "design"),
)


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    path = tmp_path / "ledger.db"
    engine = open_database(str(path))
    try:
        record_review(engine, R1, ReviewContext("serve", "acme", "acme/api", 7, "abc"), now=T0)
        for fingerprint, signal, tier, category in SIGNALS:
            route = FindingRoute(fingerprint, tier, "routine", category)
            assert record_feedback(engine, PULL, route, signal, now=T0 + 60)
        # The same signal on the same finding again (a second sweep) is not counted twice.
        again = FindingRoute("f1", "small", "routine", "bug")
        assert not record_feedback(engine, PULL, again, "thumbs_up", now=T0 + 120)
    finally:
        engine.dispose()
    return path


def test_acceptance_per_tier_and_category_in_json(
    ledger: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = json.loads(report(capsys, "--db", str(ledger), "--format", "json")[1])
    rows = [
        (a["tier"], a["category"], a["accepted"], a["rejected"], a["rate"])
        for a in doc["acceptance"]
    ]
    assert rows == [
        ("small", "all", 2, 2, 0.5),
        ("small", "bug", 2, 1, 0.6667),
        ("small", "style", 0, 1, 0.0),
        ("frontier", "all", 1, 0, 1.0),
        ("frontier", "design", 1, 0, 1.0),
    ]
    # Beside the cost: the tiers with acceptance are the ones the ledger priced.
    assert {t["tier"] for t in doc["by_tier"]} >= {"small", "frontier"}


def test_acceptance_table_in_html(ledger: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = report(capsys, "--db", str(ledger), "--format", "html")[1]
    assert "<h2>Acceptance by tier and category</h2>" in page
    table = page.split("<h2>Acceptance by tier and category</h2>", 1)[1]
    cells = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", table.split("</table>", 1)[0])
    assert cells[:6] == ["tier", "category", "accepted", "rejected", "acceptance", "tier cost $"]
    assert cells[6:11] == ["small", "all", "2", "2", "50.0%"]
    assert ["small", "bug", "2", "1", "66.7%"] == cells[12:17]
    assert float(cells[11]) == pytest.approx(0.03)  # small's cost in R1: 0.01 + 0.02


def test_a_ledger_without_feedback_has_no_acceptance(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "plain.db"
    engine = open_database(str(path))
    try:
        record_review(engine, R1, ReviewContext("serve", "acme", "acme/api", 7, "abc"), now=T0)
    finally:
        engine.dispose()
    doc = json.loads(report(capsys, "--db", str(path), "--format", "json")[1])
    assert doc["acceptance"] == []
    assert "Acceptance by tier" not in report(capsys, "--db", str(path), "--format", "html")[1]
