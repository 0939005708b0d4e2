"""`calibrate --feedback DB`: feedback in a real migrated ledger, read as routing labels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from app.store.conversation import FindingRoute, PullKey, record_feedback
from app.store.db import open_database

T0 = 1_780_000_000.0
# (repository, pr, fingerprint, signal, tier, difficulty, category)
SIGNALS = (
    # Under-routed: cheap tiers dismissed on hard chunks.
    ("acme/api", 7, "u1", "thumbs_down", "small", "architectural", "design"),
    ("acme/api", 7, "u2", "dismissed", "middle", "substantive", "bug"),
    # Over-routed: a frontier finding dismissed on a routine chunk.
    ("acme/api", 7, "o1", "dismissed", "frontier", "routine", "style"),
    # Neither: accepted, or rejected on a matching route, or a signal that judges nothing.
    ("acme/api", 7, "a1", "thumbs_up", "small", "architectural", "design"),
    ("acme/api", 7, "a2", "thumbs_down", "small", "routine", "style"),
    ("acme/web", 3, "a3", "resolved_after_change", "frontier", "architectural", "design"),
    ("acme/web", 3, "a4", "thumbs_down", "frontier", "architectural", "design"),
)


def _ledger(path: Path, signals: tuple[tuple[str, int, str, str, str, str, str], ...]) -> Path:
    engine = open_database(str(path))
    try:
        for repo, pr, fingerprint, signal, tier, difficulty, category in signals:
            route = FindingRoute(fingerprint, tier, difficulty, category)
            pull = PullKey(repo.split("/")[0], repo, pr)
            assert record_feedback(engine, pull, route, signal, now=T0)
    finally:
        engine.dispose()
    return path


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    assert main(["calibrate", *args, "--format", "json"]) == 0
    doc: dict[str, object] = json.loads(capsys.readouterr().out)
    return doc


def test_feedback_counts_per_route_and_the_evidence_both_ways(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Two ledgers: the second repeats one signal (counted once) and adds one.
    first = _ledger(tmp_path / "a.db", SIGNALS)
    extra = ("acme/web", 3, "u3", "dismissed", "small", "substantive", "bug")
    second = _ledger(tmp_path / "b.db", (SIGNALS[0], extra))
    doc = _json(capsys, "--feedback", str(first), "--feedback", str(second))
    assert doc["schema"] == "tiered-review/calibrate@1"
    fb = doc["feedback"]
    assert isinstance(fb, dict)
    assert fb["signals"] == 8
    rows = {
        (a["tier"], a["difficulty"], a["category"]): (a["accepted"], a["rejected"], a["rate"])
        for a in fb["acceptance"]
    }
    assert rows[("small", "architectural", "all")] == (1, 1, 0.5)
    assert rows[("small", "substantive", "bug")] == (0, 1, 0.0)
    assert rows[("small", "routine", "all")] == (0, 1, 0.0)
    assert rows[("middle", "substantive", "all")] == (0, 1, 0.0)
    assert rows[("frontier", "architectural", "design")] == (1, 1, 0.5)
    assert rows[("frontier", "routine", "style")] == (0, 1, 0.0)
    # Ordered small, middle, frontier; within a tier by difficulty, `all` first.
    order = [(a["tier"], a["difficulty"]) for a in fb["acceptance"] if a["category"] == "all"]
    assert order == [
        ("small", "routine"),
        ("small", "substantive"),
        ("small", "architectural"),
        ("middle", "substantive"),
        ("frontier", "routine"),
        ("frontier", "architectural"),
    ]
    under = {(e["fingerprint"], e["tier"], e["difficulty"]) for e in fb["under_routed"]}
    assert under == {
        ("u1", "small", "architectural"),
        ("u2", "middle", "substantive"),
        ("u3", "small", "substantive"),
    }
    over = [(e["repository"], e["pr"], e["fingerprint"]) for e in fb["over_routed"]]
    assert over == [("acme/api", 7, "o1")]


def test_feedback_beside_the_corpus_extends_its_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.calibrate.test_calibrate import _corpus

    ledger = _ledger(tmp_path / "a.db", SIGNALS)
    args = ("--corpus", str(_corpus(tmp_path)), "--part", "all", "--model", "facts")
    doc = _json(capsys, *args, "--feedback", str(ledger))
    assert doc["part"] == "all" and "facts" in doc  # the corpus figures are still there
    fb = doc["feedback"]
    assert isinstance(fb, dict) and len(fb["under_routed"]) == 2


def test_feedback_table_lists_the_evidence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger = _ledger(tmp_path / "a.db", SIGNALS)
    assert main(["calibrate", "--feedback", str(ledger)]) == 0
    out = capsys.readouterr().out
    assert "under-routed evidence: 2" in out and "over-routed evidence: 1" in out
    assert (
        "acme/api#7 u1: small finding (design) thumbs_down on a chunk labelled architectural" in out
    )


def test_calibrate_needs_a_corpus_or_feedback(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calibrate"]) == 2
    assert "--corpus FILE, --feedback DB, or both" in capsys.readouterr().err


def test_a_missing_feedback_ledger_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["calibrate", "--feedback", str(tmp_path / "nope.db")]) == 2
    assert "nope.db" in capsys.readouterr().err
