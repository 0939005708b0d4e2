"""Tests for app.review.redact: every kind of secret becomes a marker, and nothing else changes."""

from __future__ import annotations

import base64
import hashlib
import string
import time
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from unidiff import PatchSet

from app.review.redact import Redacted, SecretKind, marker, redact_diff, redact_many, redact_text
from app.review.secret_values import MIN_ENTROPY_BITS, MIN_SECRET_LENGTH, shannon_entropy

# Every secret below is built at runtime from an obvious pattern, so no literal in this file
# looks like a real credential to a secret scanner.
_ALNUM = string.ascii_letters + string.digits


def fake(length: int, start: int = 0) -> str:
    """Return a fake high-entropy value: a stride through the alphanumerics."""
    return "".join(_ALNUM[(start + 7 * i) % len(_ALNUM)] for i in range(length))


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


GITHUB = "ghp_" + "a1B2" * 9
GITHUB_PAT = "github_pat_" + "a1B2" * 6 + "_" + "c3D4" * 15
ANTHROPIC = "sk-ant-api03-" + "a1B2" * 20
OPENAI = "sk-proj-" + "a1B2" * 12
OPENAI_LEGACY = "sk-" + "a1B2" * 12
AWS_ID = "AKIA" + "A1B2" * 4
AWS_SECRET = fake(40)
SLACK = "xoxb-" + "1234-" + "a1B2" * 6
GOOGLE = "AIza" + ("a1B2" * 9)[:35]
JWT = ".".join([b64url(b'{"alg":"HS256","typ":"JWT"}'), b64url(b'{"sub":"42"}'), fake(43)])
PASSWORD = fake(12, 3)
VALUE = fake(24, 5)
BEGIN = "-----BEGIN " + "RSA PRIVATE" + " KEY-----"
END = "-----END " + "RSA PRIVATE" + " KEY-----"
PEM_BODY = [fake(64), fake(64, 1), fake(64, 2), fake(20, 3) + "=="]

K = SecretKind

# (kind, a line holding the secret, the secret)
CASES = [
    (K.GITHUB_TOKEN, f'token = "{GITHUB}"', GITHUB),
    (K.GITHUB_TOKEN, f"gh auth login --with-token {GITHUB_PAT}", GITHUB_PAT),
    (K.ANTHROPIC_KEY, f"client = Anthropic(api_key='{ANTHROPIC}')", ANTHROPIC),
    (K.OPENAI_KEY, f'OPENAI_API_KEY: "{OPENAI}"', OPENAI),
    (K.OPENAI_KEY, f"export OPENAI_API_KEY={OPENAI_LEGACY}", OPENAI_LEGACY),
    (K.AWS_ACCESS_KEY, f"aws_access_key_id = {AWS_ID}", AWS_ID),
    (K.AWS_SECRET_KEY, f"aws_secret_access_key = {AWS_SECRET}", AWS_SECRET),
    (K.AWS_SECRET_KEY, f'{{"SecretAccessKey": "{AWS_SECRET}"}}', AWS_SECRET),
    (K.SLACK_TOKEN, f"notify(channel, '{SLACK}')", SLACK),
    (K.GOOGLE_API_KEY, f"maps.init('{GOOGLE}')", GOOGLE),
    (K.JWT, f"Authorization: Bearer {JWT}", JWT),
    (
        K.URL_PASSWORD,
        f"engine = connect('postgres://app:{PASSWORD}@db.internal:5432/app')",
        PASSWORD,
    ),
    (K.ASSIGNED_SECRET, f'password = "{VALUE}"', VALUE),
    (K.ASSIGNED_SECRET, f"  client_secret: {VALUE}", VALUE),
    (K.ASSIGNED_SECRET, f"'apiKey' => '{VALUE}',", VALUE),
    (K.ASSIGNED_SECRET, f"DB_PASSWD={VALUE}", VALUE),
    (K.ASSIGNED_SECRET, f"authToken := `{VALUE}`", VALUE),
    (K.ASSIGNED_SECRET, f'{{"access_key": "{VALUE}", "region": "eu-west-1"}}', VALUE),
    (K.ASSIGNED_SECRET, f"X-Api-Key: {VALUE}", VALUE),
    (K.ASSIGNED_SECRET, f"curl 'https://api.test/v1?token={VALUE}&page=2'", VALUE),
    (K.ASSIGNED_SECRET, f'headers = {{"Authorization": "Bearer {VALUE}"}}', VALUE),
]
CASE_IDS = [f"{kind}-{i}" for i, (kind, _, _) in enumerate(CASES)]

