"""Dependency facts from manifest files: runtime dependencies added, removed, or only re-pinned.

A manifest's changed lines are read as `name + version` entries with a small pattern per format
(pyproject, setup.cfg/setup.py, requirements, package.json, go.mod, Cargo.toml, Maven, Gradle).
A name on both sides is a version bump; a name on one side only is a dependency added or removed.
Development-only sections (devDependencies, test/dev extras) count as development dependencies.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from app.plan.diff import Hunk

_NAME = r"[A-Za-z0-9@][\w.\-/@]*"
_PY_REQ = re.compile(
    rf"""^\s*["']?({_NAME})\s*(?:\[[^\]]*\])?\s*(?:[<>!~=]=|[<>]|@|;|["']\s*,?\s*$|$)"""
)
_FORMATS: dict[str, re.Pattern[str]] = {
    "python": _PY_REQ,
    "npm": re.compile(rf"""^\s*"({_NAME})"\s*:\s*"[^"]*"\s*,?\s*$"""),
    "go": re.compile(rf"""^\s*(?:require\s+)?({_NAME}\.{_NAME})\s+v\d\S*(?:\s*//\s*(indirect))?"""),
    "cargo": re.compile(
        rf"""^\s*({_NAME})\s*=\s*(?:"[^"]*\d[^"]*"|\{{.*(?:version|path|git)\s*=.*\}})\s*$"""
    ),
    "maven": re.compile(rf"""<artifactId>\s*({_NAME})\s*</artifactId>"""),
    "gradle": re.compile(
        r"""^\s*(?:implementation|api|compileOnly|runtimeOnly|testImplementation|compile)\b"""
        r"""\s*\(?\s*["']([\w.\-]+:[\w.\-]+)"""
    ),
}
_DEV_SECTION = re.compile(
    r"devDependencies|peerDependencies|\[(?:tool\.poetry\.)?(?:dev-dependencies|group\.[\w-]+)|"
    r"\[dependency-groups\]|^\s*dev-dependencies\s*=|\[(?:testenv|tox)\b|"
    r"(?:^|\s|\[)(?:dev|test|tests|testing|docs|lint|typing)\s*=\s*\[|\[dev-dependencies\]|"
    r"<scope>\s*test|testImplementation",
)
_RUNTIME_SECTION = re.compile(
    r'"(?:dependencies|optionalDependencies)"\s*:|^\s*dependencies\s*=|\[dependencies\]|'
    r"install_requires|^\s*require\s*\(|\[project\]|<dependencies>|^\s*dependencies\s*\{|"
    r"\[project\.optional-dependencies\]|\[(?:workspace\.|target\..*\.)?(?:build-)?dependencies\]",
)


_OTHER_SECTION = re.compile(r"^\s*\[|^\s*[\w.-]+\s*=\s*\[\s*$|^\s*\w+\s*=\s*$")
# Outside a known section (the hunk shows no section header), these names are development tools.
_DEV_TOOLS = (
    "@types/",
    "@typescript-eslint/",
    "eslint",
    "prettier",
    "typescript",
    "jest",
    "vitest",
    "mocha",
    "rollup",
    "webpack",
    "vite",
    "babel",
    "@babel/",
    "ts-node",
    "tsx",
    "husky",
    "lint-staged",
    "pytest",
    "mypy",
    "ruff",
    "black",
    "flake8",
    "isort",
    "pre-commit",
    "tox",
    "nox",
    "coverage",
    "sphinx",
    "pylint",
    "types-",
)
_NPM_OTHER = re.compile(r'^\s*"[\w@/.-]+"\s*:\s*[\[{]')
_VERSIONED = re.compile(r"""(?:[<>!~=]=|[<>^~])\s*v?\d|["']v?\d+(?:\.\d+)*["']|version\s*=""")


def manifest_format(path: str) -> str | None:
    """Which manifest format a path is, or None."""
    name = path.rsplit("/", 1)[-1].lower()
    if name in ("pyproject.toml", "setup.cfg", "setup.py", "pipfile") or (
        name.startswith("requirements") and name.endswith((".txt", ".in"))
    ):
        return "python"
    if name == "package.json":
        return "npm"
    if name == "go.mod":
        return "go"
    if name == "cargo.toml":
        return "cargo"
    if name == "pom.xml":
        return "maven"
    if name in ("build.gradle", "build.gradle.kts"):
        return "gradle"
    return None


