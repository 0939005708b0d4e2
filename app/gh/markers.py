"""Hidden markers the bot leaves in its own comments, and the defences around untrusted text.

A marker is an HTML comment, `<!-- tiered-review:KIND VALUE -->`, invisible on GitHub. Markers
are trusted only in comments the bot itself wrote (the caller checks the author); any text that
did not come from the bot (PR title and body, model output) is escaped so it cannot forge one.
"""

from __future__ import annotations

import re

PREFIX = "tiered-review:"
_MARKER = re.compile(r"<!-- tiered-review:([a-z_]+) ([^<>]*?) -->")
_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.S)
# Markdown that renders to nothing: reference-style link definitions used as comments.
_HIDDEN_MARKDOWN = re.compile(
    r"^\s*\[(?://|comment|_)\]:\s*(?:#|<>)?\s*(?:\(.*?\)|\".*?\")?\s*$", re.M | re.I
)
_MENTION = re.compile(r"(?<![\w`])@(?=[A-Za-z0-9][\w-]*)")


def marker(kind: str, value: str) -> str:
    """One hidden marker; the value may not contain angle brackets or newlines."""
    if not re.fullmatch(r"[a-z_]+", kind):
        raise ValueError(f"marker kind {kind!r}: lowercase letters and _ only, or none reads it")
    clean = re.sub(r"[<>\n\r]", "", value).strip()
    return f"<!-- {PREFIX}{kind} {clean} -->"


def read_markers(text: str, kind: str) -> list[str]:
    """Values of every marker of `kind` in a comment the bot wrote."""
    return [m.group(2) for m in _MARKER.finditer(text) if m.group(1) == kind]


def strip_hidden(text: str) -> str:
    """PR title or body as a reader sees it: HTML comments and hidden link definitions removed."""
    return _HIDDEN_MARKDOWN.sub("", _HTML_COMMENT.sub("", text)).strip()


def neutralise(text: str) -> str:
    """Model or PR text made safe to post: no marker can be forged, no one gets @-mentioned."""
    text = text.replace("<!--", "&lt;!--").replace("-->", "--&gt;")
    return _MENTION.sub("@\u200b", text)