# Where a secret can sit: a diff line of any side, a PR title, a PR body.
CONTEXTS = {
    "added": "+{}",
    "removed": "-{}",
    "context": " {}",
    "title": "Fix deploy: {}",
    "body": "## Summary\n\nThis adds\n\n```\n{}\n```\n\nThanks!\n",
}


def diff(path: str, removed: list[str], added: list[str], context: str = "pass") -> str:
    """Return a one-hunk unified diff of path with one context line and the given changes."""
    old, new = len(removed) + 1, len(added) + 1
    lines = [
        f"diff --git a/{path} b/{path}",
        "index 83db48f..bf269f4 100644",
        f"--- a/{path}",
        f"+++ b/{path}",
        f"@@ -1,{old} +1,{new} @@",
        f" {context}",
        *(f"-{line}" for line in removed),
        *(f"+{line}" for line in added),
    ]
    return "\n".join(lines) + "\n"


def shape(diff_text: str) -> list[tuple[int, int, list[tuple[int, int]]]]:
    """Return what a redaction must keep: per file, added and removed counts and hunk lengths."""
    return [
        (f.added, f.removed, [(h.source_length, h.target_length) for h in f])
        for f in PatchSet(diff_text)
    ]


def assert_same_lines(before: str, after: str) -> None:
    assert after.count("\n") == before.count("\n")
    assert len(after.splitlines()) == len(before.splitlines())


@pytest.mark.parametrize("context", list(CONTEXTS))
@pytest.mark.parametrize(("kind", "line", "secret"), CASES, ids=CASE_IDS)
def test_each_kind_is_redacted_wherever_it_sits(
    kind: SecretKind, line: str, secret: str, context: str
) -> None:
    text = CONTEXTS[context].format(line)
    result = redact_text(text)
    assert secret not in result.text
    assert marker(kind) in result.text
    assert result.counts == {kind: 1}
    assert result.total == 1
    assert result.text == text.replace(secret, marker(kind))


@pytest.mark.parametrize(("kind", "line", "secret"), CASES, ids=CASE_IDS)
def test_each_kind_is_redacted_in_a_diff_keeping_its_shape(
    kind: SecretKind, line: str, secret: str
) -> None:
    text = diff("app/settings.py", [line], [line.replace(secret, "${ROTATED}")])
    result = redact_diff(text)
    assert secret not in result.text
    assert result.counts == {kind: 1}
    assert shape(result.text) == shape(text)
    assert [x[:1] for x in result.text.splitlines()] == [x[:1] for x in text.splitlines()]


@pytest.mark.parametrize(
    ("kind", "secret"),
    [(K.GITHUB_TOKEN, GITHUB), (K.AWS_ACCESS_KEY, AWS_ID), (K.GOOGLE_API_KEY, GOOGLE)],
)
def test_secrets_in_file_names_are_redacted_in_every_header(kind: SecretKind, secret: str) -> None:
    text = diff(f"keys/{secret}.txt", ["old"], ["new"])
    result = redact_diff(text)
    assert secret not in result.text
    assert result.counts == {kind: 4}  # diff --git twice, ---, +++
    (patched,) = PatchSet(result.text)
    assert patched.path == f"keys/{marker(kind)}.txt"
    assert shape(result.text) == shape(text)


def test_secrets_in_file_names_are_redacted_by_redact_many() -> None:
    texts, counts = redact_many({"files": f"README.md\nkeys/{GITHUB}.pem\n"})
    assert texts == {"files": f"README.md\nkeys/{marker(K.GITHUB_TOKEN)}.pem\n"}
    assert counts == {K.GITHUB_TOKEN: 1}


