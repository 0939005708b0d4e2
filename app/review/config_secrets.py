"""Secrets in config files found by their key: .env, YAML, INI, properties, TOML and JSON lines.

In a config file a value under a key that names a secret is a secret whatever its entropy
(`password: CorrectHorseBatteryStaple`, `db_password: Tr0ub4dor&3`); only placeholders and
references are spared (`changeme`, `${VAR}`, `<...>`, empty, env or secret-store references).
In a .env file every value is a secret; in an example .env file, only values that look generated.
Which lines belong to which file comes from `app.plan.diff.hunk_lines`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from enum import StrEnum

from app.plan.diff import hunk_lines
from app.review.secret_values import EOL, SecretKind, Span, looks_like_secret, marker


class ConfigKind(StrEnum):
    """How a file's values are judged."""

    ENV = "env"  # .env: every value is a secret
    ENV_EXAMPLE = "env_example"  # .env.example: values that look generated
    CONFIG = "config"  # YAML, INI, properties, TOML, JSON: values under secret-naming keys


_EXAMPLE_SUFFIXES = (".example", ".sample", ".template")
_CONFIG_SUFFIXES = (".yml", ".yaml", ".ini", ".cfg", ".conf", ".properties", ".toml", ".json")
_CONFIG_NAMES = (".npmrc", ".pypirc", ".netrc", ".pgpass")
_HEADER_WITH_CONFIG = re.compile(
    r"^(?:diff --git |\+\+\+ ).*?(?:\.env\b|\.ya?ml\b|\.ini\b|\.cfg\b|\.conf\b|\.properties\b"
    r"|\.toml\b|\.json\b|\.npmrc|\.pypirc|\.netrc|\.pgpass)",
    re.M,
)


def config_kind(path: str) -> ConfigKind | None:
    """How the values of the file at `path` are judged, or None for a file that is not config."""
    name = path.rsplit("/", 1)[-1]
    if name == ".env" or name.startswith(".env."):
        return ConfigKind.ENV_EXAMPLE if name.endswith(_EXAMPLE_SUFFIXES) else ConfigKind.ENV
    lowered = name.lower()
    if lowered.endswith(_CONFIG_SUFFIXES) or lowered in _CONFIG_NAMES:
        return ConfigKind.CONFIG
    return None


def config_lines(diff_text: str) -> dict[int, ConfigKind]:
    """Map the index of each content line of a config file in the diff to the file's kind."""
    if _HEADER_WITH_CONFIG.search(diff_text) is None:
        return {}  # most diffs touch no config file: skip the line walk
    out: dict[int, ConfigKind] = {}
    for index, path in hunk_lines(diff_text).items():
        kind = config_kind(path)
        if kind is not None:
            out[index] = kind
    return out


# Key names whose last word names a secret, and the words before "key" that make it one.
_SECRET_WORDS = frozenset(
    {"password", "passwd", "pwd", "passphrase", "secret", "token", "credential", "credentials"}
    | {"apikey", "secretkey", "accesskey", "privatekey", "authtoken", "pass"}
)
_KEY_QUALIFIERS = frozenset({"api", "access", "private", "secret", "signing", "encryption", "auth"})
_WORD_BREAK = re.compile(r"[_.\-\s]+|(?<=[a-z0-9])(?=[A-Z])")


def names_a_secret(key: str) -> bool:
    """Whether a config key names a secret: `db_password`, `apiKey`, `_authToken`, `api.key`."""
    words = [w.lower() for w in _WORD_BREAK.split(key) if w]
    if not words:
        return False
    if words[-1] in _SECRET_WORDS:
        return True
    return words[-1] == "key" and len(words) > 1 and words[-2] in _KEY_QUALIFIERS


_PLACEHOLDERS = frozenset(
    {"changeme", "change_me", "change-me", "example", "placeholder", "redacted", "secret"}
    | {"password", "todo", "tbd", "none", "null", "nil", "~", "true", "false", "yes", "no"}
    | {"on", "off", "required", "optional", "string", "str", "...", "''", '""'}
)
# References to where a secret lives, not the secret: $VAR, ${VAR}, %(x)s, {{ x }}, <your-key>,
# YAML tags such as !secret and !env_var, and env or secret-store URIs.
_REFERENCE = re.compile(
    r"^(?:\$|%\(|\{\{|<.*>$|!|(?:env|vault|ssm|secretsmanager|op|keyvault|file|arn)[:/])"
    r"|\$\{|\{\{|os\.environ|getenv|process\.env|ENV\[",
    re.I,
)


