"""Change facts: named signals with human reasons, read from a file's parsed hunks.

Public surface (definitions added, removed, renamed; signatures; exports; deprecations), the import
graph, the meaning of the APIs a change calls (security, shared state and concurrency,
resilience), and mechanical changes (a formatter run; one identifier renamed). Strings, comments
and docstrings are never read as code: the parser blanks them before any API is matched.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from app.plan.diff import Hunk
from app.plan.facts.hunks import FRAGMENT, lines_moved, raw_format_only
from app.plan.facts.manifests import dependency_change
from app.plan.facts.syntax import FileSyntax, parse_change, single_rename
from app.plan.patterns import Patterns, compile_patterns

Fact = tuple[str, str]  # (signal id, reason)

_API_GROUP = {
    "python": "python",
    "typescript": "script",
    "tsx": "script",
    "javascript": "script",
    "go": "go",
    "rust": "rust",
    "java": "java",
}
_EXPORTS = {
    "python": re.compile(r"(?m)^\s*__all__\b"),
    "script": re.compile(r"(?m)^\s*export\s*(?:\{|\*|default\b)|\bmodule\.exports\b"),
}
# A word each export pattern cannot match without: a cheap `in` test skips the regex scan.
_EXPORT_WORD = {"python": "__all__", "script": "export"}
_DEPRECATION_COMMENT = re.compile(r"(?m)^\s*(?://|/\*+|\*|#)?\s*(?:Deprecated:|@deprecated\b)")
_STDLIB = frozenset(sys.stdlib_module_names)
_LITERALS = frozenset({"True", "False", "None", "true", "false", "null", "nil", "undefined"})


@dataclass(frozen=True, slots=True)
class ApiTable:
    """The API patterns of each fact, compiled per language group."""

    by_group: Mapping[str, tuple[tuple[str, Patterns], ...]]
    any_of: Mapping[str, Patterns]  # each group's patterns as one: no hit there, no fact hits
    strings: tuple[tuple[str, Patterns], ...] = ()  # facts read from string literals, as data


def _deprecates(code: str, comments: str) -> bool:
    """A deprecation in code (`DeprecationWarning`, `@deprecated`) or a doc-comment marker."""
    if "deprecat" in code.lower():
        return True
    return "eprecated" in comments and _DEPRECATION_COMMENT.search(comments) is not None


def compile_apis(apis: Mapping[str, Mapping[str, Sequence[str]]]) -> ApiTable:
    """Compile `apis` (fact -> language group -> patterns); the same table compiles once."""
    key = tuple(
        (fact, tuple((group, tuple(p)) for group, p in sorted(per.items())))
        for fact, per in sorted(apis.items())
    )
    return _compiled(key)


@functools.lru_cache(maxsize=16)
def _compiled(key: tuple[tuple[str, tuple[tuple[str, tuple[str, ...]], ...]], ...]) -> ApiTable:
    apis = {fact: dict(per) for fact, per in key}
    groups = ("python", "script", "go", "rust", "java")
    table: dict[str, tuple[tuple[str, Patterns], ...]] = {}
    any_of: dict[str, Patterns] = {}
    for group in groups:
        lists = [
            (fact, [*per.get("any", ()), *per.get(group, ())])
            for fact, per in sorted(apis.items())
            if per.get("any") or per.get(group)
        ]
        table[group] = tuple((fact, compile_patterns(p)) for fact, p in lists)
        any_of[group] = compile_patterns([p for _, each in lists for p in each])
    strings = tuple(
        (fact, compile_patterns(per["strings"]))
        for fact, per in sorted(apis.items())
        if per.get("strings")
    )
    return ApiTable(table, any_of, strings)


def _shown(text: str) -> str:
    """A reason's text with stand-in definitions named as what they are."""
    return FRAGMENT.sub(
        lambda m: f"(the definition whose hunk starts at line {m[1] or m[2]})", text
    )


