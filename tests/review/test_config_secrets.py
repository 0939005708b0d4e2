"""Values under secret-naming keys in config files: which keys, which values are spared."""

from __future__ import annotations

import pytest

from app.review.config_secrets import ConfigKind, config_kind, is_placeholder, names_a_secret
from app.review.redact import redact_diff


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("password", True),
        ("db_password", True),
        ("DB_PASSWORD", True),
        ("apiKey", True),
        ("api.key", True),
        ("_authToken", True),
        ("client_secret", True),
        ("primary_key", False),
        ("max_tokens", False),
        ("password_min_length", False),
        ("secret_name", False),
        ("author", False),
    ],
)
def test_which_keys_name_a_secret(key: str, secret: bool) -> None:
    assert names_a_secret(key) is secret


@pytest.mark.parametrize(
    ("value", "placeholder"),
    [
        ("changeme", True),
        ("${DB_PASSWORD}", True),
        ("$DB_PASSWORD", True),
        ("<your-password>", True),
        ("", True),
        ('""', True),
        ("!env_var DB_PASSWORD", True),
        ("vault:secret/data/db#password", True),
        ("{{ db_password }}", True),
        ("xxxxxxxx", True),
        ("CorrectHorseBatteryStaple", False),
        ("Tr0ub4dor&3", False),
        ("hunter2", False),
    ],
)
def test_placeholders_and_references_are_spared(value: str, placeholder: bool) -> None:
    assert is_placeholder(value) is placeholder


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("a/.env", ConfigKind.ENV),
        (".env.example", ConfigKind.ENV_EXAMPLE),
        ("deploy/values.yaml", ConfigKind.CONFIG),
        ("setup.cfg", ConfigKind.CONFIG),
        ("app/main.py", None),
    ],
)
def test_config_kinds_by_name(path: str, kind: ConfigKind | None) -> None:
    assert config_kind(path) is kind


def test_a_removed_line_that_looks_like_a_header_stays_in_its_file() -> None:
    value = "Tr0ub4dor&3"
    diff = (
        "diff --git a/c.yml b/c.yml\n--- a/c.yml\n+++ b/c.yml\n@@ -1,2 +1,1 @@\n"
        f"--- x\n password: {value}\n"
        "diff --git a/m.py b/m.py\n--- a/m.py\n+++ b/m.py\n@@ -1 +1 @@\n"
        f"-x = 1\n+password = {value}\n"
    )
    redacted = redact_diff(diff).text
    assert redacted.count(value) == 1  # the YAML value; the Python name is code, kept
    assert "password = Tr0ub4dor&3" in redacted
