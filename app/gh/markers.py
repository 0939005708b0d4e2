"""Hidden markers the bot leaves in its own comments, written and read in one fixed place.

A marker is an HTML comment, `<!-- tiered-review:KIND VALUE -->`, invisible on GitHub. The bot
writes its markers as the first lines of every comment it posts (`with_markers`), and reads them
only from that leading block of a comment it wrote (the caller checks the author): reading stops
at the first line that is not a whole marker. Untrusted text (file names, PR titles, model
output) always comes after the bot's own first line and is made inert by `app.review.safety`,
so even text that spells a marker can never be read back as one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

PREFIX = "tiered-review:"
_MARKER_LINE = re.compile(r"<!-- tiered-review:([a-z_]+) ([^<>\r\n]*?) -->")
_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.S)
# Markdown that renders to nothing: reference-style link definitions used as comments.
_HIDDEN_MARKDOWN = re.compile(
    r"^\s*\[(?://|comment|_)\]:\s*(?:#|<>)?\s*(?:\(.*?\)|\".*?\")?\s*$", re.M | re.I
)


def marker(kind: str, value: str) -> str:
    """One hidden marker; the value may not contain angle brackets or newlines."""
    if not re.fullmatch(r"[a-z_]+", kind):
        raise ValueError(f"marker kind {kind!r}: lowercase letters and _ only, or none reads it")
    clean = re.sub(r"[<>\n\r]", "", value).strip()
    return f"<!-- {PREFIX}{kind} {clean} -->"


def with_markers(markers: Iterable[str], body: str) -> str:
    """A comment body with the bot's markers as its first lines, the only place they are read."""
    head = "\n".join(markers)
    return f"{head}\n{body}" if head else body


def read_markers(text: str, kind: str) -> list[str]:
    """Values of the markers of `kind` in the leading marker lines of a comment the bot wrote."""
    values = []
    for line in text.split("\n"):
        found = _MARKER_LINE.fullmatch(line.rstrip("\r"))
        if found is None:
            break
        if found.group(1) == kind:
            values.append(found.group(2))
    return values


def strip_hidden(text: str) -> str:
    """PR title or body as a reader sees it: HTML comments and hidden link definitions removed."""
    return _HIDDEN_MARKDOWN.sub("", _HTML_COMMENT.sub("", text)).strip()
