"""The fuzzers' quick subset (nothing unhandled on any target) and the bugs they found.

`bench/fuzz.py` runs the same targets with 1,000+ cases each; this runs a fixed-seed subset so
that a regression in any trust boundary fails the suite. Each bug the fuzzers found has its own
test below, with the smallest input that showed it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.errors import DiffError, OutputError, TieredReviewError, WebhookError
from app.gh.webhooks import parse_json
from app.plan.config import ConfigError, parse_repo_config
from app.plan.diff import decode_diff, parse_diff
from app.plan.globs import compile_globs
from app.resources import load_config
from app.review.findings import parse_output
from tests.conftest import InputsFactory
from tests.fuzz.oracle import MAX_MESSAGE, Report, Target, check, explore
from tests.fuzz.payloads import HOOKS, Delivery, sign
from tests.fuzz.targets import NAMES, targets

CASES = 60  # per target: about 10 s in all on two cores


@pytest.fixture(scope="module")
def fuzz_targets(counter: object) -> Iterator[dict[str, Target]]:
    with targets() as chosen:
        yield chosen


def _describe(report: Report) -> str:
    lines = [f"{report.unhandled} of {report.cases} cases unhandled:"]
    for failure, example, hits in report.found.values():
        lines.append(f"  {hits} x {failure}\n    example: {example!r:.400}")
    return "\n".join(lines)


@pytest.mark.parametrize("name", NAMES)
def test_quick_fuzz_leaves_nothing_unhandled(fuzz_targets: dict[str, Target], name: str) -> None:
    report = explore(fuzz_targets[name], CASES, run_seed=0, limit_s=5.0)
    assert report.cases >= CASES * 0.9  # hypothesis skips the odd duplicate, no more
    assert report.results > 0  # the inputs reach a valid result, not only our errors
    assert report.unhandled == 0, _describe(report)


# --- the oracle itself -----------------------------------------------------------------------


def _raising(exc: BaseException) -> Target:
    def run(_: object) -> None:
        raise exc

    return Target("t", None, run)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (KeyError("x"), "KeyError"),
        (RecursionError(), "RecursionError"),
        (TieredReviewError(""), "bad message: empty"),
        (TieredReviewError("x" * (MAX_MESSAGE + 1)), "bad message: 2001-character"),
        (ConfigError("Traceback (most recent call last):\n  boom"), "bad message: raw dump"),
        (OutputError("1 validation error for ReviewOut"), "bad message: raw dump"),
    ],
)
def test_oracle_counts_foreign_errors_and_raw_messages_as_unhandled(
    exc: BaseException, kind: str
) -> None:
    failure = check(_raising(exc), None)
    assert failure is not None and kind in failure.kind


def test_oracle_accepts_our_errors_with_a_readable_message() -> None:
    assert check(_raising(ConfigError("x.yml: comments.max_inline: must be >= 0")), None) is None


def test_oracle_stops_a_hang() -> None:
    started = time.monotonic()
    failure = check(Target("t", None, lambda _: time.sleep(30)), None, limit_s=0.2)  # type: ignore[arg-type]
    assert failure is not None and failure.kind == "Hang"
    assert time.monotonic() - started < 5


# --- diffs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quoted", "path"),
    [
        ('"a/ci.yml\\1x\\q"', "ci.yml1xq"),  # was ValueError: invalid literal for int() base 8
        ('"a/api/\\é.py"', "api/é.py"),  # was ValueError: byte must be in range(0, 256)
        ('"a/\\303\\251.txt"', "é.txt"),  # git's own quoting still decodes
    ],
)
def test_badly_quoted_paths_parse(quoted: str, path: str) -> None:
    text = f"diff --git {quoted} {quoted.replace('a/', 'b/')}\nold mode 100644\nnew mode 100755\n"
    (file,) = parse_diff(text)
    assert file.path == path


def test_a_huge_bad_line_gives_a_short_message() -> None:
    text = "--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n a\n" + "\t" * 20_000 + "\n"
    with pytest.raises(DiffError) as caught:
        parse_diff(text)
    assert len(str(caught.value)) < 400 and "x" in str(caught.value)


def test_a_path_that_is_not_utf8_is_shown_as_text_and_the_plan_is_sendable(
    make_inputs: InputsFactory,
) -> None:
    raw = (
        b"diff --git a/caf\xe9.py b/caf\xe9.py\n--- a/caf\xe9.py\n+++ b/caf\xe9.py\n"
        b"@@ -1 +1 @@\n-a = 1\n+a = 2\n"
        b"diff --git a/ok.py b/ok.py\n--- a/ok.py\n+++ b/ok.py\n@@ -1 +1 @@\n-b = 1\n+b = 2\n"
    )
    from app.plan.planner import build_plan

    plan = build_plan(decode_diff(raw), make_inputs())
    bad = next(c for c in plan.chunks if c.path.startswith("caf"))
    assert bad.path == "caf\ufffd.py" and bad.skipped == "encoding"
    for planned in plan.requests:  # the summary lists every file: it was not UTF-8-encodable
        r = planned.request
        (r.system + r.instructions + r.user).encode("utf-8")


# --- webhooks --------------------------------------------------------------------------------


def test_a_lone_surrogate_escape_is_malformed_json() -> None:
    with pytest.raises(WebhookError, match="unpaired"):
        parse_json(b'{"action": "x\\ud800y"}')
    assert parse_json(b'{"action": "\\ud83d\\ude00"}')["action"] == "\U0001f600"  # a pair is fine


def test_the_app_answers_400_not_500_to_a_lone_surrogate(
    fuzz_targets: dict[str, Target],
) -> None:
    payload = json.loads((HOOKS / "pull_request.opened.json").read_bytes())
    payload["action"] = "x\ud800y"
    body = json.dumps(payload).encode()
    delivery = Delivery("pull_request.opened.json", (), "pull_request", body, sign(body), True)
    assert fuzz_targets["webhook_app"].run(delivery) == 400  # was a 500 (UnicodeEncodeError)


# --- repository config -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rules: &r [*r]\n", "recursive alias"),  # was RecursionError
        (  # was a hang: the key walk and the merge visit every expanded value
            "a0: &a0 [x]\n"
            + "".join(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 12))
            + "instructions: *a11\n",
            "alias bomb",
        ),
        ("instructions: " + "[" * 2000 + "]" * 2000 + "\n", "nested too deeply"),  # RecursionError
        ("as_of: 2026-13-45\n", "month must be in 1..12"),  # was ValueError from PyYAML
        ('instructions: "\\ud800"\n', "lone surrogate"),  # was UnicodeEncodeError in the plan
    ],
)
def test_hostile_yaml_is_a_config_error(text: str, message: str) -> None:
    started = time.monotonic()
    with pytest.raises(ConfigError, match=message):
        parse_repo_config(text, "r.yml")
    # A guard against hangs (the alias bomb took minutes), not a speed goal: loose enough for a
    # loaded 2-core machine, where the 2,000-deep list alone took 2.5 s.
    assert time.monotonic() - started < 10


def test_a_config_file_that_is_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "c.yml"
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(ConfigError, match="not UTF-8"):  # was UnicodeDecodeError
        load_config(path)


@pytest.mark.parametrize(
    ("override", "where"),
    [
        ({"paths": {"exclude": ["a[b-a]c"]}}, "paths.exclude"),
        (
            {"paths": {"instructions": [{"path": "[z-a]", "text": "t"}]}},
            "paths.instructions.0.path",
        ),
        ({"difficulty": {"globs": {"migration": ["a[b-a]c"]}}}, "difficulty.globs.migration"),
    ],
)
def test_a_bad_glob_is_a_config_error_naming_the_key(
    make_inputs: InputsFactory, override: dict[str, object], where: str
) -> None:
    with pytest.raises(ConfigError, match=f"{where}: .*bad glob"):  # was re.error in the plan
        make_inputs(override)


def test_globs_match_in_linear_time() -> None:
    globs = compile_globs(["*" * 25 + "x", "*a" * 12 + "x"])  # took minutes on Python's re
    started = time.monotonic()
    assert not globs.match("a" * 300)
    assert globs.match("a" * 30 + "x")
    assert time.monotonic() - started < 0.5


def test_a_long_bad_value_gives_a_short_message(make_inputs: InputsFactory) -> None:
    with pytest.raises(ConfigError) as caught:
        make_inputs({"tiers": {"middle": {"alternate": "long " * 20_000}}})
    assert "tiers.middle.alternate" in str(caught.value)
    assert len(str(caught.value)) < MAX_MESSAGE  # it quoted all 100,000 characters


# --- model output ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"findings": [{"line": 1' + "0" * 5000 + "}]}", "too many digits"),  # was ValueError
        ('{"findings": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"),  # Recursion
    ],
)
def test_hostile_json_is_an_output_error(text: str, reason: str) -> None:
    with pytest.raises(OutputError, match=reason):
        parse_output(text)
