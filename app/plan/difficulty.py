"""Difficulty labels from static facts: file kind, path words, parsed change facts, size.

Two models: `facts` (the default) parses code in the languages `app.plan.facts` knows and scores
the facts with the fitted weights of app/data/difficulty-model.yaml; `legacy` is the earlier
regex classifier, kept so `calibrate --model legacy` can print the figures before and after.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from app.errors import ConfigError
from app.plan.config import Difficulty, DifficultyConfig
from app.plan.diff import FileStatus, Hunk
from app.plan.facts.facts import ApiTable, code_facts, compile_apis, manifest_facts
from app.plan.facts.files import whole_files
from app.plan.facts.grammar import language_of
from app.plan.facts.model import Params, score_facts
from app.plan.facts.syntax import FileSyntax
from app.plan.globs import GlobSet, compile_globs
from app.plan.line_signals import (
    Signatures,
    comment_markers,
    extension,
    same_but_whitespace,
    signatures,
)
from app.plan.patterns import Patterns, compile_patterns


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
    signatures: tuple[str, ...] = ()  # public definitions changed: "- old" / "+ new" lines
    score: float | None = None  # the model's score (None under the legacy model)
    ambiguous: bool = False  # the score fell in the ambiguous band


_VERSION_BUMP_LINES = 20  # a version bump touches a few lines; more is a real change


@dataclass(frozen=True, slots=True)
class _Text:
    """A change's added and removed lines, joined once per classification."""

    added: str
    removed: str
    both: bytes  # added then removed, UTF-8, for the RE2 patterns that look at either side


@dataclass(frozen=True, slots=True)
class ChangeView:
    """The parts of a chunk the classifier reads."""

    path: str
    status: FileStatus
    added: Sequence[str]
    removed: Sequence[str]
    hunks: Sequence[Hunk] = ()  # the parsed facts read the hunks (context included)
    old_text: str | None = None  # the whole file at the base ("" if added), when at hand
    new_text: str | None = None  # the whole file at the head ("" if deleted), when at hand


_WORD_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")


def path_words(path: str) -> list[str]:
    """A path's words, lower-cased: `src/OAuthClient/user_session.py` -> src, o, auth, ... ."""
    return [w.lower() for w in _WORD_SPLIT.split(path) if w]


@dataclass(frozen=True, slots=True)
class Classifier:
    """Compiled difficulty rules (globs and regexes), built once per plan from config."""

    config: DifficultyConfig
    kinds: tuple[tuple[FileKind, GlobSet], ...]
    new_package: GlobSet
    security_words: frozenset[str]
    code_extensions: frozenset[str]
    security_call: Patterns
    concurrency_call: Patterns
    ci_permissions: Patterns
    version_line: Patterns
    params: Params
    apis: ApiTable
    legacy: bool

    def kind_of(self, path: str) -> FileKind:
        """The file's kind from the kind globs (first match), else code by extension."""
        for kind, globs in self.kinds:
            if globs.match(path):
                return kind
        return FileKind.CODE if extension(path) in self.code_extensions else FileKind.OTHER

    def classify(self, change: ChangeView) -> Label:
        """Label one chunk with the signals that fired."""
        kind = self.kind_of(change.path)
        added, removed = "".join(change.added), "".join(change.removed)
        both = (added + "\n" + removed).encode("utf-8", "surrogateescape")
        text = _Text(added, removed, both)
        sigs = (
            signatures(change.path, text.removed, text.added)
            if kind is FileKind.CODE
            else Signatures({}, {})
        )
        if not self.legacy:
            return self._scored(change, kind, sigs, text)
        fired = self._trivial_content(change, text) or self._signals(change, kind, sigs, text)
        levels = self.config.signals
        ranked = sorted(fired, key=lambda item: (-levels[item[0]].rank, item[0]))
        top = levels[ranked[0][0]]
        return Label(
            difficulty=top,
            reasons=tuple(f"{sid}: {text}" for sid, text in ranked),
            signals=tuple(sid for sid, _ in ranked),
            kind=kind,
            signatures=sigs.lines(),
        )

    def _scored(self, change: ChangeView, kind: FileKind, sigs: Signatures, text: _Text) -> Label:
        """The facts model: collect the facts, score them, keep the top ones as reasons."""
        fired = self._trivial_content(change, text)
        path = change.path
        note = ""
        if not fired:
            fired = self._signals(change, kind, sigs, text, facts=False)
            if kind not in (FileKind.DOCS, FileKind.TESTS):
                fired.extend(manifest_facts(change.path, change.hunks))
            if kind is FileKind.CODE:
                language = language_of(change.path)
                if language is None or not change.hunks:
                    fired.extend(self._code_signals(change, sigs, text))
                    why = "no hunks given" if language else f"no parser for .{extension(path)}"
                    note = f"facts: line signals ({why})"
                else:
                    parse, note = _whole_files(change, language)
                    parsed = code_facts(change.path, language, change.hunks, self.apis, parse)
                    if parsed and parsed[0][0].startswith("mechanical."):
                        fired = parsed
                    else:
                        fired.extend(parsed)
                        fired.extend(self._size_signals(change))
        reason = dict(fired)
        scored = score_facts(
            [sid for sid, _ in fired], len(change.added) + len(change.removed), self.params
        )
        reasons = [f"{sid}: {reason[sid]}" for sid in scored.ranked]
        if scored.ambiguous:
            reasons.insert(
                0,
                f"ambiguous (score {scored.score:.2f}): routed as {scored.difficulty} by the "
                f"ambiguous rule (up when at most {self.params.ambiguous_max_lines} lines change)",
            )
        return Label(
            difficulty=scored.difficulty,
            reasons=tuple(reasons + ([note] if note else [])),
            signals=scored.ranked,
            kind=kind,
            signatures=sigs.lines(),
            score=round(scored.score, 3),
            ambiguous=scored.ambiguous,
        )

    def _trivial_content(self, change: ChangeView, text: _Text) -> list[tuple[str, str]]:
        if not text.added.strip() and not text.removed.strip():
            if change.added or change.removed:
                return [("content.whitespace_only", "only blank lines change")]
            return []
        if same_but_whitespace(text.added, text.removed):
            return [("content.whitespace_only", "only whitespace changes")]
        markers = comment_markers(change.path)
        lines = [*change.added, *change.removed]
        if markers and all(not ln.strip() or ln.lstrip().startswith(markers) for ln in lines):
            return [("content.comment_only", "only comments change")]
        if change.status is FileStatus.MODIFIED and len(lines) <= _VERSION_BUMP_LINES:
            added = [ln for ln in change.added if ln.strip()]
            removed = [ln for ln in change.removed if ln.strip()]
            if len(added) == len(removed) and self.version_line.each_line(added + removed):
                return [("content.version_bump", "only version strings change")]
        return []

    def _signals(
        self, change: ChangeView, kind: FileKind, sigs: Signatures, text: _Text, facts: bool = True
    ) -> list[tuple[str, str]]:
        path = change.path
        if kind is FileKind.DOCS:
            return [("path.docs", "documentation file")]
        if kind is FileKind.TESTS:
            return [("path.tests", "test, example or test-tooling file: not production code")]
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
            hit = self.ci_permissions.first(text.both)
            if hit:
                fired.append(("content.ci_permissions", f"CI permissions or secrets: {hit}"))
        elif kind is FileKind.CONFIG:
            fired.append(("path.config", "configuration file"))
        elif kind is FileKind.OTHER:
            fired.append(("path.other", "non-code text file"))
        if change.status is FileStatus.ADDED and self.new_package.match(path):
            fired.append(("file.new_package", "adds a new package"))
        if kind is FileKind.CODE and facts:
            fired.extend(self._code_signals(change, sigs, text))
        return fired

    def _code_signals(
        self, change: ChangeView, sigs: Signatures, text: _Text
    ) -> list[tuple[str, str]]:
        fired: list[tuple[str, str]] = []
        markers = comment_markers(change.path)
        hit = self.security_call.first_code(text.both, markers)
        if hit:
            fired.append(("content.security_call", f"security-sensitive call: {hit}"))
        hit = self.concurrency_call.first_code(text.both, markers)
        if hit:
            fired.append(("content.concurrency_call", f"concurrency primitive: {hit}"))
        changed = sigs.changed()
        if changed:
            fired.append(("content.signature_change", f"public signature changes: {changed[0]}"))
        gone = sigs.removed()
        if gone:
            fired.append(("content.removed_public_name", f"removes public name {gone[0]}"))
        fired.extend(self._size_signals(change))
        return fired

    def _size_signals(self, change: ChangeView) -> list[tuple[str, str]]:
        fired: list[tuple[str, str]] = []
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