SHA = hashlib.sha1(b"tiered-review").hexdigest()
UUID = str(uuid.UUID(int=0x1234_5678_9ABC_DEF0_0FED_CBA9_8765_4321))
IMAGE = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 3).decode()

NEGATIVES = [
    'password = "changeme"',
    'token = os.environ["TOKEN"]',
    "api_key: str",
    "def connect(password=None, token: str | None = None) -> None:",
    'dsn = "${SECRET}"',
    "password: ${DB_PASSWORD}",
    "SECRET=${SECRET}",
    'author = "jane"',
    'author_email = "jane.doe@example.org"',
    'api_key = "your-api-key-here"',
    'password = "xxxxxxxxxxxxxxxxxxxx"',
    'secret = "aaaaaaaaaaaaaaaaaaaaaaaa"',
    'token = "abc123abc123abc123abc123"',
    'token_count = "12345678901234567890"',
    "token = get_token()",
    "self.token = token",
    "password_hash = hashlib.sha256(password.encode()).hexdigest()",
    "secret_key = settings.SECRET_KEY",
    'headers["Authorization"] = f"Bearer {token}"',
    "max_tokens_per_minute = max_tokens_per_minute",
    "tokenizer = tiktoken.get_encoding('o200k_base')",
    'private_key_path = "/etc/ssl/private/server.key"',
    'token_url = "https://auth.example.com/oauth/token"',
    '"Resource": "arn:aws:secretsmanager:*:*:secret:app-database-credentials-*"',
    f'commit = "{SHA}"',
    f"index {SHA[:7]}..{SHA[-7:]} 100644",
    f"Merge {SHA} into main",
    f'request_id = "{UUID}"',
    f'"idempotency_token": "{UUID}"',
    f'logo_png = "data:image/png;base64,{IMAGE}"',
    f"ICON = '{IMAGE}'",
    "if password != confirm_password:",
    "git@github.com:tiered/review.git and http://[::1]:8080/health",
    "sk-learn and sk-anything are fine, so is ghp_short",
    f'HEADER = "{BEGIN}"',
    "The auth: section documents tokens: see below.",
]


@pytest.mark.parametrize("line", NEGATIVES)
def test_ordinary_code_and_placeholders_are_left_alone(line: str) -> None:
    for context in CONTEXTS.values():
        text = context.format(line)
        assert redact_text(text) == Redacted(text, {})


def test_thresholds_are_what_the_module_documents() -> None:
    assert (MIN_SECRET_LENGTH, MIN_ENTROPY_BITS) == (16, 3.5)
    assert shannon_entropy(VALUE) >= MIN_ENTROPY_BITS
    assert shannon_entropy("a1B2" * 6) < MIN_ENTROPY_BITS
    short = fake(MIN_SECRET_LENGTH - 1)
    assert redact_text(f'password = "{short}"').total == 0
    assert redact_text(f'password = "{fake(MIN_SECRET_LENGTH)}"').total == 1
    assert redact_text(f'password = "{"a1B2" * 6}"').total == 0  # 2 bits per character


def test_private_key_block_keeps_its_lines_and_diff_prefixes() -> None:
    block = [BEGIN, *PEM_BODY, END]
    text = diff("deploy/key.pem", [], block, context="key:")
    result = redact_diff(text)
    assert result.counts == {K.PRIVATE_KEY: 1}
    added = result.text.splitlines()[6:]
    assert added == [f"+{marker(K.PRIVATE_KEY)}"] + ["+"] * (len(block) - 1)
    assert shape(result.text) == shape(text)


def test_private_key_block_replaced_by_another_keeps_both_sides() -> None:
    old = [BEGIN, fake(64, 9), END]
    new = [BEGIN, *PEM_BODY, END]
    text = diff("deploy/key.pem", old, new)
    result = redact_diff(text)
    assert result.counts == {K.PRIVATE_KEY: 2}
    assert result.text.splitlines()[5:] == [
        " pass",
        f"-{marker(K.PRIVATE_KEY)}",
        "-",
        "-",
        f"+{marker(K.PRIVATE_KEY)}",
        *["+"] * (len(new) - 1),
    ]
    assert shape(result.text) == shape(text)


