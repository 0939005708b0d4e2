"""Whole files for the facts: the real PyGithub client against the fake GitHub, a real cache."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from app.errors import ConfigError
from app.gh.client import GitHubClient, PullInfo
from app.plan.config import Config, Mode, build_config
from app.plan.diff import diff_from_patches, parse_diff
from app.plan.tokens import TokenCounter
from app.resources import default_config_data, load_catalog, load_prompts
from app.review.pull_request import PullRef, Toolkit, plan_pull_request
from app.review.whole_files import Wanted, WholeFiles, whole_file_targets
from app.store.blobs import BlobStore
from app.store.db import make_engine, migrate

OWNER, REPO, NUMBER = "acme", "api", 3
BASE, MERGE_BASE, HEAD = "b" * 40, "a" * 40, "1" * 40
SECRET = "sk-live-do-not-log"  # in a fetched file: it must never reach a log line

CORE_OLD = "def area(w):\n    return w * w\n\n\nTOKEN = 'x'\n"
CORE_NEW = "def area(w, h):\n    return w * h\n\n\nTOKEN = 'x'\n"
UTIL_OLD = "import os\n\n\ndef home():\n    return os.environ['HOME']\n"
UTIL_NEW = "import os\n\n\ndef home():\n    return os.environ.get('HOME', '/')\n"
NEW_MOD = f"KEY = '{SECRET}'\n"
GONE = "def legacy():\n    pass\n"


def patch(old: str, new: str) -> str:
    """A one-hunk patch replacing all of `old` by all of `new` (GitHub's per-file form)."""
    olds, news = old.splitlines(), new.splitlines()
    body = [f"-{line}" for line in olds] + [f"+{line}" for line in news]
    return f"@@ -{1 if olds else 0},{len(olds)} +{1 if news else 0},{len(news)} @@\n" + "\n".join(
        body
    )


FILES: list[dict[str, Any]] = [
    {"filename": "src/core.py", "status": "modified", "patch": patch(CORE_OLD, CORE_NEW)},
    {"filename": "src/util.py", "status": "modified", "patch": patch(UTIL_OLD, UTIL_NEW)},
    {"filename": "src/new.py", "status": "added", "patch": patch("", NEW_MOD)},
    {"filename": "src/gone.py", "status": "removed", "patch": patch(GONE, "")},
    {"filename": "README.md", "status": "modified", "patch": patch("a\n", "b\n")},
    {"filename": "proto/api_pb2.py", "status": "modified", "patch": patch("x = 1\n", "x = 2\n")},
    {"filename": "secret/keys.py", "status": "modified", "patch": patch("k = 1\n", "k = 2\n")},
    {"filename": "logo.png", "status": "modified"},
]


@dataclass
class Scene:
    gh: Any  # FakeGitHub
    client: GitHubClient
    url: str

    def info(self) -> PullInfo:
        return self.client.pull(OWNER, REPO, NUMBER)

    def fetch(self, config: Config, cache: BlobStore | None = None) -> WholeFiles:
        """One review's whole files, as `_plan` reads them."""
        info = self.info()
        whole = WholeFiles(self.client, info, config, cache)
        whole.fetch(whole_file_targets(parse_diff(diff_from_patches(info.files)[0]), config))
        return whole

    def reads(self) -> list[str]:
        """The contents and compare requests so far, as `KIND path@ref`."""
        out = []
        for r in self.gh.requests:
            if "/contents/" in r.path:
                out.append(f"contents {r.path.split('/contents/', 1)[1]}@{r.query.get('ref')}")
            elif "/compare/" in r.path:
                out.append("compare")
        return out


def config(**whole_files: Any) -> Config:
    repo: dict[str, Any] = {"paths": {"private": ["secret/**"]}}
    if whole_files:
        repo["difficulty"] = {"whole_files": whole_files}
    return build_config(default_config_data(), repo, "tiered-review.yml")


@pytest.fixture
def scene() -> Iterator[Scene]:
    from tests.fakes.github_fake import github_fake

    with github_fake() as (url, gh):
        gh.add_repo(OWNER, REPO)
        gh.open_pr(
            OWNER, REPO, NUMBER, title="t", body="", base_sha=BASE, head_sha=HEAD, files=FILES
        )
        # The base branch moved on after the head forked: the PR's diff is against MERGE_BASE.
        gh.set_compare(OWNER, REPO, BASE, HEAD, FILES, merge_base=MERGE_BASE)
        for sha, files in (
            (MERGE_BASE, {"src/core.py": CORE_OLD, "src/util.py": UTIL_OLD, "src/gone.py": GONE}),
            (BASE, {"src/core.py": "# moved on\n" + CORE_OLD, "src/util.py": UTIL_OLD}),
            (HEAD, {"src/core.py": CORE_NEW, "src/util.py": UTIL_NEW, "src/new.py": NEW_MOD}),
        ):
            for path, text in files.items():
                gh.set_file(OWNER, REPO, sha, path, text)
        client = GitHubClient("ghs_test", url, throttle=False, sleep=lambda s: None)
        try:
            scene = Scene(gh, client, url)
            yield scene
        finally:
            scene.client.close()
        assert [r for r in gh.invalid if r.kind != "state"] == []


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'cache.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


def test_targets_are_parsed_code_files_only_largest_changes_first() -> None:
    files = parse_diff(diff_from_patches([_patch_file(f) for f in FILES])[0])
    assert whole_file_targets(files, config()) == [
        Wanted("src/core.py", "src/core.py", head=True, base=True),
        Wanted("src/util.py", "src/util.py", head=True, base=True),
        Wanted("src/gone.py", "src/gone.py", head=False, base=True),
        Wanted("src/new.py", "src/new.py", head=True, base=False),
    ]
    # 4 and 4 changed lines, then 2 and 1: ties by path; `max_files` keeps the first ones.
    assert [w.path for w in whole_file_targets(files, config(max_files=2))] == [
        "src/core.py",
        "src/util.py",
    ]
    assert whole_file_targets(files, config(enabled=False)) == []


def test_both_sides_are_read_at_the_head_and_the_merge_base(scene: Scene) -> None:
    whole = scene.fetch(config())
    assert whole.sources == {
        "src/core.py": CORE_NEW,
        "src/util.py": UTIL_NEW,
        "src/new.py": NEW_MOD,
    }
    # The base side comes from the merge base, not the base branch's tip (which moved on).
    assert whole.originals == {
        "src/core.py": CORE_OLD,
        "src/util.py": UTIL_OLD,
        "src/gone.py": GONE,
    }
    assert sorted(scene.reads()) == sorted(
        [
            f"contents src/core.py@{HEAD}",
            f"contents src/util.py@{HEAD}",
            f"contents src/new.py@{HEAD}",
            "compare",
            f"contents src/core.py@{MERGE_BASE}",
            f"contents src/util.py@{MERGE_BASE}",
            f"contents src/gone.py@{MERGE_BASE}",
        ]
    )
    assert whole.requests == 7


def test_context_reads_only_what_was_not_read(scene: Scene) -> None:
    whole = scene.fetch(config(max_files=1))
    before = len(scene.reads())
    assert whole.context(["src/core.py", "src/util.py"]) is True  # core.py was read already
    assert scene.reads()[before:] == [f"contents src/util.py@{HEAD}"]
    assert whole.sources["src/util.py"] == UTIL_NEW and "src/util.py" not in whole.originals
    assert whole.context(["src/core.py", "src/util.py", "src/missing.py"]) is False
    assert scene.reads()[before + 1 :] == [f"contents src/missing.py@{HEAD}"]


def test_a_second_review_after_a_push_reads_only_the_changed_file(
    scene: Scene, engine: Engine
) -> None:
    cache = BlobStore(engine, "inst-1", f"{OWNER}/{REPO}")
    first = scene.fetch(config(), cache)
    assert first.requests == 7
    reads = len(scene.reads())
    again = scene.fetch(config(), BlobStore(engine, "inst-1", f"{OWNER}/{REPO}"))
    assert (again.sources, again.originals) == (first.sources, first.originals)
    assert scene.reads()[reads:] == ["compare"]  # the merge base is asked for; no contents

    newer = "2" * 40
    pushed = UTIL_NEW.replace("'/'", "'/root'")
    files = [dict(f) for f in FILES]
    files[1]["patch"] = patch(UTIL_OLD, pushed)
    for path, text in (("src/core.py", CORE_NEW), ("src/util.py", pushed), ("src/new.py", NEW_MOD)):
        scene.gh.set_file(OWNER, REPO, newer, path, text)
    scene.gh.push(OWNER, REPO, NUMBER, new_head_sha=newer, files=files)
    scene.gh.set_compare(OWNER, REPO, BASE, newer, files, merge_base=MERGE_BASE)
    reads = len(scene.reads())
    after = scene.fetch(config(), cache)
    assert scene.reads()[reads:] == [f"contents src/util.py@{newer}", "compare"]
    assert after.sources["src/util.py"] == pushed and after.originals["src/util.py"] == UTIL_OLD

    # Another installation's cache holds nothing of this one's: it reads everything again.
    reads = len(scene.reads())
    scene.fetch(config(), BlobStore(engine, "inst-2", f"{OWNER}/{REPO}"))
    assert len(scene.reads()) - reads == 7


def test_without_a_cache_every_review_reads_everything_again(scene: Scene) -> None:
    scene.fetch(config())
    reads = len(scene.reads())
    scene.fetch(config())
    assert len(scene.reads()) - reads == 7


def test_a_file_over_the_bound_is_read_once_and_left_to_the_hunks(
    scene: Scene, caplog: pytest.LogCaptureFixture
) -> None:
    bound = len(UTIL_NEW.encode()) - 1  # util.py at the head is one byte over; the rest fit
    assert max(len(t) for t in (CORE_OLD, CORE_NEW, UTIL_OLD, NEW_MOD, GONE)) <= bound
    with caplog.at_level(logging.INFO, logger="app.review.whole_files"):
        whole = scene.fetch(config(max_bytes=bound))
    assert "src/util.py" not in whole.sources and "src/util.py" not in whole.originals
    assert whole.sources["src/core.py"] == CORE_NEW and whole.originals["src/core.py"] == CORE_OLD
    assert sum(r.startswith("contents src/util.py") for r in scene.reads()) == 2
    assert [m for m in caplog.messages if "src/util.py" in m] == [
        f"whole files: src/util.py skipped: {bound + 1} bytes (at most {bound} bytes)"
    ]


def test_a_missing_file_and_a_binary_blob_are_skipped_with_a_log_line(
    scene: Scene, caplog: pytest.LogCaptureFixture
) -> None:
    scene.gh.set_file(OWNER, REPO, HEAD, "src/util.py", b"\x00\x01binary")
    scene.gh.set_file(OWNER, REPO, HEAD, "src/new.py", NEW_MOD)  # kept
    # gone.py is absent at the merge base: a 404
    scene.gh.set_file(OWNER, REPO, "c" * 40, "src/gone.py", GONE)
    scene.gh.set_compare(OWNER, REPO, BASE, HEAD, FILES, merge_base="c" * 40)
    with caplog.at_level(logging.INFO, logger="app.review.whole_files"):
        whole = scene.fetch(config())
    assert set(whole.sources) == {"src/new.py"}
    assert set(whole.originals) == {"src/gone.py"}  # only it was found at "c" * 40
    messages = "\n".join(caplog.messages)
    assert "src/util.py skipped: binary or not UTF-8" in messages
    assert f"src/core.py at {('c' * 40)[:12]} skipped: not a file there" in messages
    assert SECRET not in caplog.text


def test_a_rate_limit_stops_the_reads_and_the_review_goes_on(
    scene: Scene, caplog: pytest.LogCaptureFixture
) -> None:
    scene.gh.fail_next("GET", "/contents/src/util.py", status=429, times=10, retry_after=0)
    # PyGithub's own retries (5, with backoff) would only wait the limit out first: none here.
    scene.client.close()
    scene.client = GitHubClient("ghs_test", scene.url, throttle=False, read_retries=0)
    with caplog.at_level(logging.INFO, logger="app.review.whole_files"):
        whole = scene.fetch(config())
    # core.py's head was read before the limit; nothing after it is asked for
    assert scene.reads()[-1].startswith("contents src/util.py")
    assert not any("src/new.py" in r for r in scene.reads())
    assert whole.sources == {} and whole.originals == {}  # core.py's base was never read
    stopped = [m for m in caplog.messages if "stopped" in m]
    assert len(stopped) == 1 and "429" in stopped[0]


def test_a_timeout_stops_the_reads(scene: Scene, caplog: pytest.LogCaptureFixture) -> None:
    info = scene.info()
    slow = GitHubClient(
        "ghs_test",
        scene.url,
        throttle=False,
        timeout_s=1,
        read_retries=0,
    )
    scene.gh.chaos(1.0, kinds=("slow",), slow_s=(2.0, 2.0))
    try:
        with caplog.at_level(logging.INFO, logger="app.review.whole_files"):
            whole = WholeFiles(slow, info, config())
            whole.fetch([Wanted("src/core.py", "src/core.py", head=True, base=True)])
    finally:
        scene.gh.chaos(0)
        slow.close()
    assert whole.sources == {} and whole.originals == {}
    assert whole.requests == 1  # the merge base was not asked for once reads had stopped
    (line,) = [m for m in caplog.messages if "stopped" in m]
    assert "stopped at src/core.py" in line and "ConnectionError" in line  # a read timeout


def test_a_repository_cannot_raise_the_bounds_past_the_ceilings() -> None:
    with pytest.raises(ConfigError, match=r"difficulty\.whole_files\.max_files"):
        config(max_files=10_000)
    with pytest.raises(ConfigError, match=r"difficulty\.whole_files\.max_bytes"):
        config(max_bytes=50_000_000)
    assert config(max_files=200, max_bytes=1_000_000).difficulty.whole_files.max_files == 200


def _patch_file(item: dict[str, Any]) -> Any:
    from app.plan.diff import PatchFile

    return PatchFile(item["filename"], item["status"], item.get("patch"))


def _kit(counter: TokenCounter) -> Toolkit:
    return Toolkit(
        default_config_data(),
        load_catalog,
        load_prompts(),
        counter,
        {},
        dt.date(2026, 12, 7),
    )


def test_the_plan_is_built_once_with_the_bounded_whole_files(
    scene: Scene, counter: TokenCounter, caplog: pytest.LogCaptureFixture
) -> None:
    yml = "difficulty:\n  whole_files:\n    max_files: 2\n"
    scene.gh.set_file(OWNER, REPO, BASE, ".github/tiered-review.yml", yml)
    with caplog.at_level(logging.INFO, logger="app.review.pull_request"):
        plan, used = plan_pull_request(
            scene.client, PullRef(OWNER, REPO, NUMBER), _kit(counter), Mode.NORMAL
        )
    assert used.difficulty.whole_files.max_files == 2
    (line,) = [m for m in caplog.messages if m.startswith("whole files for the facts")]
    # core.py and util.py, the two largest changes, on both sides: 4 contents reads + compare
    assert line == "whole files for the facts: 2 at the head, 2 at the base (5 GitHub requests)"
    notes = {c.path: [r for r in c.reasons if r.startswith("facts:")] for c in plan.chunks}
    # The facts compared the two trees where both files came. new.py was past `max_files`, but a
    # new module is substantive: its head was read for context and the plan built again with it
    # (an added file's base is empty, so its tree is compared too).
    for path in ("src/core.py", "src/util.py", "src/new.py"):
        assert notes[path] == ["facts: compared whole files as python"], path
    assert f"contents src/new.py@{HEAD}" in scene.reads()
    assert notes["src/gone.py"] == ["facts: parsed as python"]  # past `max_files`, no context
    code_reads = [r for r in scene.reads() if r.startswith("contents src/")]
    assert len(code_reads) == len(set(code_reads))  # no file read twice (context included)


def test_a_repository_asking_for_ten_thousand_files_gets_a_config_error(
    scene: Scene, counter: TokenCounter
) -> None:
    yml = "difficulty:\n  whole_files:\n    max_files: 10000\n"
    scene.gh.set_file(OWNER, REPO, BASE, ".github/tiered-review.yml", yml)
    with pytest.raises(ConfigError, match=r"whole_files\.max_files.*200"):
        plan_pull_request(scene.client, PullRef(OWNER, REPO, NUMBER), _kit(counter), Mode.NORMAL)
    assert not any(r.startswith("contents src/") for r in scene.reads())  # nothing read