def _surface(syntax: FileSyntax) -> list[Fact]:
    old, new = syntax.old.definitions, syntax.new.definitions
    facts: list[Fact] = []
    removed = sorted(n for n, d in old.items() if d.touched and n not in new)
    added = sorted(n for n, d in new.items() if d.touched and n not in old)
    differs = sorted(
        n
        for n, d in new.items()
        if n in old and (d.touched or old[n].touched) and d.key != old[n].key
    )
    changed = [n for n in differs if new[n].shape != old[n].shape]
    typed = [n for n in differs if new[n].shape == old[n].shape]
    renamed = []
    for gone in list(removed):
        twin = next(
            (
                n
                for n in added
                if old[gone].key.replace(gone.split(".")[-1].encode(), b"")
                == new[n].key.replace(n.split(".")[-1].encode(), b"")
            ),
            None,
        )
        if twin is not None:
            renamed.append((gone, twin))
            removed.remove(gone)
            added.remove(twin)
    if changed:
        name = changed[0]
        facts.append(
            (
                "surface.signature",
                f"public signature changes: {old[name].header} -> {new[name].header}",
            )
        )
    if typed:
        name = typed[0]
        facts.append(("surface.annotation", f"type annotations or header change: {name}"))
    if renamed:
        facts.append(("surface.renamed", f"renames public {renamed[0][0]} to {renamed[0][1]}"))
    constants = sorted(
        n for n, v in syntax.new.constants.items() if syntax.old.constants.get(n, v) != v
    )
    if constants:
        name = constants[0]
        facts.append(
            (
                "surface.constant",
                f"changes public constant {name}: {syntax.old.constants[name]} -> "
                f"{syntax.new.constants[name]}",
            )
        )
    if removed:
        facts.append(("surface.removed", f"removes public {removed[0]}"))
    if added:
        facts.append(("surface.added", f"adds public {added[0]}"))
    return [(fact, _shown(reason)) for fact, reason in facts]


def _imports(syntax: FileSyntax) -> list[Fact]:
    def third_party(names: frozenset[str]) -> list[str]:
        if syntax.language == "python":
            return sorted(n for n in names if n not in _STDLIB)
        if syntax.language == "go":
            return sorted(n for n in names if "." in n.split("/")[0])
        if syntax.language in ("typescript", "tsx", "javascript"):
            return sorted(n for n in names if not n.startswith("node:"))
        return sorted(names)

    facts: list[Fact] = []
    gained = third_party(syntax.new.changed_imports - syntax.old.imports)
    lost = third_party(syntax.old.changed_imports - syntax.new.imports)
    if gained:
        facts.append(("imports.package_added", f"imports a new package: {gained[0]}"))
    if lost:
        facts.append(("imports.package_removed", f"stops importing package {lost[0]}"))
    return facts