def test_private_key_in_plain_text_and_in_code() -> None:
    plain = "\n".join(["Key:", BEGIN, *PEM_BODY, END, "done"])
    assert redact_text(plain).text == "\n".join(
        ["Key:", marker(K.PRIVATE_KEY), *[""] * (len(PEM_BODY) + 1), "done"]
    )
    code = "\n".join([f'KEY = """{BEGIN}', *PEM_BODY, f'{END}"""', "x = 1"])
    assert redact_text(code).text == "\n".join(
        [f'KEY = """{marker(K.PRIVATE_KEY)}', *[""] * len(PEM_BODY), '"""', "x = 1"]
    )


def test_private_key_on_one_line_as_in_a_json_credentials_file() -> None:
    escaped = "\\n".join([BEGIN, *PEM_BODY, END]) + "\\n"
    line = f'  "private_key": "{escaped}",'
    result = redact_text(f"+{line}\n")
    assert result.text == f'+  "private_key": "{marker(K.PRIVATE_KEY)}\\n",\n'
    assert result.counts == {K.PRIVATE_KEY: 1}


def test_private_key_cut_off_at_a_hunk_end_is_still_redacted() -> None:
    text = "@@ -1,0 +1,3 @@\n+" + BEGIN + "\n+" + PEM_BODY[0] + "\n+" + PEM_BODY[1] + "\n"
    text += "@@ -9,1 +11,1 @@\n-x = 1\n"
    result = redact_text(text)
    assert all(line not in result.text for line in PEM_BODY[:2])
    assert result.text.endswith("+\n+\n@@ -9,1 +11,1 @@\n-x = 1\n")


def test_aws_secret_key_near_an_access_key_id() -> None:
    csv = f"User name,Access key ID,Secret access key\ndeploy,{AWS_ID},{AWS_SECRET}\n"
    assert redact_text(csv).counts == {K.AWS_ACCESS_KEY: 1, K.AWS_SECRET_KEY: 1}
    lines = ["[default]", f"id = {AWS_ID}", "region = eu-west-1", f"key = {AWS_SECRET}"]
    result = redact_text("\n".join(lines))
    assert AWS_SECRET not in result.text
    assert result.counts == {K.AWS_ACCESS_KEY: 1, K.AWS_SECRET_KEY: 1}


def test_forty_character_values_away_from_an_access_key_id_are_kept() -> None:
    far = "\n".join([f"id = {AWS_ID}", *["x = 1"] * 6, f"blob = {AWS_SECRET}"])
    assert AWS_SECRET in redact_text(far).text
    near_sha = f"id = {AWS_ID}\nrevision = {SHA}\n"  # hex only: a git SHA, not a key
    assert redact_text(near_sha).counts == {K.AWS_ACCESS_KEY: 1}


def dotenv_diff(path: str, lines: list[str]) -> str:
    return diff(path, [], lines, context="# settings")


def test_every_value_in_a_dotenv_file_is_redacted() -> None:
    lines = [
        "DB_HOST=localhost",
        'DB_PASSWORD="hunter2"',
        "export API_URL='https://api.internal'",
        "DEBUG=true # inline comment",
        "EMPTY=",
        "# COMMENTED=out",
        "REF=${OTHER}",
        f"GITHUB_TOKEN={GITHUB}",
    ]
    result = redact_diff(dotenv_diff("services/api/.env", lines))
    m = marker(K.DOTENV)
    assert result.text.splitlines()[6:] == [
        f"+DB_HOST={m}",
        f'+DB_PASSWORD="{m}"',
        f"+export API_URL='{m}'",
        f"+DEBUG={m} # inline comment",
        "+EMPTY=",
        "+# COMMENTED=out",
        "+REF=${OTHER}",
        f"+GITHUB_TOKEN={marker(K.GITHUB_TOKEN)}",
    ]
    assert result.counts == {K.GITHUB_TOKEN: 1, K.DOTENV: 4}


