"""Difficulty labels from static signals only: file kind, path words, changed-line content, size."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from app.config import Difficulty, DifficultyConfig
from app.diff import FileStatus
from app.errors import ConfigError
from app.globs import GlobSet, compile_globs


class FileKind(StrEnum):
    """What a file is, by path: decides which signals apply."""

    DOCS = "docs"
    TESTS = "tests"
    CI = "ci"
    MIGRATION = "migration"
    PUBLIC_API = "public_api"
    CONFIG = "config"
    CODE = "code"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Label:
    """A chunk's difficulty with the signals behind it, strongest first."""

    difficulty: Difficulty
    reasons: tuple[str, ...]
    signals: tuple[str, ...]
    kind: FileKind


@dataclass(frozen=True, slots=True)
class ChangeView:
    """The parts of a chunk the classifier reads."""

    path: str
    status: FileStatus
    added: Sequence[str]
    removed: Sequence[str]


_COMMENT_MARKERS: dict[str, tuple[str, ...]] = {}
for _exts, _markers in (
    (
        "py pyi rb sh bash zsh yml yaml toml cfg conf pl pm r ex exs tf hcl ps1 nim jl cmake mk",
        ("#",),
    ),
    ("ini properties", ("#", ";")),
    (
        "js jsx mjs cjs ts tsx go rs java kt kts scala c h cc cpp cxx hpp hh cs swift dart "
        "groovy sol zig v m mm proto css scss less",
        ("//", "/*", "*", "*/"),
    ),
    ("php", ("//", "/*", "*", "*/", "#")),
    ("sql lua hs", ("--",)),
    ("clj cljs lisp el", (";",)),
    ("erl hrl tex", ("%",)),
    ("html htm xml vue svelte", ("<!--", "-->")),
):
    for _ext in _exts.split():
        _COMMENT_MARKERS[_ext] = _markers
_NAMED_COMMENTS = {"dockerfile": ("#",), "makefile": ("#",)}

# Definitions whose signature matters: (extension set, regex with the name in group "name",
# whether the match is public). Python names are public unless _private (dunders are public).
_DEFS: tuple[tuple[frozenset[str], re.Pattern[str]], ...] = (
    (frozenset({"py", "pyi"}), re.compile(r"^\s*(?:async\s+)?(?:def|class)\s+(?P<name>\w+)")),
    (
        frozenset({"js", "jsx", "mjs", "cjs", "ts", "tsx"}),
        re.compile(
            r"^\s*export\s+(?:default\s+)?(?:declare\s+)?(?:abstract\s+)?(?:async\s+)?"
            r"(?:function\*?|class|const|let|var|interface|type|enum)\s+(?P<name>\w+)"
        ),
    ),
    (
        frozenset({"go"}),
        re.compile(
            r"^func\s+(?:\([^)]*\)\s*)?(?P<name>[A-Z]\w*)\s*[\[(]"
            r"|^type\s+(?P<tname>[A-Z]\w*)\s"
        ),
    ),
    (
        frozenset({"rs"}),
        re.compile(
            r"^\s*pub(?:\([^)]*\))?\s+(?:async\s+)?(?:unsafe\s+)?"
            r"(?:fn|struct|enum|trait|type|const|mod)\s+(?P<name>\w+)"
        ),
    ),
    (
        frozenset({"java", "kt", "kts", "cs", "scala", "php"}),
        re.compile(
            r"^\s*public\s+(?:[\w<>\[\],?.\s]+\s+)?(?:function\s+)?(?P<name>\w+)\s*[({<]"
            r"|^\s*public\s+(?:\w+\s+)*(?:class|interface|enum|record)\s+(?P<tname>\w+)"
        ),
    ),
    (frozenset({"rb"}), re.compile(r"^\s*def\s+(?:self\.)?(?P<name>[a-z]\w*[?!]?)")),
)
_WORD_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")


def path_words(path: str) -> list[str]:
    """A path's words, lower-cased: `src/OAuthClient/user_session.py` -> src, o, auth, ... ."""
    return [w.lower() for w in _WORD_SPLIT.split(path) if w]


