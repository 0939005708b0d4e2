"""What a posted body renders to under a real CommonMark parser: the checks of output safety.

markdown-it-py comes with rich (a runtime dependency), pinned in requirements.lock; the test
extra may not repeat a package the lock holds (tests/test_packaging.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from markdown_it import MarkdownIt
from markdown_it.token import Token

_MD = MarkdownIt("commonmark", {"html": True}).enable("table")
_MARKER_LINE = re.compile(r"<!-- tiered-review:[a-z_]+ [^<>\r\n]*? -->")
_DETAILS = re.compile(r"<details><summary>[^<>]*</summary>|</details>")
# GitHub's mention filter: an @ not preceded by a word character or a backtick, then a login.
_MENTION = re.compile(r"(?<![\w`])@[A-Za-z0-9]")


def _flat(tokens: list[Token]) -> Iterator[Token]:
    for token in tokens:
        yield token
        if token.children:
            yield from _flat(token.children)


def problems(body: str) -> list[str]:
    """Every HTML element, image, link or mention the bot did not write itself."""
    found: list[str] = []
    for token in _flat(_MD.parse(body)):
        if token.type == "html_block":
            lines = [line for line in token.content.splitlines() if line.strip()]
            bad = [x for x in lines if not (_MARKER_LINE.fullmatch(x) or _DETAILS.fullmatch(x))]
            found += [f"html block: {x!r}" for x in bad]
        elif token.type == "html_inline":
            found.append(f"inline html: {token.content!r}")
        elif token.type in ("image", "link_open"):
            found.append(f"{token.type}: {token.attrs}")
        elif token.type == "text" and _MENTION.search(token.content):
            found.append(f"mention: {token.content!r}")
    return found
