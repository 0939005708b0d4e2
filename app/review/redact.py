"""Secret redaction: credentials in diffs and PR text become markers before any model sees them."""

from __future__ import annotations

import bisect
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

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
# the line count, and so every hunk header of a diff, valid after redaction.
_NL = r"\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"
_EOL = re.compile(rf"[{_NL}]")
_NEWLINE = re.compile("\n")
_DIFF_PREFIXES = ("+", "-", " ")
_FILE_HEADERS = ("diff --git ", "+++ ", "--- ")

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
        rf"""|(?:Proc-Type|DEK-Info|Comment|Version|Hash):[^{_NL}]*+){optional}"""
        r"""(?:\\{1,2}n)?["'`]?[ \t]*[+,]?[ \t]*\\?"""
    )


_PEM_BODY = _pem_body(4, "?")
# The line after BEGIN must look like a real key (a full base64 line or a header) for a block to
# open, so code such as `HEADER = "-----BEGIN PRIVATE KEY-----"` is left alone.
_PEM_FIRST = _pem_body(16, "")
# Speed and linear time: each pattern starts with a literal, so the engine jumps between its
# occurrences instead of trying every position (about 20 times faster on a 10 MB diff); the
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
    + rf"""(?:[bruf]{{0,2}}(?:"(?P<dq>[^"{_NL}]*+)"|'(?P<sq>[^'{_NL}]*+)'"""
    + rf"""|`(?P<bq>[^`{_NL}]*+)`)"""
    + r"""|(?:(?:bearer|basic|token)[ \t]+)?(?P<bare>[^\s"'`,;&()\[\]{}<>]++))"""
)
_AWS_NEARBY = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
_AUTH_SCHEME = re.compile(r"(?i:bearer|basic|token)[ \t]+")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")

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


def _looks_like_secret(value: str) -> bool:
    """Return whether a literal value plausibly is a generated credential (see the thresholds)."""
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


def _mixed(value: str) -> bool:
    return (
        any(c.isupper() for c in value)
        and any(c.islower() for c in value)
        and any(c.isdigit() for c in value)
    )


_Span = tuple[int, int]
# Given a match (on the text, or on its lowercased copy) and the original text: what to replace.
_Select = Callable[[re.Match[str], str], _Span | None]


def _whole(match: re.Match[str], text: str) -> _Span | None:
    return match.span()


def _openai(match: re.Match[str], text: str) -> _Span | None:
    # OpenAI keys are random base62; "sk-" and a long kebab-case word is a slug or a CSS class.
    return match.span() if _mixed(match.group()[3:]) else None


def _url_password(match: re.Match[str], text: str) -> _Span | None:
    # Any literal password in a URL is redacted, however weak; only template references stay.
    password = match.group("password")
    if not text[match.start() - 1 : match.start()].isalnum():
        return None  # no scheme before "://"
    if password.startswith(("$", "{", "<", "%", "*")) or "REDACTED:" in password:
        return None
    return match.span("password")


def _aws_named(match: re.Match[str], text: str) -> _Span | None:
    start, end = match.span("value")
    return (start, end) if shannon_entropy(text[start:end]) >= MIN_ENTROPY_BITS else None


def _assigned(match: re.Match[str], text: str) -> _Span | None:
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
    return (start, end) if _looks_like_secret(text[start:end]) else None


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


def _replace(
    text: str, spans: Iterable[_Span], kind: SecretKind, counts: Counter[SecretKind]
) -> str:
    parts: list[str] = []
    last = 0
    for start, end in spans:
        parts += [text[last:start], marker(kind)]
        last = end
        counts[kind] += 1
    return "".join(parts) + text[last:] if parts else text


def _apply(rule: _Rule, text: str, counts: Counter[SecretKind], lowered: dict[str, str]) -> str:
    subject = _lowercase(text, lowered) if rule.lowercase else text
    matches = rule.pattern.finditer(subject)
    spans = (span for m in matches if (span := rule.select(m, text)) is not None)
    return _replace(text, spans, rule.kind, counts)