@pytest.mark.parametrize("name", [".env", ".env.local", ".env.production"])
def test_dotenv_variants_redact_removed_and_context_values_too(name: str) -> None:
    text = diff(name, ["PORT=8080"], ["PORT=9090"], context="HOST=db")
    result = redact_diff(text)
    assert result.counts == {K.DOTENV: 3}
    assert "8080" not in result.text and "9090" not in result.text
    assert shape(result.text) == shape(text)


@pytest.mark.parametrize("name", [".env.example", ".env.sample", "config/.env.template"])
def test_dotenv_example_files_redact_only_high_entropy_values(name: str) -> None:
    lines = ["DB_HOST=localhost", "API_KEY=your-key-here", f"LEAKED={VALUE}"]
    result = redact_diff(dotenv_diff(name, lines))
    assert result.counts == {K.DOTENV: 1}
    assert result.text.splitlines()[6:] == [
        "+DB_HOST=localhost",
        "+API_KEY=your-key-here",
        f"+LEAKED={marker(K.DOTENV)}",
    ]


def test_dotenv_rules_apply_only_to_dotenv_files() -> None:
    text = diff("settings.ini", [], ["DB_HOST=localhost", "PORT=8080"])
    assert redact_diff(text) == Redacted(text, {})
    assert redact_text("DB_HOST=localhost\n") == Redacted("DB_HOST=localhost\n", {})


def test_dotenv_file_name_in_the_next_file_does_not_leak_into_the_previous() -> None:
    text = diff("app.py", [], ["HOST=db"]) + dotenv_diff(".env", ["HOST=db"])
    result = redact_diff(text)
    assert result.counts == {K.DOTENV: 1}
    assert "+HOST=db" in result.text


def test_counts_are_per_kind_in_kind_order() -> None:
    text = f"a {JWT}\nb {GITHUB}\nc {GITHUB}\npassword = '{VALUE}'\n"
    result = redact_text(text)
    assert dict(result.counts) == {K.GITHUB_TOKEN: 2, K.JWT: 1, K.ASSIGNED_SECRET: 1}
    assert list(result.counts) == [K.GITHUB_TOKEN, K.JWT, K.ASSIGNED_SECRET]
    assert result.total == 4


def test_redact_many_redacts_each_part_and_sums_counts() -> None:
    parts = {
        "title": f"Rotate {GITHUB}",
        "body": f"Old token was {GITHUB}, the session {JWT}.",
        "files": "app/main.py\n.env\n",
    }
    texts, counts = redact_many(parts)
    assert list(texts) == ["title", "body", "files"]
    assert texts["title"] == f"Rotate {marker(K.GITHUB_TOKEN)}"
    assert GITHUB not in texts["body"] and JWT not in texts["body"]
    assert texts["files"] == parts["files"]
    assert counts == {K.GITHUB_TOKEN: 2, K.JWT: 1}


def full_diff() -> str:
    """Return a multi-file diff holding every kind of secret, on every side of its hunks."""
    lines = [line for _, line, _ in CASES]
    return "".join(
        [
            diff("app/settings.py", lines[:8], lines[8:], context=f"id = {AWS_ID}"),
            diff("deploy/key.pem", [BEGIN, fake(64, 7), END], [BEGIN, *PEM_BODY, END]),
            dotenv_diff(".env", ["A=1", f"B={VALUE}"]),
            diff(f"keys/{GITHUB}.txt", ["x"], ["y"]),
            "diff --git a/c.py b/c.py\n--- a/c.py\n+++ b/c.py\n@@ -1 +1 @@\n-a\n+b\n"
            "\\ No newline at end of file\n",
        ]
    )