def code_facts(
    path: str,
    language: str,
    hunks: Sequence[Hunk],
    apis: ApiTable,
    whole_files: Callable[[], FileSyntax] | None = None,
) -> list[Fact]:
    """The parsed facts of one code file's change (mechanical ones first, alone, if they hold).

    `whole_files` parses the whole files compared (`files.whole_files`), called only when the
    hunks' text does not settle the change; without it the hunks are parsed.
    """
    if raw_format_only(hunks):
        return [
            (
                "mechanical.format_only",
                "formatting only: the text is unchanged but for whitespace, quote style, "
                "trailing commas and parentheses",
            )
        ]
    moved = lines_moved(hunks)
    if moved:
        return [
            (
                "mechanical.moved",
                f"lines moved: the {moved} removed lines come back elsewhere, unchanged but for "
                "formatting (sorted imports, reordered definitions)",
            )
        ]
    syntax = parse_change(language, hunks) if whole_files is None else whole_files()
    old, new = syntax.old, syntax.new
    group = _API_GROUP[language]
    deprecation = _deprecates(new.code, new.comments) and not _deprecates("", old.comments)
    if old.stream == new.stream and not deprecation:
        return [
            (
                "mechanical.format_only",
                "formatting only: the token stream is unchanged but for whitespace, comments "
                "or quote style",
            )
        ]
    facts = _surface(syntax)
    if old.typeless is not None and old.typeless == new.typeless and not deprecation and not facts:
        return [
            (
                "mechanical.annotations",
                "only type hints change spelling (parameter and return types, typing imports): "
                "the code that runs and the types it declares are the same",
            )
        ]
    structural = bool(facts or new.changed_imports or old.changed_imports or deprecation)
    if not structural and "".join(old.code.split()) == "".join(new.code.split()):
        # The code is the same, but a string can still be a header's name or a shell script.
        return _string_facts(syntax, apis, set()) or [
            (
                "mechanical.strings_only",
                "only string literals change (messages, docstrings); the code is the same",
            )
        ]
    rename = None if structural else single_rename(old.code, new.code)
    if rename is not None and not {*rename} & _LITERALS:
        return [
            (
                "mechanical.rename",
                f"one identifier renamed throughout: {rename[0]} -> {rename[1]}",
            )
        ]
    both = f"{new.code}\n{old.code}"
    exports = _EXPORTS.get(group)
    if exports is not None and _EXPORT_WORD[group] in both and exports.search(both):
        facts.append(("surface.export", "changes the module's exports"))
    if deprecation:
        facts.append(("surface.deprecation", "deprecates part of the interface"))
    facts.extend(_imports(syntax))
    data = both.encode("utf-8", "surrogateescape")
    # The names of the functions the change is in count too: a fix inside ClientIP() or
    # verify_cert() is about client addresses or certificates even when its lines name neither.
    names = "\n".join([*sorted(old.enclosing | new.enclosing), syntax.headings])
    around = names.encode("utf-8", "surrogateescape")
    # One scan of all the group's patterns first: most changes call none of these APIs.
    in_data = apis.any_of[group].first(data) is not None
    in_around = bool(around) and apis.any_of[group].first(around) is not None
    for fact, patterns in apis.by_group[group] if in_data or in_around else ():
        hit = patterns.first(data) if in_data else None
        kind = fact.split(".", 1)[1].replace("_", " ")
        if hit:
            facts.append((fact, f"{kind} API: {hit}"))
        elif in_around and (hit := patterns.first(around)):
            facts.append((fact, f"{kind}: changes code inside {hit}"))
    facts.extend(_string_facts(syntax, apis, {fact for fact, _ in facts}))
    return facts


def _string_facts(syntax: FileSyntax, apis: ApiTable, seen: set[str]) -> list[Fact]:
    """Facts read from the changed string literals, as data (`apis: ... strings:`)."""
    text = f"{syntax.new.strings}\n{syntax.old.strings}".strip()
    literals = text.encode("utf-8", "surrogateescape")
    facts: list[Fact] = []
    for fact, patterns in apis.strings if literals else ():
        if fact not in seen and (hit := patterns.first(literals)):
            kind = fact.split(".", 1)[1].replace("_", " ")
            facts.append((fact, f"{kind}: a changed string holds {hit}"))
    return facts


def manifest_facts(path: str, hunks: Sequence[Hunk]) -> list[Fact]:
    """Dependency facts of a manifest file's change; empty for other files."""
    change = dependency_change(path, hunks)
    if change is None:
        return []
    if change.dev_only:
        return [("deps.dev", "development dependencies change")]
    facts: list[Fact] = []
    if change.added:
        facts.append(("deps.added", f"adds runtime dependency {change.added[0]}"))
    if change.removed:
        facts.append(("deps.removed", f"drops runtime dependency {change.removed[0]}"))
    if change.major:
        facts.append(
            ("deps.major", f"moves runtime dependency {change.major[0]} to a new major version")
        )
    elif change.bumped and not facts:
        facts.append(("deps.bumped", f"re-pins dependency {change.bumped[0]}"))
    return facts
