"""The container image and the GitHub App manifest, read as files: pins, user, health, context."""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from dataclasses import dataclass
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from app.settings import Settings
from tests.conftest import ROOT

DOCKERFILE = ROOT / "Dockerfile"
LOCK = ROOT / "requirements.lock"
MANIFEST = ROOT / "github-app-manifest.json"

# GitHub's App manifest parameters:
# https://docs.github.com/en/apps/sharing-github-apps/registering-a-github-app-from-a-manifest
MANIFEST_KEYS = {
    "name",
    "url",
    "description",
    "hook_attributes",
    "redirect_url",
    "callback_urls",
    "setup_url",
    "public",
    "default_events",
    "default_permissions",
    "request_oauth_on_install",
    "setup_on_update",
}
PERMISSIONS = {
    "pull_requests": "write",
    "issues": "write",
    "checks": "write",
    "contents": "read",
    "metadata": "read",
}
# pull_request_review_comment: replies in the bot's threads (docs/conversation.md). Reactions
# and thread resolutions send no webhook the App needs: they are read at the next push.
EVENTS = {"pull_request", "issue_comment", "pull_request_review_comment"}


@dataclass(frozen=True, slots=True)
class Instruction:
    """One Dockerfile instruction: its keyword, upper-cased, and the rest of its (joined) lines."""

    keyword: str
    rest: str