def _extension(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def _public(ext: str, name: str) -> bool:
    if ext in ("py", "pyi"):
        return not name.startswith("_") or (name.startswith("__") and name.endswith("__"))
    return True  # the other patterns only match exported or public definitions


@dataclass(frozen=True, slots=True)
class Classifier:
    """Compiled difficulty rules (globs and regexes), built once per plan from config."""

    config: DifficultyConfig
    kinds: tuple[tuple[FileKind, GlobSet], ...]
    new_package: GlobSet
    security_words: frozenset[str]
    code_extensions: frozenset[str]
    security_call: re.Pattern[str]
    concurrency_call: re.Pattern[str]
    ci_permissions: re.Pattern[str]
    version_line: re.Pattern[str]

    def kind_of(self, path: str) -> FileKind:
        """The file's kind from the kind globs (first match), else code by extension."""
        for kind, globs in self.kinds:
            if globs.match(path):
                return kind
        return FileKind.CODE if _extension(path) in self.code_extensions else FileKind.OTHER

    def classify(self, change: ChangeView) -> Label:
        """Label one chunk with the signals that fired."""
        kind = self.kind_of(change.path)
        fired = self._trivial_content(change) or self._signals(change, kind)
        levels = self.config.signals
        ranked = sorted(fired, key=lambda item: (-levels[item[0]].rank, item[0]))
        top = levels[ranked[0][0]]
        return Label(
            difficulty=top,
            reasons=tuple(f"{sid}: {text}" for sid, text in ranked),
            signals=tuple(sid for sid, _ in ranked),
            kind=kind,
        )

    def _trivial_content(self, change: ChangeView) -> list[tuple[str, str]]:
        added = [line for line in change.added if line.strip()]
        removed = [line for line in change.removed if line.strip()]
        if not added and not removed:
            if change.added or change.removed:
                return [("content.whitespace_only", "only blank lines change")]
            return []
        squash = [["".join(line.split()) for line in side] for side in (removed, added)]
        if squash[0] == squash[1]:
            return [("content.whitespace_only", "only whitespace changes")]
        markers = _COMMENT_MARKERS.get(_extension(change.path)) or _NAMED_COMMENTS.get(
            change.path.rsplit("/", 1)[-1].lower()
        )
        if markers and all(line.lstrip().startswith(markers) for line in added + removed):
            return [("content.comment_only", "only comments change")]
        if (
            change.status is FileStatus.MODIFIED
            and len(added) == len(removed)
            and all(self.version_line.search(line) for line in added + removed)
        ):
            return [("content.version_bump", "only version strings change")]
        return []

    def _signals(self, change: ChangeView, kind: FileKind) -> list[tuple[str, str]]:
        path = change.path
        if kind is FileKind.DOCS:
            return [("path.docs", "documentation file")]
        if kind is FileKind.TESTS:
            return [("path.tests", "test file: tests are not production code")]
        fired: list[tuple[str, str]] = []
        words = [w for w in path_words(path) if w in self.security_words]
        if words:
            fired.append(("path.security", f"path word {words[0]!r}: auth/security/crypto code"))
        if kind is FileKind.MIGRATION:
            fired.append(("path.migration", "database migration or schema"))
        elif kind is FileKind.PUBLIC_API:
            fired.append(("path.public_api", "public API surface (schema, stubs or IDL)"))
        elif kind is FileKind.CI:
            fired.append(("path.ci", "CI configuration"))
            hit = _first_hit(self.ci_permissions, change.added, change.removed)
            if hit:
                fired.append(("content.ci_permissions", f"CI permissions or secrets: {hit}"))
        elif kind is FileKind.CONFIG:
            fired.append(("path.config", "configuration file"))
        elif kind is FileKind.OTHER:
            fired.append(("path.other", "non-code text file"))
        if change.status is FileStatus.ADDED and self.new_package.match(path):
            fired.append(("file.new_package", "adds a new package"))
        if kind is FileKind.CODE:
            fired.extend(self._code_signals(change))
        return fired

    def _code_signals(self, change: ChangeView) -> list[tuple[str, str]]:
        fired: list[tuple[str, str]] = []
        ext = _extension(change.path)
        markers = _COMMENT_MARKERS.get(ext, ())
        added = [ln for ln in change.added if not (markers and ln.lstrip().startswith(markers))]
        removed = [ln for ln in change.removed if not (markers and ln.lstrip().startswith(markers))]
        hit = _first_hit(self.security_call, added, removed)
        if hit:
            fired.append(("content.security_call", f"security-sensitive call: {hit}"))
        hit = _first_hit(self.concurrency_call, added, removed)
        if hit:
            fired.append(("content.concurrency_call", f"concurrency primitive: {hit}"))
        before, after = _definitions(ext, removed), _definitions(ext, added)
        changed = sorted(n for n in before.keys() & after.keys() if before[n] != after[n])
        if changed:
            fired.append(("content.signature_change", f"public signature changes: {changed[0]}"))
        gone = sorted(before.keys() - after.keys())
        if gone:
            fired.append(("content.removed_public_name", f"removes public name {gone[0]}"))
        if change.status is FileStatus.ADDED:
            fired.append(("file.new_module", "adds a new module"))
        size = len(change.added) + len(change.removed)
        cfg = self.config
        if size <= cfg.small_change_lines:
            fired.append(("size.small", f"small change ({size} lines)"))
        elif size <= cfg.large_change_lines:
            fired.append(("size.medium", f"{size} changed lines"))
        else:
            fired.append(("size.large", f"large change ({size} lines)"))
        return fired


def _first_hit(pattern: re.Pattern[str], *sides: Iterable[str]) -> str | None:
    for side in sides:
        for line in side:
            match = pattern.search(line)
            if match:
                return match.group(0).strip()[:40]
    return None


def _definitions(ext: str, lines: Iterable[str]) -> dict[str, str]:
    """Public definitions on changed lines: name -> the line, whitespace-normalised."""
    found: dict[str, str] = {}
    for exts, pattern in _DEFS:
        if ext not in exts:
            continue
        for line in lines:
            match = pattern.match(line)
            if match:
                groups = match.groupdict()
                name = groups.get("name") or groups.get("tname")
                if name and _public(ext, name):
                    found[name] = " ".join(line.split())
    return found


def public_definitions(path: str, lines: Iterable[str]) -> list[str]:
    """The public definitions (def, class, exported function ...) among changed lines."""
    return sorted(_definitions(_extension(path), lines).values())


def _combine(patterns: Sequence[str], flags: int = 0) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns) or r"(?!)", flags)


