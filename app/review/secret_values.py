"""What counts as a secret value: the kinds of credential, their markers and the value rules.

Shared by the redactors (`redact.py`, `private_keys.py`, `config_secrets.py`): a value found by a
telling shape (a token prefix, a key block) is always a secret; a value found only by its name
must also look generated (length and entropy, below) unless its name alone says it is a secret
in a config file, where only placeholders and references are spared (`is_placeholder`).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

# Which values count as secrets when only a heuristic can tell (ASSIGNED_SECRET, DOTENV in
# .env.example-like files, AWS_SECRET_KEY): at least MIN_SECRET_LENGTH characters, because
# shorter values are examples ("changeme", "hunter2") and too short to measure, and at least
# MIN_ENTROPY_BITS of Shannon entropy per character. Random base62/base64 keys score 3.7-5.3 at
# 16-64 characters; identifiers and words mostly score lower or are filtered out before scoring
# (see _looks_like_secret). Hex-only values need MIN_HEX_SECRET_LENGTH characters (real hex keys
# are 32, 40 or 64 long; shorter hex is mostly digests and ids) and MIN_HEX_ENTROPY_BITS, since a
# 16-symbol alphabet caps them at 4 bits and a random 32-character hex key scores about 3.7.
# Digit-only values never reach 3.5 bits (log2 10 = 3.32), so numbers are never redacted.
MIN_SECRET_LENGTH = 16
MIN_ENTROPY_BITS = 3.5
MIN_HEX_SECRET_LENGTH = 32
MIN_HEX_ENTROPY_BITS = 3.0
# An AWS secret key with no telling name is recognised only near an access key id, and then
# needs upper case, lower case, digits and this entropy, which a 40-character git SHA (hex) lacks.
AWS_NEARBY_LINES = 3
AWS_NEARBY_ENTROPY_BITS = 4.0


class SecretKind(StrEnum):
    """The kind of credential a redaction marker stands for."""

    PRIVATE_KEY = "private_key"
    GITHUB_TOKEN = "github_token"
    ANTHROPIC_KEY = "anthropic_key"
    OPENAI_KEY = "openai_key"
    AWS_ACCESS_KEY = "aws_access_key"
    AWS_SECRET_KEY = "aws_secret_key"
    SLACK_TOKEN = "slack_token"
    GOOGLE_API_KEY = "google_api_key"
    JWT = "jwt"
    URL_PASSWORD = "url_password"
    DOTENV = "dotenv"
    ASSIGNED_SECRET = "assigned_secret"


@dataclass(frozen=True, slots=True)
class Redacted:
    """Text with its secrets replaced by markers, and how many of each kind were replaced."""

    text: str
    counts: Mapping[SecretKind, int]

    @property
    def total(self) -> int:
        """Return how many secrets were replaced."""
        return sum(self.counts.values())


def marker(kind: SecretKind) -> str:
    """Return the text that replaces a secret of this kind."""
    return f"[REDACTED:{kind.value}]"


def shannon_entropy(value: str) -> float:
    """Return the Shannon entropy of value in bits per character."""
    size = len(value)
    if not size:
        return 0.0
    return -sum(n / size * math.log2(n / size) for n in Counter(value).values())


# Everything str.splitlines() breaks on. No pattern consumes one of these, which is what keeps
# Everything str.splitlines() breaks on. No pattern consumes one of these, which is what keeps
# the line count, and so every hunk header of a diff, valid after redaction.
NL = r"\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"
EOL = re.compile(rf"[{NL}]")
DIFF_PREFIXES = ("+", "-", " ")

_WHITESPACE = re.compile(r"\s")
_HEX = re.compile(r"[0-9]*+[A-Fa-f][0-9A-Fa-f]*+")
_UUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
# Words, identifiers (snake_case, camelCase, dotted like os.environ), lowercase or file paths and
# e-mail addresses are code or prose, not credentials: generated keys mix cases and digits at
# random, so they almost never fit these shapes.
_WORDISH = re.compile(
    r"[A-Za-z_.\-/]++|[A-Za-z_$][A-Za-z0-9_$]*+(?:\.[A-Za-z_$][A-Za-z0-9_$]*+)++"
    r"|_?[a-z][a-z0-9]*+(?:_[a-z0-9]++)++|_?[A-Z][A-Z0-9]*+(?:_[A-Z0-9]++)++"
    r"|[a-z]*+[0-9]*+(?:[A-Z][a-z]++[0-9]*+)++"
    r"|[a-z0-9_.\-]*+(?:/[a-z0-9_.\-]*+)++|[A-Za-z0-9_.\-/]*+\.[A-Za-z]{1,5}"
    r"|[A-Za-z0-9_.+\-]++@[A-Za-z0-9.\-]++"
)
# References and locations, not literals: $VAR, %(x)s, {{ x }}, <your-key>, paths, ARNs, URNs.
_TEMPLATE_PREFIXES = ("$", "%", "{", "<", "@", "#")
_LOCATION_PREFIXES = ("/", "./", "../", "~/", "data:", "arn:", "urn:")
_REFERENCE_PREFIXES = _TEMPLATE_PREFIXES + _LOCATION_PREFIXES
_PLACEHOLDER_WORDS = ("changeme", "change_me", "change-me", "example", "placeholder", "redacted")
_PLACEHOLDER_RUNS = ("xxxx", "XXXX", "****", "....", "____")


def looks_like_secret(value: str) -> bool:
    """Whether a literal value plausibly is a generated credential (see the thresholds)."""
    if len(value) < MIN_SECRET_LENGTH or _WHITESPACE.search(value):
        return False
    if value.startswith(_REFERENCE_PREFIXES) or "://" in value:
        return False
    if any(a in value and b in value for a, b in ("{}", "[]", "()")):
        return False  # templates ({x}, {{ x }}), regexes and call syntax
    lowered = value.lower()
    if any(word in lowered for word in _PLACEHOLDER_WORDS):
        return False
    if any(run in value for run in _PLACEHOLDER_RUNS) or _WORDISH.fullmatch(value):
        return False
    if _UUID.fullmatch(value):
        return False  # request ids and pagination tokens; UUID-shaped keys are rare
    if _HEX.fullmatch(value):
        hex_ok = len(value) >= MIN_HEX_SECRET_LENGTH
        return hex_ok and shannon_entropy(value) >= MIN_HEX_ENTROPY_BITS
    return shannon_entropy(value) >= MIN_ENTROPY_BITS


def mixed_case_and_digits(value: str) -> bool:
    return (
        any(c.isupper() for c in value)
        and any(c.islower() for c in value)
        and any(c.isdigit() for c in value)
    )


Span = tuple[int, int]


def replace_spans(
    text: str, spans: Iterable[Span], kind: SecretKind, counts: Counter[SecretKind]
) -> str:
    """`text` with each span replaced by the kind's marker, counted."""
    parts: list[str] = []
    last = 0
    for start, end in spans:
        parts += [text[last:start], marker(kind)]
        last = end
        counts[kind] += 1
    return "".join(parts) + text[last:] if parts else text