def parse_dockerfile(text: str) -> list[list[Instruction]]:
    """The instructions of each stage, continuation lines joined and comments dropped."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    stages: list[list[Instruction]] = []
    for line in joined.splitlines():
        if not line.strip():
            continue
        keyword, _, rest = line.strip().partition(" ")
        if keyword.upper() == "FROM":
            stages.append([])
        stages[-1].append(Instruction(keyword.upper(), rest.strip()))
    return stages


def dockerignore_excludes(patterns: list[str], path: str) -> bool:
    """Whether Docker leaves `path` out of the context: the last pattern matching it or a parent
    folder wins, `!` re-includes (https://docs.docker.com/build/concepts/context/#dockerignore-files).
    """
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for raw in patterns:
        negate = raw.startswith("!")
        pattern = raw[1:] if negate else raw
        regex = _pattern_regex(pattern.strip("/"))
        if any(regex.fullmatch(candidate) for candidate in candidates):
            excluded = not negate
    return excluded


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """Go's filepath.Match syntax plus Docker's `**` (any number of folders)."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out, i = out + "[" + pattern[i + 1 : end].replace("^", "\\^", 1) + "]", end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def read_lock() -> dict[str, tuple[str, int]]:
    """requirements.lock as {canonical name: (exact version, number of hashes)}."""
    entries: dict[str, tuple[str, int]] = {}
    text = re.sub(r"\\\n\s*", " ", LOCK.read_text("utf-8"))
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        spec, *options = line.split(" --hash=")
        req = Requirement(spec.strip())
        pins = [s for s in req.specifier if s.operator == "=="]
        assert len(pins) == 1 and len(req.specifier) == 1, f"not an exact pin: {line[:80]}"
        assert all(option.startswith("sha256:") for option in options), line[:80]
        entries[canonicalize_name(req.name)] = (pins[0].version, len(options))
    return entries


def pyproject() -> dict[str, Any]:
    """pyproject.toml, parsed."""
    with (ROOT / "pyproject.toml").open("rb") as handle:
        return tomllib.load(handle)


def final_stage() -> list[Instruction]:
    """The instructions of the image's last stage, the one that runs."""
    return parse_dockerfile(DOCKERFILE.read_text("utf-8"))[-1]


def exec_form(stage: list[Instruction], keyword: str) -> list[str]:
    """The JSON argument list of the stage's last `keyword` instruction (CMD ..., HEALTHCHECK)."""
    found = [ins.rest for ins in stage if ins.keyword == keyword]
    assert found, f"the final stage has no {keyword}"
    value: list[str] = json.loads(found[-1][found[-1].index("[") :])
    return value


def env_of(stage: list[Instruction]) -> dict[str, str]:
    """The stage's ENV values (KEY=VALUE form)."""
    env: dict[str, str] = {}
    for ins in stage:
        if ins.keyword == "ENV":
            env.update(item.split("=", 1) for item in shlex.split(ins.rest))
    return env


@pytest.mark.parametrize(
    ("patterns", "path", "excluded"),
    [
        ([".git"], ".git/config", True),
        (["**/__pycache__"], "app/__pycache__/cli.cpython-311.pyc", True),
        (["**/*.pem"], "keys/app.pem", True),
        (["*.pem"], "keys/app.pem", False),
        (["tests", "!tests/keep.py"], "tests/keep.py", False),
        (["**/*.py[cod]"], "app/cli.py", False),
        (["app/*.md"], "app/sub/x.md", False),
    ],
)
def test_dockerignore_matching(patterns: list[str], path: str, excluded: bool) -> None:
    assert dockerignore_excludes(patterns, path) is excluded


def test_lock_pins_every_runtime_dependency_at_pyproject_version() -> None:
    lock = read_lock()
    for dep in pyproject()["project"]["dependencies"]:
        req = Requirement(dep)
        pinned = [s.version for s in req.specifier if s.operator == "=="]
        name = canonicalize_name(req.name)
        assert name in lock, f"{req.name} is missing from requirements.lock (bash .ci/lock)"
        assert [lock[name][0]] == pinned, f"{req.name}: lock {lock[name][0]}, pyproject {pinned}"
    assert all(hashes >= 1 for _, hashes in lock.values())


def test_lock_holds_no_test_only_package() -> None:
    lock = read_lock()
    project = pyproject()["project"]
    runtime = {canonicalize_name(Requirement(d).name) for d in project["dependencies"]}
    extra = project["optional-dependencies"]["test"]
    test_only = {canonicalize_name(Requirement(d).name) for d in extra}
    assert test_only - runtime, "the test extra should hold test-only packages"
    assert not (test_only - runtime) & lock.keys()


def test_dockerfile_installs_the_lock_with_hashes_and_our_wheel_without_deps() -> None:
    build = parse_dockerfile(DOCKERFILE.read_text("utf-8"))[0]
    runs = " ".join(ins.rest for ins in build if ins.keyword == "RUN")
    assert "--require-hashes" in runs and "-r requirements.lock" in runs
    assert re.search(r"pip install --no-deps --no-index \S+\.whl", runs)


def test_image_runs_serve_as_non_root_with_health_and_a_volume() -> None:
    stage = final_stage()
    users = [ins.rest for ins in stage if ins.keyword == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    cmd = exec_form(stage, "CMD")
    assert cmd[:2] == ["tiered-review", "serve"]
    host, port = cmd[cmd.index("--host") + 1], cmd[cmd.index("--port") + 1]
    assert host == "0.0.0.0"
    assert any(ins.keyword == "EXPOSE" and ins.rest == port for ins in stage)
    health = " ".join(exec_form(stage, "HEALTHCHECK"))
    assert f"http://127.0.0.1:{port}/readyz" in health  # readiness: the App can work
    volumes = [v for ins in stage if ins.keyword == "VOLUME" for v in json.loads(ins.rest)]
    database = env_of(stage)["TIERED_REVIEW_DB"]
    assert any(database.startswith(volume.rstrip("/") + "/") for volume in volumes)


def test_image_carries_every_tiktoken_encoding_the_app_loads() -> None:
    used = {
        name
        for path in (ROOT / "app").rglob("*.py")
        for name in re.findall(r"get_encoding\(\s*[\"'](\w+)[\"']", path.read_text("utf-8"))
    }
    assert used, "app/ loads no tiktoken encoding: update this test"
    text = DOCKERFILE.read_text("utf-8")
    fetched = set(re.findall(r"get_encoding\('(\w+)'\)", text))
    assert used <= fetched
    cache = env_of(final_stage())["TIKTOKEN_CACHE_DIR"]
    assert f"TIKTOKEN_CACHE_DIR={cache} " in text
    assert any(ins.rest == f"--from=build {cache} {cache}" for ins in final_stage())


def test_every_copy_source_is_in_the_build_context() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text("utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    sources = [
        source
        for stage in parse_dockerfile(DOCKERFILE.read_text("utf-8"))
        for ins in stage
        if ins.keyword == "COPY" and not ins.rest.startswith("--from")
        for source in shlex.split(ins.rest)[:-1]
    ]
    # What the wheel build reads must be copied: the readme, the packages, the forced includes.
    wheel = pyproject()["tool"]["hatch"]["build"]["targets"]["wheel"]
    needed = {"pyproject.toml", "requirements.lock", pyproject()["project"]["readme"]}
    needed |= set(wheel["packages"]) | set(wheel["force-include"])
    assert needed <= set(sources)
    for source in sources:
        path = ROOT / source
        assert path.exists(), f"COPY {source}: no such file"
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        for file in files:
            relative = file.relative_to(ROOT).as_posix()
            if "__pycache__" not in relative:
                assert not dockerignore_excludes(patterns, relative), f"{relative} is ignored"
    for secret in ("key.pem", "app/.env", ".git/config"):
        assert dockerignore_excludes(patterns, secret)


def test_manifest_asks_for_exactly_what_the_app_uses() -> None:
    manifest = json.loads(MANIFEST.read_text("utf-8"))
    assert set(manifest) <= MANIFEST_KEYS, set(manifest) - MANIFEST_KEYS
    assert manifest["default_permissions"] == PERMISSIONS
    assert set(manifest["default_events"]) == EVENTS
    assert len(manifest["default_events"]) == len(EVENTS)
    hook = manifest["hook_attributes"]
    assert hook["active"] is True and hook["url"].endswith("/webhook")
    assert manifest["redirect_url"].startswith("https://")
    # The App's bot login is its slug plus "[bot]": the default must match the manifest's name.
    assert f"{manifest['name']}[bot]" == Settings.from_env({}).bot_login
