"""Line signals: what the regex classifier reads from changed lines, for any language.

Comment markers per extension, and public definitions matched by a line pattern per language.
The `legacy` model uses them everywhere; the `facts` model uses them for languages it has no
parser for, and for `Label.signatures` (the changed definitions shown to the models).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Signatures:
    """Public definitions on a change's removed and added lines."""

    before: dict[str, str]
    after: dict[str, str]

    def changed(self) -> list[str]:
        """Names defined on both sides with different lines."""
        return sorted(
            n for n in self.before.keys() & self.after.keys() if self.before[n] != self.after[n]
        )

    def removed(self) -> list[str]:
        """Names defined only on the removed side."""
        return sorted(self.before.keys() - self.after.keys())

    def lines(self) -> tuple[str, ...]:
        """The definitions that differ between the sides, as "- old" and "+ new" lines."""
        old = set(self.before.values())
        new = set(self.after.values())
        return tuple(
            [f"- {line}" for line in sorted(old - new)]
            + [f"+ {line}" for line in sorted(new - old)]
        )


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

# Definitions whose signature matters, per extension, with the name in group "name". They are
# anchored at a line start, so Python's re runs them fast, and they are code, not config. Python
# names are public unless _private (dunders are public); the other patterns only match exported
# or public definitions.
_DEF_PATTERNS: tuple[tuple[frozenset[str], str], ...] = (
    (frozenset({"py", "pyi"}), r"^[ \t]*(?:async[ \t]+)?(?:def|class)[ \t]+(?P<name>\w+)"),
    (
        frozenset({"js", "jsx", "mjs", "cjs", "ts", "tsx"}),
        r"^[ \t]*export[ \t]+(?:default[ \t]+)?(?:declare[ \t]+)?(?:abstract[ \t]+)?"
        r"(?:async[ \t]+)?(?:function\*?|class|const|let|var|interface|type|enum)[ \t]+"
        r"(?P<name>\w+)",
    ),
    (
        frozenset({"go"}),
        r"^(?:func[ \t]+(?:\([^)]*\)[ \t]*)?|type[ \t]+)(?P<name>[A-Z]\w*)[ \t]*[\[( ]",
    ),
    (
        frozenset({"rs"}),
        r"^[ \t]*pub(?:\([^)]*\))?[ \t]+(?:async[ \t]+)?(?:unsafe[ \t]+)?"
        r"(?:fn|struct|enum|trait|type|const|mod)[ \t]+(?P<name>\w+)",
    ),
    (
        frozenset({"java", "kt", "kts", "cs", "scala", "php"}),
        r"^[ \t]*public[ \t]+(?:[\w<>\[\],?.]+[ \t]+)*(?:function[ \t]+|class[ \t]+|"
        r"interface[ \t]+|enum[ \t]+|record[ \t]+)?(?P<name>\w+)[ \t]*[({<]",
    ),
    (frozenset({"rb"}), r"^[ \t]*def[ \t]+(?:self\.)?(?P<name>[a-z]\w*[?!]?)"),
)
_DEFS: dict[str, re.Pattern[str]] = {
    ext: re.compile(pattern, re.M) for exts, pattern in _DEF_PATTERNS for ext in exts
}


def extension(path: str) -> str:
    """A path's extension, lower-cased, without the dot ("" if none)."""
    name = path.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def _public(ext: str, name: str) -> bool:
    if ext in ("py", "pyi"):
        return not name.startswith("_") or (name.startswith("__") and name.endswith("__"))
    return True  # the other patterns only match exported or public definitions


def _definitions(ext: str, text: str) -> dict[str, str]:
    """Public definitions in changed lines: name -> the line, whitespace-normalised."""
    pattern = _DEFS.get(ext)
    if pattern is None or not text:
        return {}
    found: dict[str, str] = {}
    for match in pattern.finditer(text):
        name = match.group("name")
        if _public(ext, name):
            end = text.find("\n", match.end())
            found[name] = " ".join(text[match.start() : end if end >= 0 else None].split())
    return found


def signatures(path: str, removed: str, added: str) -> Signatures:
    """The public definitions on a change's removed and added lines, by line patterns."""
    ext = extension(path)
    return Signatures(_definitions(ext, removed), _definitions(ext, added))


def comment_markers(path: str) -> tuple[str, ...]:
    """The line-comment markers of a path's language, or ()."""
    name = path.rsplit("/", 1)[-1].lower()
    return _COMMENT_MARKERS.get(extension(path)) or _NAMED_COMMENTS.get(name) or ()


def same_but_whitespace(a: str, b: str) -> bool:
    """Whether two texts differ only in whitespace (line breaks included, as `git diff -w`)."""
    # Compare a short prefix first: most changes differ early, and squashing is the costly part.
    head_a, head_b = "".join(a[:2000].split())[:64], "".join(b[:2000].split())[:64]
    if len(head_a) == len(head_b) == 64 and head_a != head_b:
        return False
    return "".join(a.split()) == "".join(b.split())