def build_classifier(config: DifficultyConfig) -> Classifier:
    """Compile the difficulty config once per plan."""
    missing = sorted(sid for sid in _KNOWN_SIGNALS if sid not in config.signals)
    if missing:
        raise ConfigError(f"difficulty.signals: missing a level for {missing[0]!r}")
    g = config.globs
    order = (
        (FileKind.DOCS, g.docs),
        (FileKind.TESTS, g.tests),
        (FileKind.CI, g.ci),
        (FileKind.MIGRATION, g.migration),
        (FileKind.PUBLIC_API, g.public_api),
        (FileKind.CONFIG, g.config),
    )
    p = config.patterns
    return Classifier(
        config=config,
        kinds=tuple((kind, compile_globs(globs)) for kind, globs in order),
        new_package=compile_globs(g.new_package),
        security_words=frozenset(w.lower() for w in config.security_words),
        code_extensions=frozenset(e.lower() for e in config.code_extensions),
        security_call=_combine(p.security_call),
        concurrency_call=_combine(p.concurrency_call),
        ci_permissions=_combine(p.ci_permissions),
        version_line=_combine(p.version_line),
    )


_KNOWN_SIGNALS = (
    "path.docs",
    "content.whitespace_only",
    "content.comment_only",
    "content.version_bump",
    "path.tests",
    "path.config",
    "path.ci",
    "path.other",
    "size.small",
    "size.medium",
    "size.large",
    "file.new_module",
    "path.security",
    "path.migration",
    "path.public_api",
    "content.security_call",
    "content.concurrency_call",
    "content.signature_change",
    "content.removed_public_name",
    "file.new_package",
    "content.ci_permissions",
)