def _whole_files(change: ChangeView, language: str) -> tuple[Callable[[], FileSyntax] | None, str]:
    """What parses the whole files when both are at hand and agree with the hunks, and the note."""
    if change.old_text is None or change.new_text is None:
        return None, f"facts: parsed as {language}"
    parse = whole_files(language, change.hunks, change.old_text, change.new_text)
    if parse is None:
        return None, f"facts: parsed as {language} (the whole files disagree with the hunks)"
    return parse, f"facts: compared whole files as {language}"


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
    model = config.model
    unknown = sorted(set(model.weights) - set(FACT_IDS))
    if unknown:
        raise ConfigError(f"difficulty.model.weights: unknown fact {unknown[0]!r}")
    return Classifier(
        config=config,
        kinds=tuple((kind, compile_globs(globs)) for kind, globs in order),
        new_package=compile_globs(g.new_package),
        security_words=frozenset(w.lower() for w in config.security_words),
        code_extensions=frozenset(e.lower() for e in config.code_extensions),
        security_call=compile_patterns(p.security_call),
        concurrency_call=compile_patterns(p.concurrency_call),
        ci_permissions=compile_patterns(p.ci_permissions),
        version_line=compile_patterns(p.version_line),
        params=Params(
            weights=model.weights,
            combine=model.combine,
            ambiguous_band=model.ambiguous_band,
            ambiguous_max_lines=model.ambiguous_max_lines,
        ),
        apis=compile_apis(model.apis),
        legacy=model.kind == "legacy",
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

# Every fact the facts model may weigh: the signals above, the parsed facts, and the rest.
FACT_IDS = (
    *_KNOWN_SIGNALS,
    "mechanical.format_only",
    "mechanical.annotations",
    "mechanical.moved",
    "mechanical.rename",
    "mechanical.strings_only",
    "surface.removed",
    "surface.renamed",
    "surface.signature",
    "surface.export",
    "surface.deprecation",
    "surface.added",
    "surface.annotation",
    "surface.constant",
    "deps.added",
    "deps.removed",
    "deps.bumped",
    "deps.major",
    "deps.dev",
    "imports.package_added",
    "imports.package_removed",
    "security.tls",
    "security.crypto",
    "security.auth",
    "security.deserialize",
    "security.shell",
    "security.sql",
    "security.secrets",
    "security.input",
    "state.concurrency",
    "state.shared",
    "resilience.exceptions",
    "resilience.handling",
    "resilience.retry",
)