def test_redacted_diff_still_parses_with_the_same_shape() -> None:
    text = full_diff()
    result = redact_diff(text)
    for _, _, secret in CASES:
        assert secret not in result.text
    assert set(result.counts) == set(SecretKind)
    assert shape(result.text) == shape(text)
    assert_same_lines(text, result.text)
    before, after = text.splitlines(), result.text.splitlines()
    assert [x[:1] for x in after] == [x[:1] for x in before]
    unchanged = [b for b, a in zip(before, after, strict=True) if b == a]
    assert "\\ No newline at end of file" in unchanged and "@@ -1 +1 @@" in unchanged


def test_redaction_is_idempotent() -> None:
    samples = [full_diff()] + [c.format(line) for _, line, _ in CASES for c in CONTEXTS.values()]
    for text in samples:
        once = redact_diff(text)
        assert once.total > 0
        assert redact_diff(once.text) == Redacted(once.text, {})
        assert redact_text(once.text) == Redacted(once.text, {})


# Pieces that exercise every rule, for property tests that need more than random text.
FRAGMENTS = [
    *(line for _, line, _ in CASES),
    *(secret for _, _, secret in CASES),
    *NEGATIVES,
    BEGIN,
    END,
    *PEM_BODY,
    "diff --git a/.env b/.env\n+++ b/.env\n@@ -1,2 +1,2 @@\n",
    "password",
    "token",
    "=",
    ": ",
    "=>",
    '"',
    "'",
    "`",
    "[REDACTED:jwt]",
    "\n",
    "\r\n",
    "\n+",
    "\n-",
    "\n ",
    "\x0c",
    "\u2028",
    "://u:",
    "@",
    "\\n",
]
secretish = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=4)), max_size=12).map(
    "".join
)


@settings(max_examples=400, deadline=None)
@given(st.text())
def test_arbitrary_text_keeps_its_line_count(text: str) -> None:
    result = redact_text(text)
    assert_same_lines(text, result.text)
    assert result.total >= 0


@settings(max_examples=400, deadline=None)
@given(secretish)
def test_secretish_text_keeps_lines_and_redacts_idempotently(text: str) -> None:
    for redact in (redact_text, redact_diff):
        once = redact(text)
        assert_same_lines(text, once.text)
        assert redact(once.text) == Redacted(once.text, {})


ORDINARY = [
    " def handler(event: dict[str, object]) -> None:",
    '+    logger.info("processing %s", event["id"])',
    "-    return compute(a, b) + offset  # keep in sync",
    "+    token_count = len(tokens)",
    ' import os, sys; print("x = %d" % value)',
]


def big_diff(size: int) -> str:
    hunk = "\n".join(ORDINARY * 8 + [f"+password = '{VALUE}'", f"+url = '{JWT}'"]) + "\n"
    header = "diff --git a/m.py b/m.py\n--- a/m.py\n+++ b/m.py\n@@ -1,1 +1,1 @@\n"
    return header + hunk * (size // len(hunk))


def test_ten_megabyte_diff_redacts_quickly() -> None:
    text = big_diff(10_000_000)
    started = time.perf_counter()
    result = redact_diff(text)
    elapsed = time.perf_counter() - started
    assert result.counts[K.JWT] == result.counts[K.ASSIGNED_SECRET] > 1_000
    assert elapsed < 5.0  # about 0.5 s on a laptop; quadratic behaviour would take hours


@pytest.mark.parametrize(
    "text",
    [
        "a" * 1_000_000,
        "eyJ" * 300_000,
        "eyJab." * 200_000,
        "sk-" * 300_000,
        "ghp_" * 250_000,
        (AWS_ID + " ") * 50_000,
        BEGIN * 30_000,
        (BEGIN + "\n") * 30_000,
        "password=" * 100_000,
        "token" * 200_000,
        "a+" * 500_000,
        "://" * 300_000,
        "http://u:" + ":" * 1_000_000,
        'token="' + "a" * 1_000_000,
        "secret_" * 150_000,
        "\n" * 1_000_000,
    ],
    ids=lambda text: repr(text[:12]),
)
def test_adversarial_input_stays_linear(text: str) -> None:
    started = time.perf_counter()
    redact_diff(text)
    assert time.perf_counter() - started < 2.0
