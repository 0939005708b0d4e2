"""App authentication: a signed JWT buys installation tokens, cached until near expiry."""

from __future__ import annotations

import datetime as dt

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from app.gh.app_auth import InstallationTokens


def _pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def test_tokens_are_cached_until_shortly_before_expiry() -> None:
    from tests.fakes.github_fake import github_fake

    now = [dt.datetime.now(dt.UTC)]
    with github_fake(installation_id=7) as (url, gh):
        tokens = InstallationTokens(42, _pem(), url, clock=lambda: now[0])
        try:
            first = tokens.token(7)
            assert tokens.token(7) == first
            assert len(gh.tokens) == 1
            now[0] += dt.timedelta(minutes=56)  # GitHub's tokens last an hour
            assert tokens.token(7) != first
            assert len(gh.tokens) == 2
            assert gh.invalid == []
        finally:
            tokens.close()
