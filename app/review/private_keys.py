"""Private key blocks (PEM) in diffs and text: each block becomes one marker, lines kept.

A block may be bare, diff-prefixed (every line "+"), or a string literal split over lines; the
line count never changes, so every hunk header stays valid.
"""

from __future__ import annotations

import re
from collections import Counter

from app.review.secret_values import DIFF_PREFIXES, EOL, NL, SecretKind, marker

_PEM_BEGIN = re.compile(r"-----BEGIN[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----")
_PEM_END = re.compile(r"-----END[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----")
# What may follow BEGIN on its line for a block to open: nothing, or the end of a string literal
# ("...-----\n" +). Anything else is code that merely mentions the header.
_PEM_OPEN_TAIL = re.compile(r"""[ \t]*(?:\\{1,2}n)?["'`]?[ \t]*[+,]?[ \t]*\\?""")
# Between BEGIN and END on one line (a JSON or escaped string): base64, headers and \n escapes.
_PEM_INLINE_BODY = re.compile(r"[A-Za-z0-9+/=\\ \t:,\-]*+")


def _pem_body(min_run: int, optional: str) -> re.Pattern[str]:
    # One line of key material, bare or as a string literal piece: "MIIE...\n" +
    return re.compile(
        rf"""[ \t]*["'`]?(?:[A-Za-z0-9+/=]{{{min_run},}}+"""
        rf"""|(?:Proc-Type|DEK-Info|Comment|Version|Hash):[^{NL}]*+){optional}"""
        r"""(?:\\{1,2}n)?["'`]?[ \t]*[+,]?[ \t]*\\?"""
    )


_PEM_BODY = _pem_body(4, "?")
# The line after BEGIN must look like a real key (a full base64 line or a header) for a block to
# open, so code such as `HEADER = "-----BEGIN PRIVATE KEY-----"` is left alone.
_PEM_FIRST = _pem_body(16, "")
# Speed and linear time: each pattern starts with a literal, so the engine jumps between its
# occurrences instead of trying every position (about 20 times faster on a 10 MB diff); the


def split_eol(line: str) -> tuple[str, str]:
    """A line and its line break."""
    if line.endswith("\r\n"):
        return line[:-2], "\r\n"
    if line and EOL.match(line[-1]):
        return line[:-1], line[-1]
    return line, ""


def _pem_line(body: str, following: str) -> tuple[str, int, bool | None]:
    """Replace the key blocks starting in one line; say if one stays open and is diff-prefixed."""
    parts: list[str] = []
    pos = found = 0
    while (begin := _PEM_BEGIN.search(body, pos)) is not None:
        end = _PEM_END.search(body, begin.end())
        if end is None:
            prefixed = begin.start() > 0 and body[0] in "+- "
            if _PEM_OPEN_TAIL.fullmatch(body, begin.end()) and _opens(following, prefixed):
                parts += [body[pos : begin.start()], marker(SecretKind.PRIVATE_KEY)]
                return "".join(parts) + body[begin.end() :], found + 1, prefixed
            break
        if _PEM_INLINE_BODY.fullmatch(body, begin.end(), end.start()):
            parts += [body[pos : begin.start()], marker(SecretKind.PRIVATE_KEY)]
            found += 1
        else:  # two header strings on one line of code, no key between them
            parts.append(body[pos : end.end()])
        pos = end.end()
    return "".join(parts) + body[pos:], found, None


def _strip_prefix(line: str, prefixed: bool) -> tuple[str, str]:
    keep = line[:1] if prefixed and line.startswith(DIFF_PREFIXES) else ""
    return keep, line[len(keep) :]


def _closes(rest: str) -> int:
    """Return where the block's END marker ends in a line, or -1 if the line has none."""
    end = _PEM_END.search(rest)
    return end.end() if end is not None and _PEM_BODY.fullmatch(rest, 0, end.start()) else -1


def _opens(following: str, prefixed: bool) -> bool:
    rest = _strip_prefix(following, prefixed)[1]
    return _closes(rest) != -1 or _PEM_FIRST.fullmatch(rest) is not None


def redact_private_keys(text: str, counts: Counter[SecretKind]) -> str:
    """Replace every private key block in text with a marker, keeping its lines."""
    if "PRIVATE KEY" not in text:
        return text
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    prefixed: bool | None = None  # None: no block open; else whether its lines carry +/-/space
    for index, line in enumerate(lines):
        body, eol = split_eol(line)
        head = ""
        if prefixed is not None:
            # Inside a block each line keeps its diff prefix and loses its key material, so the
            # hunk's line counts still hold.
            keep, rest = _strip_prefix(body, prefixed)
            if (end := _closes(rest)) != -1:
                head, body, prefixed = keep, rest[end:], None
            elif prefixed and body.startswith("\\"):
                out.append(line)  # "\ No newline at end of file" belongs to the diff
                continue
            elif _PEM_BODY.fullmatch(rest):
                out.append(keep + eol)
                continue
            else:
                prefixed = None  # the block was cut off, at a hunk's end say; this line is plain
        following = split_eol(lines[index + 1])[0] if index + 1 < len(lines) else ""
        new_body, found, opened = _pem_line(body, following)
        counts[SecretKind.PRIVATE_KEY] += found
        if opened is not None:
            prefixed = opened or bool(head)
        out.append(head + new_body + eol)
    return "".join(out)
