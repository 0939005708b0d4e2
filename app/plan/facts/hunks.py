"""Each side of a file's change rebuilt from its hunks, with the repairs fragments need.

The old side is context plus removed lines, the new side context plus added lines; a blank row
separates hunks. Two repairs keep a cut-out hunk parseable: a docstring or block comment it
starts inside is reopened on its first row, and a parameter list it starts inside gets an opener
(git's section header, or a stand-in definition). Rows are never added, so changed-row numbers
stay right. `raw_format_only` compares the sides as text, before any parse.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import accumulate, compress, repeat
from operator import sub

from app.plan.diff import Hunk

TRAILING_COMMA = re.compile(rb",(?=[)\]}])")
QUOTES = bytes.maketrans(b"'", b'"')  # one quote style
SPACE = b" \t\n\r\x0b\x0c"  # the bytes bytes.split() splits at
_OLD = " -"  # the diff kinds of the old side's rows (context and removed)
_NEW = " +"
_REMOVED = re.compile("-")
_ADDED = re.compile(r"\+")
_FRAGMENT_OPENERS = {
    "python": "def __fragment_{n}__(",
    "typescript": "export function __fragment_{n}__(",
    "tsx": "export function __fragment_{n}__(",
    "javascript": "export function __fragment_{n}__(",
    "go": "func Fragment_{n}(",
    "rust": "pub fn fragment_{n}(",
    "java": "public void fragment_{n}(",
}
_CLOSES_PARAMETERS = re.compile(r"^\s*\)\s*(?:->[^:{]*)?(?::|\{|[\w<>\[\]*., |]*\{)\s*$")
_PARAMETER_LINE = re.compile(
    r"^\s*(?:self|cls),\s*$|^\s*\*{0,2}[A-Za-z_]\w*\??\s*:\s*[^\s=]|"
    r"^\s*(?:final\s+)?[A-Za-z_][\w.]*(?:<[^>]*>)?\s+[A-Za-z_]\w*,\s*$|"
    r"^\s*[A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*\s+[\w.*\[\]]+,\s*$"
)
FRAGMENT = re.compile(r"__fragment_(\d+)__|[Ff]ragment_(\d+)")
_OPENER_LINES = 60  # how far into a hunk `_opener` looks for the list's closing parenthesis


def _opener(language: str, hunk: Hunk) -> str:
    """What to put before a hunk that starts inside a parameter list or a block, or "".

    Git's section header when it opens the list (`def connect(`) or, in the brace languages, a
    block (`public interface Strategy {`); otherwise, when the hunk's
    parentheses close before they open on a line that ends a definition header (`) -> None:`), a
    stand-in public definition named after the hunk's line, so the parameters still parse as one.
    """
    # the header and the first lines, without copying the rest of the hunk
    head, *lines = hunk.text.split("\n", _OPENER_LINES + 1)[: _OPENER_LINES + 1]
    section = head.split("@@", 2)[2].strip() if head.count("@@") >= 2 else ""
    if section.count("(") > section.count(")"):
        return section + " "
    if language in _C_LIKE and section.endswith("{") and section.count("{") > section.count("}"):
        # The hunk is inside the block git names (a class, an interface, a function): open it,
        # so members parse as members (an interface's methods are public) and names qualify.
        return section + " "
    # The depth after each line (a line's first character is its diff kind, never a
    # parenthesis), summed without a Python loop: most hunks never close more than they open.
    depths = list(
        accumulate(map(sub, map(str.count, lines, repeat("(")), map(str.count, lines, repeat(")"))))
    )
    if not depths or min(depths) >= 0:
        return ""
    at = next(i for i, depth in enumerate(depths) if depth < 0)
    # a `name: Type` or `name Type` line up to there: parameters, not a call's arguments
    typed = any(_PARAMETER_LINE.match(line[1:]) is not None for line in lines[: at + 1])
    if typed and _CLOSES_PARAMETERS.match(lines[at][1:]):
        return _FRAGMENT_OPENERS[language].format(n=hunk.target_start)
    return ""


_OPENS_STRING = re.compile(r"""(?:^|[=(\[{,:]|\breturn|\b[rbfuRBFU]{1,2})\s*$""")


def _string_state(language: str, lines: list[str]) -> list[str]:
    """Reopen a docstring or block comment the hunk starts inside.

    A hunk cut out of a docstring or block comment would parse its prose as code. Python: with an
    odd number of triple quotes, the first one closes a string unless code that opens one comes
    before it (nothing, `=`, `(`, `,`, `return`, a prefix) on a line after a `:` header or an
    opener. C-like languages: a `*/` before any `/*`. Then the literal is reopened at the start
    of the hunk's first row (rows are kept, so changed-row numbers stay right). A hunk that ends
    inside a literal it opens has it closed at the end of its last row.
    """
    if not lines:
        return lines
    text = "\n".join(lines)
    if language == "python":
        if '"""' not in text and "'''" not in text:
            return _inside_docstring(lines)
        quotes = [q for q in ('"""', "'''") if text.count(q) % 2 == 1]
        if not quotes:
            return lines
        quote = quotes[0]
        at = text.find(quote)
        line_start = text.rfind("\n", 0, at) + 1
        before = text[line_start:at]
        previous = text[:line_start].rstrip().rsplit("\n", 1)[-1].rstrip()
        opens = bool(before.strip()) and _OPENS_STRING.search(before) is not None
        if not before.strip():
            opens = previous.endswith((":", "(", ",", "=")) or not previous
        if opens:  # the hunk ends inside the string it opens: close it on the last row
            return [*lines[:-1], lines[-1] + quote]
        return [quote + lines[0], *lines[1:]]
    if language in _C_LIKE:
        first_close, first_open = text.find("*/"), text.find("/*")
        if first_close >= 0 and not 0 <= first_open < first_close:
            lines = ["/*" + lines[0], *lines[1:]]
        if text.rfind("/*") > text.rfind("*/"):  # it ends inside a comment it opens
            lines = [*lines[:-1], lines[-1] + " */"]
    return lines


_PROSE = re.compile(
    r"^\s*(?::\w+(?:\s+[\w.\[\], |]+)?:.*"  # an rST field: `:param int timeout:`
    r"|[A-Za-z`][\w`'.,;:()/-]*(?:\s+[\w`'\"’.,;:()/|-]+){3,})\s*$"  # four words or more
)
_CODE_START = re.compile(
    r"^\s*(?:def|class|return|import|from|if|elif|else|for|while|with|try|except|finally|"
    r"raise|yield|assert|del|pass|break|continue|async|await|lambda|global|nonlocal)\b"
)
_PROSE_SHARE = 0.6


def _inside_docstring(lines: list[str]) -> list[str]:
    """A Python hunk with no triple quote that reads as prose is inside a docstring: wrap it in
    one, so its words are not parsed as code (`:param float backoff_max:` and sentences).

    Prose: most non-blank lines are an rST field or four or more words, and no line is code (a
    statement keyword first, or an assignment).
    """
    words = [ln for ln in lines if ln.strip()]
    if not words or any(_CODE_START.match(ln) or " = " in ln for ln in words):
        return lines
    prose = sum(1 for ln in words if _PROSE.match(ln))
    if prose < _PROSE_SHARE * len(words):
        return lines
    return ['"""' + lines[0], *lines[1:-1], lines[-1] + '"""'] if len(lines) > 1 else lines


_C_LIKE = frozenset({"typescript", "tsx", "javascript", "go", "rust", "java"})


def sides(
    language: str, hunks: Sequence[Hunk]
) -> tuple[tuple[bytes, frozenset[int]], tuple[bytes, frozenset[int]]]:
    """The old and new side as text with the rows the change touches on each."""
    old: list[str] = []
    new: list[str] = []
    old_rows: list[int] = []
    new_rows: list[int] = []
    for hunk in hunks:
        lines = hunk.text.split("\n")[1:]
        kinds = hunk.kinds[: len(lines)]
        old_kinds = "".join(compress(kinds, map(_OLD.__contains__, kinds)))
        new_kinds = "".join(compress(kinds, map(_NEW.__contains__, kinds)))
        old_part = [line[1:] for line in compress(lines, map(_OLD.__contains__, kinds))]
        new_part = [line[1:] for line in compress(lines, map(_NEW.__contains__, kinds))]
        old_rows.extend(len(old) + m.start() for m in _REMOVED.finditer(old_kinds))
        new_rows.extend(len(new) + m.start() for m in _ADDED.finditer(new_kinds))
        opener = _opener(language, hunk)
        for part, side in ((old_part, old), (new_part, new)):
            part = _string_state(language, part)  # a reopened comment goes after the opener
            if part and opener:
                part[0] = opener + part[0]
            side.extend(part)
            side.append("")  # a blank row between hunks keeps their statements apart
    return (
        ("\n".join(old).encode("utf-8", "surrogateescape"), frozenset(old_rows)),
        ("\n".join(new).encode("utf-8", "surrogateescape"), frozenset(new_rows)),
    )


def squashed(text: bytes) -> bytes:
    """The text without whitespace or line continuations, in one quote style: as
    b"".join(text.replace(b"\\\n", b"").split()).replace(b"'", b'"'), since deleting the bytes
    bytes.split() splits at joins what it would split."""
    return text.replace(b"\\\n", b"").translate(QUOTES, SPACE)


def unpunctuated(stream: bytes) -> bytes:
    """A squashed stream without trailing commas or parentheses, which formatters add and drop."""
    return TRAILING_COMMA.sub(b"", stream).translate(None, b"()")


def _squash(lines: Sequence[str]) -> bytes:
    return unpunctuated(squashed("\n".join(lines).encode("utf-8", "surrogateescape")))


def _changed(hunks: Sequence[Hunk]) -> tuple[list[str], list[str]]:
    """The removed and the added lines of a file's hunks, without their markers."""
    removed: list[str] = []
    added: list[str] = []
    for hunk in hunks:
        lines = hunk.text.split("\n")[1:]
        removed.extend([line[1:] for line in compress(lines, map("-".__eq__, hunk.kinds))])
        added.extend([line[1:] for line in compress(lines, map("+".__eq__, hunk.kinds))])
    return removed, added


def _squash_each(lines: list[str]) -> list[bytes]:
    """`[_squash([line]).rstrip(b",") for line in lines]` in a few passes over the lines joined:
    a NUL between them is no space, quote, comma or bracket, so nothing squashing does crosses
    it (lines that hold a NUL themselves take the slow path)."""
    if not lines:
        return []
    text = "\0".join(lines)
    if text.count("\0") != len(lines) - 1:
        return [_squash([line]).rstrip(b",") for line in lines]
    stream = unpunctuated(squashed(text.encode("utf-8", "surrogateescape")))
    return [part.rstrip(b",") for part in stream.split(b"\0")]


def lines_moved(hunks: Sequence[Hunk]) -> int:
    """How many lines a move changes: the removed lines, as a multiset, are the added ones
    (whitespace, quote style and trailing commas aside), and some are not blank; else 0.

    Sorted imports, reordered definitions, a block moved within the file, and a formatter that
    also sorts read this way.
    """
    removed, added = _changed(hunks)
    if not removed or not added:  # one side has no lines: no multiset of some lines matches it
        return 0
    old = sorted(s for s in _squash_each(removed) if s)
    new = sorted(s for s in _squash_each(added) if s)
    if not old or old != new:
        return 0
    # One or two statements swapped can change behaviour (a check moved after its use); a
    # block of three or more lines, or imports in a new order, is a move.
    imports = all(_IMPORT_LINE.match(line) for line in removed if line.strip())
    return len(old) if len(old) >= 3 or imports else 0


_IMPORT_LINE = re.compile(
    r"^\s*(?:import\s|from\s+\S+\s+import\s|use\s|export\s.*\sfrom\s|\"[^\"]+\"$)"
)


def raw_format_only(hunks: Sequence[Hunk]) -> bool:
    """Whether the sides differ only in whitespace, quotes, trailing commas and parentheses.

    Read from the text, before any parse: a formatter run over a whole code base is recognised
    without parsing it. (A run that also rewrites comments is found after the parse.)
    """
    old: list[str] = []
    new: list[str] = []
    for hunk in hunks:
        lines = hunk.text.split("\n")[1:]
        old.extend([line[1:] for line in compress(lines, map(_OLD.__contains__, hunk.kinds))])
        new.extend([line[1:] for line in compress(lines, map(_NEW.__contains__, hunk.kinds))])
    return bool(old or new) and _squash(old) == _squash(new)
