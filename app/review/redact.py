"""Secret redaction: credentials in diffs and PR text become markers before any model sees them.

The concepts live beside it: what counts as a secret value (`secret_values.py`), private key
blocks (`private_keys.py`) and values under secret-naming keys in config files
(`config_secrets.py`). This module holds the token shapes and the order the rules run in.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from app.review.config_secrets import ConfigKind, config_lines, redact_config_lines
from app.review.private_keys import redact_private_keys
from app.review.secret_values import (
    AWS_NEARBY_ENTROPY_BITS,
    AWS_NEARBY_LINES,
    MIN_ENTROPY_BITS,
    NL,
    Redacted,
    SecretKind,
    Span,
    looks_like_secret,
    marker,
    mixed_case_and_digits,
    replace_spans,
    shannon_entropy,
)

__all__ = ["Redacted", "SecretKind", "marker", "redact_diff", "redact_many", "redact_text"]

_NEWLINE = re.compile("\n")

# "starts a token" check is a lookbehind placed after the literal; runs are possessive or bounded,
# so no input makes the engine re-scan a long run from each of its positions.
_T = r"A-Za-z0-9_\-"
_GITHUB = (
    r"g(?:h[pousr]_(?<![A-Za-z0-9_].{4})[A-Za-z0-9]{36,}+"
    r"|ithub_pat_(?<![A-Za-z0-9_].{11})[A-Za-z0-9_]{22,}+)"
)
_ANTHROPIC = rf"sk-ant-(?<![{_T}].{{7}})[{_T}]{{20,}}+"
_OPENAI = rf"sk-(?<![{_T}].{{3}})(?!ant-)[{_T}]{{20,}}+"
_SLACK = rf"xox[abprs]-(?<![{_T}].{{5}})[A-Za-z0-9\-]{{10,}}+"
_GOOGLE = rf"AIza(?<![{_T}].{{4}})[{_T}]{{35}}(?![{_T}])"
_JWT = rf"eyJ(?<![{_T}].{{3}})[{_T}]{{2,}}+\.[{_T}]{{2,}}+\.[{_T}]*+"
_AWS_ID = r"A[KS]IA(?<![A-Za-z0-9].{4})[A-Z0-9]{16}(?![A-Za-z0-9])"
# Passwords may contain "@" unescaped, so the password runs to the last "@" before the host; it
# stops at quotes, which end the URL in code.
_URL = r"""://[^\s/:@?#"'`]{0,256}+:(?P<password>[^\s/"'`]{1,256})@"""
# Rules on names run over an equal-length lowercased copy (case-insensitive regexes are slow):
# a secret-looking name, the rest of it, a closing quote or subscript bracket (JSON keys,
# config["token"]) and an operator = := or =>, or a colon after a quote or before a space (not
# the colons of "arn:aws:secretsmanager:..." or of a URL).
_ASSIGN = (
    r"""[a-z0-9_.\-]{0,64}+(?:["']?\]?[ \t]*(?:=>|:=|=(?![=~]))|["']\]?[ \t]*:(?![:/])"""
    r"""|\]?[ \t]*:(?=[ \t]))[ \t]*"""
)
_AWS_NAMED = (
    r"secret(?:[_\-]?access[_\-]?key|(?<=aws[_\-]secret)|(?<=awssecret))"
    + _ASSIGN
    + r"""[bru]?["'`]?(?P<value>[a-z0-9/+]{40})(?![a-z0-9/+=])"""
)
_ASSIGNED = (
    r"(?:passw(?:or)?d|pwd|secret|token|api[_\-]?key|access[_\-]?key|private[_\-]?key"
    r"|auth(?!or(?!i[sz]))|credential)"
    + _ASSIGN
    + rf"""(?:[bruf]{{0,2}}(?:"(?P<dq>[^"{NL}]*+)"|'(?P<sq>[^'{NL}]*+)'"""
    + rf"""|`(?P<bq>[^`{NL}]*+)`)"""
    + r"""|(?:(?:bearer|basic|token)[ \t]+)?(?P<bare>[^\s"'`,;&()\[\]{}<>]++))"""
)
_AWS_NEARBY = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
_AUTH_SCHEME = re.compile(r"(?i:bearer|basic|token)[ \t]+")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")