@dataclass(frozen=True, slots=True)
class DependencyChange:
    """Names of dependencies added, removed or re-pinned in one manifest."""

    added: tuple[str, ...]
    removed: tuple[str, ...]
    bumped: tuple[str, ...]
    dev_only: bool  # every changed entry sits in a development section
    major: tuple[str, ...] = ()  # runtime dependencies re-pinned to a new major version


# A version's first number and its second (below 1.0, `0.minor` is npm's and Cargo's major).
_VERSION = re.compile(r"""(?<![\w.])[v^~=<>]*(\d+)(?:\.(\d+))?""")


def _major(fmt: str, body: str, after: int) -> str | None:
    """The major part of the version on a manifest line, or None (unknown, or Go: a new major
    version of a Go module is a new module path, so a re-pin never is one)."""
    match = None if fmt == "go" else _VERSION.search(body, after)
    if match is None:
        return None
    # Below 1.0, npm's and Cargo's caret ranges treat a minor release as breaking.
    zero = match[1] == "0" and fmt in ("npm", "cargo")
    return f"0.{match[2] or 0}" if zero else match[1]


def dependency_change(path: str, hunks: Sequence[Hunk]) -> DependencyChange | None:
    """The dependency entries a manifest's hunks change, or None if it names none."""
    fmt = manifest_format(path)
    if fmt is None:
        return None
    pattern = _FORMATS[fmt]
    old: set[str] = set()
    new: set[str] = set()
    dev_flags: list[bool] = []
    majors: dict[tuple[str, str], str | None] = {}  # (side, runtime name) -> major version
    for hunk in hunks:
        heading = hunk.text.split("\n", 1)[0]
        section_dev = bool(_DEV_SECTION.search(heading))
        # In TOML and setup files, None means "not known from this hunk": only an entry with a
        # version counts then; False means a section that holds no dependencies.
        sectioned = fmt in ("python", "cargo", "npm")
        inside: bool | None = None if sectioned else True
        if sectioned and (_DEV_SECTION.search(heading) or _RUNTIME_SECTION.search(heading)):
            inside = True
        lines = hunk.text.split("\n")[1:]
        for kind, line in zip(hunk.kinds, lines, strict=False):
            body = line[1:]
            if _DEV_SECTION.search(body):
                section_dev, inside = True, True
            elif _RUNTIME_SECTION.search(body):
                section_dev, inside = False, True
            elif sectioned and (_NPM_OTHER if fmt == "npm" else _OTHER_SECTION).match(body):
                inside = False
            if kind not in "+-" or inside is False:
                continue
            if inside is None and not _VERSIONED.search(body):
                continue
            match = pattern.search(body)
            if match is None or (fmt == "go" and match.group(2)):
                continue
            name = match.group(1).lower()
            if fmt == "python" and name in ("name", "version", "python", "requires-python"):
                continue
            (new if kind == "+" else old).add(name)
            tool = inside is None and name.startswith(_DEV_TOOLS)
            if not (tool or section_dev):
                majors[(kind, name)] = _major(fmt, body, match.end(1))
            dev_flags.append(
                tool
                or section_dev
                or path.rsplit("/", 1)[-1]
                .lower()
                .startswith(
                    (
                        "requirements-dev",
                        "requirements-test",
                        "requirements_dev",
                        "requirements/dev",
                    )
                )
            )
    if not old and not new:
        return None
    bumped = tuple(sorted(old & new))
    major = tuple(
        name
        for name in bumped
        if None not in (majors.get(("-", name)), majors.get(("+", name)))
        and majors[("-", name)] != majors[("+", name)]
    )
    return DependencyChange(
        added=tuple(sorted(new - old)),
        removed=tuple(sorted(old - new)),
        bumped=bumped,
        dev_only=all(dev_flags),
        major=major,
    )
