"""Calibration: the corpus format, the figures, the fit, and the command end to end."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import pytest
import yaml

from app.calibrate.core import (
    RUBRIC_ARCHITECTURAL,
    ChunkFacts,
    CorpusError,
    CorpusRow,
    Outcome,
    Prices,
    PrWide,
    figures,
    fit,
    loss,
    parse_corpus,
)
from app.cli import main
from app.plan.config import Difficulty
from app.plan.facts.model import Params
from app.plan.model_config import DifficultyModel
from tests.history_repo import commit, git
from tests.local.test_blobs import SIGNATURE
from tests.plan.facts.helpers import file_diff
from tests.plan.facts.test_files import POOL

HEADER = "repo\tbase\thead\tlabel\treason\n"


def _sha(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def test_the_corpus_format_is_checked_line_by_line() -> None:
    good = HEADER + f"acme/app\t{_sha('a')}\t{_sha('b')}\troutine\ttests only\n"
    (row,) = parse_corpus(good, "c.tsv")
    assert row.label is Difficulty.ROUTINE and row.diff_name.startswith("diffs/acme__app/")
    with pytest.raises(CorpusError, match="line 1 must be the header"):
        parse_corpus("repo\tlabel\n", "c.tsv")
    with pytest.raises(CorpusError, match=r"c.tsv:2: label 'hard'"):
        parse_corpus(HEADER + f"acme/app\t{_sha('a')}\t{_sha('b')}\thard\tx\n", "c.tsv")
    with pytest.raises(CorpusError, match=r"c.tsv:3: head is not a 40-hex commit"):
        parse_corpus(good + f"acme/app\t{_sha('a')}\tabc\ttrivial\tx\n", "c.tsv")


def test_the_held_back_part_is_a_deterministic_third() -> None:
    rows = [
        CorpusRow("a/b", _sha(str(i)), _sha(f"h{i}"), Difficulty.TRIVIAL, "") for i in range(600)
    ]
    held = [r for r in rows if r.held_back]
    assert 150 < len(held) < 250
    assert held == [r for r in rows if r.held_back]  # the same rows every time


def _outcome(label: Difficulty, predicted: Difficulty, frontier: bool, routed: float) -> Outcome:
    row = CorpusRow("a/b", _sha("x"), _sha(f"{label}{predicted}{frontier}{routed}"), label, "")
    return Outcome(row, predicted, frontier, routed, 1.0, 0.5, frozenset({"security.tls"}))


def test_figures_count_what_the_issue_asks() -> None:
    outcomes = [
        _outcome(Difficulty.ARCHITECTURAL, Difficulty.ARCHITECTURAL, True, 0.9),
        _outcome(Difficulty.ARCHITECTURAL, Difficulty.ROUTINE, False, 0.1),
        _outcome(Difficulty.TRIVIAL, Difficulty.TRIVIAL, False, 0.1),
        _outcome(Difficulty.ROUTINE, Difficulty.ARCHITECTURAL, True, 0.5),
    ]
    f = figures(outcomes, {"security.tls": Difficulty.ARCHITECTURAL})
    assert f.architectural_recall == 0.5
    assert f.low_with_frontier == 0.5
    assert f.routed_over_frontier == pytest.approx(1.6 / 4)
    assert f.routed_over_middle == pytest.approx(1.6 / 2)
    assert f.confusion["routine"]["architectural"] == 1
    (tls,) = f.signals
    assert tls.fired == 4 and tls.precision == 0.5


def test_the_fit_lowers_a_noisy_fact_but_not_below_the_rubric() -> None:
    def pr(i: int, label: Difficulty, signals: tuple[str, ...]) -> Outcome:
        row = CorpusRow("a/b", _sha(str(i)), _sha(f"h{i}"), label, "")
        chunk = ChunkFacts(signals, 10, 1000, f"pkg{i}", True)
        return Outcome(row, label, False, 0, 0, 0, frozenset(signals), (chunk,))

    outcomes = [pr(i, Difficulty.ROUTINE, ("resilience.handling", "size.small")) for i in range(6)]
    outcomes += [pr(10 + i, Difficulty.ROUTINE, ("security.tls", "size.small")) for i in range(6)]
    start = Params({"resilience.handling": 3.0, "security.tls": 3.0, "size.small": 1.0}, 0, 0, 60)
    prices = Prices(0.1, 2.0, 10.0)
    wide = PrWide(4, 30)
    fitted, before, after = fit(outcomes, start, start.weights, prices, wide)
    assert after < before == loss(outcomes, start, prices, wide)
    assert fitted.weights["resilience.handling"] < 2.5
    assert "security.tls" in RUBRIC_ARCHITECTURAL and fitted.weights["security.tls"] >= 2.5


def _module(black: bool) -> str:
    body = []
    for n in range(30):
        if black:
            body.append(f'\n\ndef f{n}(\n    a,\n    b=1,\n):\n    return {{"k": a}}\n')
        else:
            body.append(f"\ndef f{n}(a,b=1):\n    return {{'k':a}}\n")
    return "".join(body)


def _corpus(tmp_path: Path) -> Path:
    signature_old = (
        "def connect(\n    host,\n    port=80,\n):\n    return open_socket(host, port)\n"
    )
    rows = {
        "trivial": file_diff("lib/util.py", _module(False), _module(True)),
        "architectural": file_diff(
            "lib/net.py",
            signature_old,
            signature_old.replace("    port=80,\n", "    port=80,\n    *,\n    tls=None,\n"),
        ),
        "routine": file_diff(
            "tests/test_net.py", "def test_a():\n    assert 1\n", "def test_a():\n    assert 2\n"
        ),
    }
    lines = [HEADER.rstrip("\n")]
    for label, diff in rows.items():
        head = _sha(label)
        folder = tmp_path / "diffs" / "acme__app"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{head}.diff.gz").write_bytes(gzip.compress(diff.encode()))
        lines.append(f"acme/app\t{_sha('base' + label)}\t{head}\t{label}\ta {label} change")
    corpus = tmp_path / "corpus.tsv"
    corpus.write_text("\n".join(lines) + "\n")
    return corpus


def test_calibrate_prints_before_and_after_as_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = _corpus(tmp_path)
    assert main(["calibrate", "--corpus", str(corpus), "--part", "all", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema"] == "tiered-review/calibrate@1" and doc["fit"] is None
    after = doc["facts"]
    assert after["prs"] == 3
    assert after["architectural_recall"] == 1.0 and after["low_with_frontier"] == 0.0
    assert after["confusion"]["trivial"]["trivial"] == 1
    assert doc["legacy"]["prs"] == 3  # before, on the same PRs
    assert {"signal": "mechanical.format_only", "fired": 1, "precision": 1.0} in after["signals"]


def test_calibrate_fit_writes_a_model_that_loads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = _corpus(tmp_path)
    source = Path(__file__).parents[2] / "app" / "data" / "difficulty-model.yaml"
    target = tmp_path / "model.yaml"
    target.write_text(source.read_text())
    args = ["calibrate", "--corpus", str(corpus), "--fit", "--output", str(target), "--part", "all"]
    assert main([*args, "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    held = sum(
        CorpusRow("a/b", "0" * 40, _sha(x), Difficulty.TRIVIAL, "").held_back
        for x in ("trivial", "architectural", "routine")
    )
    assert doc["fit"]["fitted_prs"] == 3 - held
    written = yaml.safe_load(target.read_text())
    assert "corpus.tsv" in written["fitted_on"]
    assert target.read_text().startswith("# The difficulty model")
    DifficultyModel.model_validate(written)


def test_calibrate_fit_writes_a_new_model_file_from_the_packaged_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = _corpus(tmp_path)
    target = tmp_path / "new" / "model.yaml"
    target.parent.mkdir()
    args = ["calibrate", "--corpus", str(corpus), "--fit", "--output", str(target)]
    assert main([*args, "--part", "all", "--format", "json"]) == 0
    capsys.readouterr()
    written = yaml.safe_load(target.read_text())
    assert written["apis"] and written["kind"] == "facts"
    DifficultyModel.model_validate(written)


def test_a_missing_diff_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = _corpus(tmp_path)
    next((tmp_path / "diffs" / "acme__app").iterdir()).unlink()
    assert main(["calibrate", "--corpus", str(corpus)]) == 2
    assert "cannot read the diff" in capsys.readouterr().err


def test_calibrate_with_repos_plans_with_the_whole_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A signature whose header the hunk cuts off is found only from the whole files."""
    work = tmp_path / "work"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    base = commit(work, "pool", "2026-03-01T12:00:00+00:00", {"src/pool.py": POOL})
    head = commit(work, "tls", "2026-03-02T12:00:00+00:00", {"src/pool.py": SIGNATURE})
    repos = tmp_path / "repos"
    git(tmp_path, "clone", "-q", "--bare", str(work), str(repos / "acme+app"))
    diff = git(work, "diff", base, head) + "\n"
    folder = tmp_path / "corpus" / "diffs" / "acme__app"
    folder.mkdir(parents=True)
    (folder / f"{head}.diff.gz").write_bytes(gzip.compress(diff.encode()))
    corpus = tmp_path / "corpus" / "corpus.tsv"
    corpus.write_text(HEADER + f"acme/app\t{base}\t{head}\tarchitectural\tnew TLS parameter\n")
    args = ["calibrate", "--corpus", str(corpus), "--part", "all", "--model", "facts"]

    def fired(*extra: str) -> set[str]:
        assert main([*args, *extra, "--format", "json"]) == 0
        return {s["signal"] for s in json.loads(capsys.readouterr().out)["facts"]["signals"]}

    assert "surface.signature" not in fired()
    assert "surface.signature" in fired("--repos", str(repos))
    assert "surface.signature" not in fired("--repos", str(tmp_path / "corpus"))  # no git dir
    assert main([*args, "--repos", str(tmp_path / "nowhere")]) == 2
    assert "--repos needs a folder" in capsys.readouterr().err