# Given a match (on the text, or on its lowercased copy) and the original text: what to replace.
_Select = Callable[[re.Match[str], str], Span | None]


def _whole(match: re.Match[str], text: str) -> Span | None:
    return match.span()


def _openai(match: re.Match[str], text: str) -> Span | None:
    # OpenAI keys are random base62; "sk-" and a long kebab-case word is a slug or a CSS class.
    return match.span() if mixed_case_and_digits(match.group()[3:]) else None


def _url_password(match: re.Match[str], text: str) -> Span | None:
    # Any literal password in a URL is redacted, however weak; only template references stay.
    password = match.group("password")
    if not text[match.start() - 1 : match.start()].isalnum():
        return None  # no scheme before "://"
    if password.startswith(("$", "{", "<", "%", "*")) or "REDACTED:" in password:
        return None
    return match.span("password")


def _aws_named(match: re.Match[str], text: str) -> Span | None:
    start, end = match.span("value")
    return (start, end) if shannon_entropy(text[start:end]) >= MIN_ENTROPY_BITS else None


def _assigned(match: re.Match[str], text: str) -> Span | None:
    group = next(g for g in ("dq", "sq", "bq", "bare") if match.group(g) is not None)
    if group == "bare" and text[match.end() : match.end() + 1] in ("(", "["):
        return None  # a call or a subscript: code, not a literal
    before = text[max(0, match.start() - 24) : match.start()]
    opened = before.rfind("[REDACTED:")
    if opened != -1 and "]" not in before[opened:]:
        return None  # the name is a marker's kind, such as [REDACTED:github_token]
    start, end = match.span(group)
    if (scheme := _AUTH_SCHEME.match(text, start, end)) is not None:
        start = scheme.end()
    return (start, end) if looks_like_secret(text[start:end]) else None


@dataclass(frozen=True, slots=True)
class _Rule:
    kind: SecretKind
    pattern: re.Pattern[str]
    select: _Select = _whole
    lowercase: bool = False


# Most specific first: a token inside an assignment is reported as the token, and later rules
# skip anything already replaced by a marker.
_TOKEN_RULES = (
    _Rule(SecretKind.GITHUB_TOKEN, re.compile(_GITHUB)),
    _Rule(SecretKind.ANTHROPIC_KEY, re.compile(_ANTHROPIC)),
    _Rule(SecretKind.OPENAI_KEY, re.compile(_OPENAI), _openai),
    _Rule(SecretKind.SLACK_TOKEN, re.compile(_SLACK)),
    _Rule(SecretKind.GOOGLE_API_KEY, re.compile(_GOOGLE)),
    _Rule(SecretKind.JWT, re.compile(_JWT)),
    _Rule(SecretKind.AWS_ACCESS_KEY, re.compile(_AWS_ID)),
    _Rule(SecretKind.AWS_SECRET_KEY, re.compile(_AWS_NAMED), _aws_named, lowercase=True),
)
_URL_RULE = _Rule(SecretKind.URL_PASSWORD, re.compile(_URL), _url_password)
_ASSIGNED_RULE = _Rule(SecretKind.ASSIGNED_SECRET, re.compile(_ASSIGNED), _assigned, lowercase=True)
_AWS_MARKER = marker(SecretKind.AWS_ACCESS_KEY)


def _lowercase(text: str, cache: dict[str, str]) -> str:
    # Reused while no rule has changed the text. str.lower() is fast but lengthens U+0130, and
    # match offsets in the copy must be offsets in the original.
    if (lowered := cache.get(text)) is None:
        lowered = text.lower()
        if len(lowered) != len(text):
            lowered = text.translate(_ASCII_LOWER)
        cache.clear()
        cache[text] = lowered
    return lowered