def is_placeholder(value: str) -> bool:
    """Whether a value under a secret's key is a placeholder or a reference, not a secret."""
    bare = value.strip().strip("\"'").strip()
    if not bare or "REDACTED:" in bare or bare.lower() in _PLACEHOLDERS:
        return True
    if len(set(bare)) == 1 or bare.lower().startswith(("your", "my-", "my_", "<")):
        return True  # xxxx, ****, your-token-here
    return _REFERENCE.search(bare) is not None


# `key = value`, `key: value`, `"key": value`, YAML list items and `export KEY=value`, at the start
# of a line; then the value: quoted to its closing quote, else to a comment or the line's end.
_LINE_PAIR = re.compile(
    r"[ \t]*(?:-[ \t]+)?(?:export[ \t]+)?(?P<q>[\"']?)(?P<key>[A-Za-z_.][A-Za-z0-9_.\-]*+)(?P=q)"
    r"[ \t]*(?:=|:(?=[ \t]|$))[ \t]*"
)
_DOTENV_KEY = re.compile(r"[ \t]*(?:export[ \t]+)?[A-Za-z_][A-Za-z0-9_.\-]*+[ \t]*=[ \t]*")
_DOTENV_REFERENCE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}|\$[A-Za-z_][A-Za-z0-9_]*")
_JSON_PAIR = re.compile(r"\"(?P<key>[A-Za-z_.][A-Za-z0-9_.\-]*+)\"[ \t]*:[ \t]*(?=\")")
_COMMENT = re.compile(r"[ \t]+[#;]")


def _value_span(content: str, start: int) -> Span | None:
    """The span of the value starting at `start`: inside its quotes, or up to a comment."""
    stop = EOL.search(content, start)
    end = len(content) if stop is None else stop.start()
    quote = content[start : start + 1]
    if quote in ("'", '"'):
        start += 1
        close = content.find(quote, start, end)
        end = end if close == -1 else close  # unclosed: a multi-line value starts here
    else:
        comment = _COMMENT.search(content, start, end)
        end = end if comment is None else comment.start()
        while end > start and content[end - 1] in " \t,":
            end -= 1
    return (start, end) if end > start else None


def _secret_spans(content: str, kind: ConfigKind) -> list[Span]:
    """Spans of the secret values on one content line of a config file."""
    if kind is not ConfigKind.CONFIG:
        found = _DOTENV_KEY.match(content)
        span = _value_span(content, found.end()) if found is not None else None
        if span is None:
            return []
        value = content[span[0] : span[1]]
        if "REDACTED:" in value or _DOTENV_REFERENCE.fullmatch(value):
            return []
        if kind is ConfigKind.ENV_EXAMPLE and not looks_like_secret(value):
            return []
        return [span]
    pairs = [m for m in (_LINE_PAIR.match(content),) if m is not None]
    pairs += [m for m in _JSON_PAIR.finditer(content) if not pairs or m.start() > pairs[0].end()]
    spans = []
    for pair in pairs:
        span = _value_span(content, pair.end())
        if span is None or not names_a_secret(pair.group("key")):
            continue
        if not is_placeholder(content[span[0] : span[1]]):
            spans.append(span)
    return spans


def redact_config_lines(
    text: str, lines: Mapping[int, ConfigKind], counts: Counter[SecretKind]
) -> str:
    """Redact the secret values on the given diff lines of config files."""
    split = text.split("\n")
    changed = False
    for index, kind in lines.items():
        line = split[index]
        spans = _secret_spans(line[1:], kind)
        secret = SecretKind.DOTENV if kind is not ConfigKind.CONFIG else SecretKind.ASSIGNED_SECRET
        for start, end in reversed(spans):
            line = line[: start + 1] + marker(secret) + line[end + 1 :]
            counts[secret] += 1
        if spans:
            split[index] = line
            changed = True
    return "\n".join(split) if changed else text