def _split_eol(line: str) -> tuple[str, str]:
    if line.endswith("\r\n"):
        return line[:-2], "\r\n"
    if line and _EOL.match(line[-1]):
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
    keep = line[:1] if prefixed and line.startswith(_DIFF_PREFIXES) else ""
    return keep, line[len(keep) :]


def _closes(rest: str) -> int:
    """Return where the block's END marker ends in a line, or -1 if the line has none."""
    end = _PEM_END.search(rest)
    return end.end() if end is not None and _PEM_BODY.fullmatch(rest, 0, end.start()) else -1


def _opens(following: str, prefixed: bool) -> bool:
    rest = _strip_prefix(following, prefixed)[1]
    return _closes(rest) != -1 or _PEM_FIRST.fullmatch(rest) is not None


def _redact_private_keys(text: str, counts: Counter[SecretKind]) -> str:
    if "PRIVATE KEY" not in text:
        return text
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    prefixed: bool | None = None  # None: no block open; else whether its lines carry +/-/space
    for index, line in enumerate(lines):
        body, eol = _split_eol(line)
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
        following = _split_eol(lines[index + 1])[0] if index + 1 < len(lines) else ""
        new_body, found, opened = _pem_line(body, following)
        counts[SecretKind.PRIVATE_KEY] += found
        if opened is not None:
            prefixed = opened or bool(head)
        out.append(head + new_body + eol)
    return "".join(out)


def _redact_aws_nearby(text: str, counts: Counter[SecretKind]) -> str:
    """Redact bare 40-character secret keys within a few lines of a (redacted) access key id."""
    # Newline offsets once, then a bisect per id: linear even when one huge line holds many ids.
    newlines = [m.start() for m in _NEWLINE.finditer(text)]
    windows: list[_Span] = []
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
    return _replace(text, spans, SecretKind.AWS_SECRET_KEY, counts)


def _looks_like_aws_secret(value: str) -> bool:
    return _mixed(value) and shannon_entropy(value) >= AWS_NEARBY_ENTROPY_BITS


_DOTENV_KEY = re.compile(r"[ \t]*(?:export[ \t]+)?[A-Za-z_][A-Za-z0-9_.\-]*+[ \t]*=[ \t]*")
_DOTENV_COMMENT = re.compile(r"[ \t]+#")
_DOTENV_REFERENCE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}|\$[A-Za-z_][A-Za-z0-9_]*")
_EXAMPLE_SUFFIXES = (".example", ".sample", ".template")


def _dotenv_value(content: str) -> _Span | None:
    """Return the span of the value in a `KEY=value` line of a .env file."""
    key = _DOTENV_KEY.match(content)
    if key is None:
        return None
    start = key.end()
    stop = _EOL.search(content, start)
    end = len(content) if stop is None else stop.start()
    quote = content[start : start + 1]
    if quote in ("'", '"'):
        start += 1
        close = content.find(quote, start, end)
        end = end if close == -1 else close  # unclosed: a multi-line value starts here
    else:
        comment = _DOTENV_COMMENT.search(content, start, end)
        end = end if comment is None else comment.start()
    while end > start and content[end - 1] in " \t":
        end -= 1
    return (start, end) if end > start else None


def _redact_dotenv(text: str, env_lines: Mapping[int, bool], counts: Counter[SecretKind]) -> str:
    """Redact values on the given content lines of .env files (example files: only secrets)."""
    lines = text.split("\n")
    changed = False
    for index, example in env_lines.items():
        line = lines[index]
        span = _dotenv_value(line[1:])
        if span is None:
            continue
        start, end = span[0] + 1, span[1] + 1
        value = line[start:end]
        if "REDACTED:" in value or _DOTENV_REFERENCE.fullmatch(value):
            continue
        if example and not _looks_like_secret(value):
            continue
        lines[index] = line[:start] + marker(SecretKind.DOTENV) + line[end:]
        counts[SecretKind.DOTENV] += 1
        changed = True
    return "\n".join(lines) if changed else text


