"""Output safety: every untrusted string the bot posts is made inert here, by construction.

Untrusted means anything a PR author or a model wrote: file names, titles, model summaries and
findings, notes quoting them. Three shapes, chosen by what the text is:

- `prose`: model Markdown. Code spans and top-level fenced code stay as written (they render
  literally); everywhere else `<`, `>`, `&`, `[` and `]` are escaped, so no HTML element, entity,
  image, link or autolink survives, and `@` is followed by a zero-width space, so no one is
  mentioned. Backtick runs without a partner on the same line are escaped, so an unbalanced
  backtick cannot swallow or expose the text after it, and an unclosed fence is closed.
- `code`: a short field (a path, a rule id) as a code span with a fence longer than any backtick
  run inside it; line breaks and control characters are shown as `\\uXXXX`.
- `suggestion_block`: a ```suggestion body posted byte for byte, fenced by a run longer than any
  backtick run inside it, so it cannot close its own block; GitHub commits it unchanged.

Markers are not this module's business beyond one fact it guarantees: no output of `prose` or
`code` is a marker line, so text placed after the bot's marker block cannot extend it.
"""

from __future__ import annotations

import re
import unicodedata

ZWSP = "\u200b"
_PROSE_ESCAPES = {
    "<": "&lt;",
    ">": "&gt;",
    "&": "&amp;",
    "[": "\\[",
    "]": "\\]",
    "@": "@" + ZWSP,
}
_ASCII_PUNCT = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
# A fence opens only at column 0, where no list item or block quote can contain it.
_FENCE_OPEN = re.compile(r"(`{3,}|~{3,})(.*)")
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _visible(ch: str) -> str:
    """A line break, control or bidi character as `\\uXXXX`; anything else unchanged."""
    if ch in _BIDI or unicodedata.category(ch) in ("Cc", "Zl", "Zp"):
        return f"\\u{ord(ch):04x}"
    return ch


def one_line(text: str) -> str:
    """Text with every line break and control character spelled out as `\\uXXXX`."""
    return "".join(_visible(ch) for ch in text)


def _longest_backtick_run(text: str) -> int:
    return max((len(run) for run in re.findall("`+", text)), default=0)


def code(text: str, *, in_table: bool = False) -> str:
    """An untrusted short field as one inert code span (pipes escaped inside a table cell)."""
    shown = one_line(text)
    if in_table:
        shown = shown.replace("|", "\\|")
    if not shown.strip(" "):
        return "`" + "\u2423" * max(1, len(shown)) + "`"  # spaces or nothing, made visible
    fence = "`" * (_longest_backtick_run(shown) + 1)
    pad = " " if shown[0] in "` " or shown[-1] in "` " else ""
    return f"{fence}{pad}{shown}{pad}{fence}"


def _inline(line: str) -> str:
    """One line of prose outside fenced code: code spans kept, everything else escaped."""
    out: list[str] = []
    i, n = 0, len(line)
    while i < n:
        ch = line[i]
        if ch == "\\" and i + 1 < n and line[i + 1] == "`":
            out.append("\\`")  # an escaped backtick opens nothing
            i += 2
        elif ch == "\\" and i + 1 < n and line[i + 1] in _ASCII_PUNCT:
            out.append("\\\\")  # the backslash shown as itself; the next character is escaped
            i += 1
        elif ch == "`":
            j = i
            while j < n and line[j] == "`":
                j += 1
            run = j - i
            close = _closing_run(line, j, run)
            if close is None:
                out.append("\\`" * run)
                i = j
            else:
                out.append(line[i : close + run])
                i = close + run
        else:
            out.append(_PROSE_ESCAPES.get(ch) or _visible_inline(ch))
            i += 1
    return "".join(out)


def _visible_inline(ch: str) -> str:
    return _visible(ch) if ch != "\t" else ch


def _closing_run(line: str, start: int, run: int) -> int | None:
    """Where a backtick run of exactly `run` characters starts after `start`, or None."""
    for found in re.finditer("`+", line[start:]):
        if len(found.group()) == run:
            return start + found.start()
    return None


def _closes(line: str, char: str, length: int) -> bool:
    stripped = line.rstrip("\r")
    body = stripped[len(stripped) - len(stripped.lstrip(" ")) :]
    if len(stripped) - len(body) > 3:
        return False
    run = len(body) - len(body.lstrip(char))
    return run >= length and not body[run:].strip(" \t")


def prose(text: str) -> str:
    """Model Markdown made inert: no HTML, link, image, mention or marker can come out of it.

    The result must start a line (or a list item or block quote, with every later line indented
    to match): a fence it opens on its first line is only a fence there. Mid-line, use
    `prose_line`.
    """
    out: list[str] = []
    fence: tuple[str, int] | None = None
    for raw in text.replace("\r\n", "\n").split("\n"):
        line = "".join(ch if ch == "\t" else _visible(ch) for ch in raw)
        if fence is not None:
            out.append(line)
            if _closes(line, *fence):
                fence = None
            continue
        opened = _FENCE_OPEN.fullmatch(line)
        if opened is not None and not (opened.group(1)[0] == "`" and "`" in opened.group(2)):
            fence = (opened.group(1)[0], len(opened.group(1)))
            out.append(opened.group(1) + _inline(opened.group(2)))
            continue
        out.append(_inline(line))
    if fence is not None:
        out.append(fence[0] * fence[1])
    return "\n".join(out)


def prose_line(text: str) -> str:
    """Model text for a single line (a title, a table cell): `prose` with breaks as spaces."""
    flat = " ".join(text.replace("\r", "\n").split("\n"))
    return _inline("".join(_visible(ch) for ch in flat))


def cell(text: str) -> str:
    """Model or config text for a Markdown table cell: one line, pipes escaped."""
    return prose_line(text).replace("|", "\\|")


def suggestion_block(text: str) -> str:
    """A ```suggestion block holding `text` byte for byte; no run inside can close it."""
    body = text.rstrip("\n")
    fence = "`" * max(3, _longest_backtick_run(body) + 1)
    return f"{fence}suggestion\n{body}\n{fence}"
