"""Shared test setup: the fixture folders, tiktoken's BPE files, and plan inputs."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from app.plan.config import Mode, build_config, merge
from app.plan.packing import PullRequestInfo
from app.plan.planner import PlanInputs
from app.plan.tokens import TokenCounter, load_counter
from app.resources import default_config_data, load_catalog, load_prompts
from tests.dbs import ENGINES, PG_ENV, Databases

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
HOOKS = FIXTURES / "github-webhooks"  # GitHub's webhook payloads and schemas (octokit, MIT)
OPENAPI = FIXTURES / "github-openapi" / "rest-subset.json"  # GitHub's REST description, cut
EXAMPLE_DIFF = ROOT / "examples" / "pr.diff"
TODAY = dt.date(2026, 11, 27)


def need(condition: bool, reason: str) -> None:
    """Skip when a prerequisite is missing, except in CI, where nothing may skip."""
    if condition:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must provide this: {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _state_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Default databases (the ledger of `review`) go to a temporary state folder, not $HOME."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))


@pytest.fixture(params=ENGINES)
def fresh_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Databases]:
    """Fresh, empty databases on each engine: call it for a URL (see tests/dbs.py)."""
    dsn = os.environ.get(PG_ENV)
    if request.param == "postgresql":
        need(bool(dsn), f"{PG_ENV} is unset: no PostgreSQL to test on (.ci/postgres starts one)")
    with Databases(request.param, tmp_path, dsn) as databases:
        yield databases


@pytest.fixture
def db_url(fresh_db: Databases) -> str:
    """The URL of a fresh, empty database, once per engine."""
    return fresh_db()


@pytest.fixture(scope="session")
def counter() -> TokenCounter:
    """tiktoken's o200k counter: its BPE files come from a download or `TIKTOKEN_CACHE_DIR`.

    Exact token counts need those files; without them (no internet and no cache folder) the tests
    that ask for this fixture skip with the reason, and with CI=true they fail instead.
    """
    loaded, warning = load_counter()
    need(
        warning is None,
        f"tiktoken's BPE files are neither downloadable nor in TIKTOKEN_CACHE_DIR: {warning}",
    )
    return loaded


InputsFactory = Callable[..., PlanInputs]


@pytest.fixture
def make_inputs(counter: TokenCounter) -> InputsFactory:
    """Plan inputs from the defaults with `overrides` merged over them, as a repo config would."""

    def make(
        overrides: Mapping[str, Any] | None = None,
        mode: Mode = Mode.NORMAL,
        title: str = "",
        today: dt.date = TODAY,
    ) -> PlanInputs:
        config = build_config(default_config_data(), merge({}, overrides or {}), "test")
        return PlanInputs(
            config=config,
            catalog=load_catalog(config),
            prompts=load_prompts(),
            counter=counter,
            today=today,
            mode=mode,
            pr=PullRequestInfo(title=title),
        )

    return make


def git(repo: Path, *args: str) -> str:
    """Run git in `repo` with a fixed identity and no user or system config."""
    env = {
        **os.environ,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }
    done = subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, check=True, timeout=60
    )
    return done.stdout.decode("utf-8", "surrogateescape")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """An empty git repository on branch main."""
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    return path


@pytest.fixture
def engine_result(make_inputs: InputsFactory) -> Any:
    """A real review of the example diff against the Anthropic fake (scripted answers)."""
    import asyncio

    from app.plan.planner import build_plan
    from app.providers.registry import build_provider
    from app.review.engine import EngineOptions, run_review
    from app.settings import Settings
    from tests.fakes import anthropic_fake
    from tests.review.test_engine import reviewer

    inputs = make_inputs()
    plan = build_plan(EXAMPLE_DIFF.read_text(), inputs)
    with anthropic_fake(responder=reviewer) as (url, _state):
        settings = Settings.from_env({"ANTHROPIC_API_KEY": "k", "ANTHROPIC_BASE_URL": url})

        async def go() -> Any:
            provider = build_provider("anthropic", settings)
            try:
                return await run_review(
                    plan, {"anthropic": provider}, inputs.config, inputs.catalog, EngineOptions("t")
                )
            finally:
                await provider.aclose()

        return asyncio.run(go())