_HUNK = re.compile(r"@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@")


def _diff_path(header: str) -> str | None:
    path = header.split("\t", 1)[0].strip().strip('"')
    if path == "/dev/null":
        return None
    return path[2:] if path.startswith(("a/", "b/")) else path


def _env_kind(path: str | None) -> bool | None:
    """Return None for a non-.env file, else whether it is an example (.env.example) file."""
    name = (path or "").rsplit("/", 1)[-1]
    if name != ".env" and not name.startswith(".env."):
        return None
    return name.endswith(_EXAMPLE_SUFFIXES)


def _touches_env_file(diff_text: str) -> bool:
    """Return whether a file header line of the diff mentions ".env"."""
    # ".env" is common in code (os.environ), so look only at the lines holding it, each once.
    pos = diff_text.find(".env")
    while pos != -1:
        if diff_text.startswith(_FILE_HEADERS, diff_text.rfind("\n", 0, pos) + 1):
            return True
        end = diff_text.find("\n", pos)
        pos = -1 if end == -1 else diff_text.find(".env", end)
    return False


def _dotenv_lines(diff_text: str) -> dict[int, bool]:
    """Map the index of each content line of a .env file in the diff to whether it is an example."""
    result: dict[int, bool] = {}
    if not _touches_env_file(diff_text):
        return result
    old_path: str | None = None
    kind: bool | None = None  # of the current file: None when it is not a .env file
    old = new = 0
    for index, line in enumerate(diff_text.split("\n")):
        if old > 0 or new > 0:
            # Count hunk lines as unidiff does, so a removed "-- x" line is not a file header.
            tag = line[:1]
            if tag in ("", " ", "\r"):
                old, new = old - 1, new - 1
            elif tag == "-":
                old -= 1
            elif tag == "+":
                new -= 1
            elif tag != "\\":
                old = new = 0
            if tag in _DIFF_PREFIXES and kind is not None:
                result[index] = kind
            if old > 0 or new > 0 or tag in _DIFF_PREFIXES or tag in ("", "\r", "\\"):
                continue
        if line.startswith("diff --git "):
            old_path = None
            kind = _env_kind(line[len("diff --git ") :].rsplit(" b/", 1)[-1])
        elif line.startswith("--- "):
            old_path = _diff_path(line[4:])
        elif line.startswith("+++ "):
            kind = _env_kind(_diff_path(line[4:]) or old_path)
        elif (hunk := _HUNK.match(line)) is not None:
            old = int(hunk.group(1) or "1")
            new = int(hunk.group(2) or "1")
    return result


def _redact(text: str, env_lines: Mapping[int, bool]) -> Redacted:
    counts: Counter[SecretKind] = Counter()
    lowered: dict[str, str] = {}
    text = _redact_private_keys(text, counts)
    for rule in _TOKEN_RULES:
        text = _apply(rule, text, counts, lowered)
    if _AWS_MARKER in text:
        text = _redact_aws_nearby(text, counts)
    text = _apply(_URL_RULE, text, counts, lowered)
    if env_lines:
        text = _redact_dotenv(text, env_lines, counts)
    text = _apply(_ASSIGNED_RULE, text, counts, lowered)
    ordered = {kind: counts[kind] for kind in SecretKind if counts[kind]}
    return Redacted(text, MappingProxyType(ordered))


def redact_text(text: str) -> Redacted:
    """Replace every secret in text with a marker, leaving lines and all other bytes unchanged."""
    return _redact(text, {})


def redact_diff(diff_text: str) -> Redacted:
    """Redact a unified diff like redact_text, and also every value in the .env files it touches.

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
        return _redact(diff_text, _dotenv_lines(diff_text))
    unified = "\n".join(lines)
    result = _redact(unified, _dotenv_lines(unified))
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