def _apply(rule: _Rule, text: str, counts: Counter[SecretKind], lowered: dict[str, str]) -> str:
    subject = _lowercase(text, lowered) if rule.lowercase else text
    matches = rule.pattern.finditer(subject)
    spans = (span for m in matches if (span := rule.select(m, text)) is not None)
    return replace_spans(text, spans, rule.kind, counts)


def _redact_aws_nearby(text: str, counts: Counter[SecretKind]) -> str:
    """Redact bare 40-character secret keys within a few lines of a (redacted) access key id."""
    # Newline offsets once, then a bisect per id: linear even when one huge line holds many ids.
    newlines = [m.start() for m in _NEWLINE.finditer(text)]
    windows: list[Span] = []
    pos = text.find(_AWS_MARKER)
    while pos != -1:
        line = bisect.bisect_left(newlines, pos)
        first, last = max(0, line - AWS_NEARBY_LINES), line + AWS_NEARBY_LINES
        start = newlines[first - 1] + 1 if first > 0 else 0
        end = newlines[last] if last < len(newlines) else len(text)
        if windows and start <= windows[-1][1]:
            windows[-1] = (windows[-1][0], end)
        else:
            windows.append((start, end))
        pos = text.find(_AWS_MARKER, pos + 1)
    spans = (
        match.span()
        for start, end in windows
        for match in _AWS_NEARBY.finditer(text, start, end)
        if _looks_like_aws_secret(match.group())
    )
    return replace_spans(text, spans, SecretKind.AWS_SECRET_KEY, counts)


def _looks_like_aws_secret(value: str) -> bool:
    return mixed_case_and_digits(value) and shannon_entropy(value) >= AWS_NEARBY_ENTROPY_BITS


def _redact(text: str, config: Mapping[int, ConfigKind]) -> Redacted:
    counts: Counter[SecretKind] = Counter()
    lowered: dict[str, str] = {}
    text = redact_private_keys(text, counts)
    for rule in _TOKEN_RULES:
        text = _apply(rule, text, counts, lowered)
    if _AWS_MARKER in text:
        text = _redact_aws_nearby(text, counts)
    text = _apply(_URL_RULE, text, counts, lowered)
    if config:
        text = redact_config_lines(text, config, counts)
    text = _apply(_ASSIGNED_RULE, text, counts, lowered)
    ordered = {kind: counts[kind] for kind in SecretKind if counts[kind]}
    return Redacted(text, MappingProxyType(ordered))


def redact_text(text: str) -> Redacted:
    """Replace every secret in text with a marker, leaving lines and all other bytes unchanged."""
    return _redact(text, {})


def redact_diff(diff_text: str) -> Redacted:
    """Redact a diff like redact_text, and also the secret values of the config files it touches.

    Numbered hunks (`app.plan.numbering`: `R12 +code`) are redacted as the unified diff they
    wrap, so that a key block spanning lines is recognised; the anchors are put back after.
    """
    anchors: dict[int, str] = {}
    lines = diff_text.split("\n")
    for index, line in enumerate(lines):
        anchor = _ANCHOR.match(line)
        if anchor is not None:
            anchors[index] = anchor.group()
            lines[index] = line[anchor.end() :]
    if not anchors:
        return _redact(diff_text, config_lines(diff_text))
    unified = "\n".join(lines)
    result = _redact(unified, config_lines(unified))
    redacted = result.text.split("\n")
    if len(redacted) != len(lines):  # never expected; without anchors the diff is still safe
        return result
    for index, gutter in anchors.items():
        redacted[index] = gutter + redacted[index]
    return Redacted("\n".join(redacted), result.counts)


_ANCHOR = re.compile(r"[LR][0-9]{1,9} (?=[-+ ])")


def redact_many(parts: Mapping[str, str]) -> tuple[dict[str, str], Mapping[SecretKind, int]]:
    """Redact several texts (title, body, file names), returning them and the summed counts."""
    texts: dict[str, str] = {}
    counts: Counter[SecretKind] = Counter()
    for name, text in parts.items():
        result = redact_text(text)
        texts[name] = result.text
        counts.update(result.counts)
    ordered = {kind: counts[kind] for kind in SecretKind if counts[kind]}
    return texts, MappingProxyType(ordered)
