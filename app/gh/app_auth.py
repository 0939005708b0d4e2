"""GitHub App authentication: a JWT from the App's key, exchanged for installation tokens.

PyGithub signs the JWT and calls `POST /app/installations/{id}/access_tokens`; tokens are cached
per installation until shortly before they expire (GitHub issues them for one hour).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass

from github import Auth, GithubException, GithubIntegration

from app.errors import AppAuthError

REFRESH_BEFORE = dt.timedelta(minutes=5)


def check_app_key(app_id: int, private_key: str) -> None:
    """Sign one App JWT with the key, or raise `AppAuthError` saying why (never the key)."""
    try:
        Auth.AppAuth(app_id, private_key).token  # noqa: B018 - signing is the check
    except Exception as exc:  # noqa: BLE001 - PyJWT and cryptography raise many kinds
        raise AppAuthError(
            f"the App's private key cannot sign a JWT ({type(exc).__name__}): set "
            "GITHUB_APP_PRIVATE_KEY (or _PATH) to the PEM file GitHub generated for the App"
        ) from None


@dataclass(frozen=True, slots=True)
class Token:
    """An installation token and when it stops working."""

    value: str
    expires_at: dt.datetime


class InstallationTokens:
    """Installation tokens for one App, cached until `REFRESH_BEFORE` their expiry."""

    def __init__(
        self,
        app_id: int,
        private_key: str,
        base_url: str,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._app_id, self._key = app_id, private_key
        self.last_error: str | None = None  # the last token mint's failure, None once one works
        self._integration = GithubIntegration(
            base_url=base_url.rstrip("/"),
            auth=Auth.AppAuth(app_id, private_key),
            seconds_between_requests=None,
            seconds_between_writes=None,
        )
        self._clock = clock
        self._cache: dict[int, Token] = {}
        self._lock = threading.Lock()

    def token(self, installation_id: int) -> str:
        """A valid token for the installation, fetched only when the cached one is near expiry."""
        with self._lock:
            cached = self._cache.get(installation_id)
            if cached and cached.expires_at - REFRESH_BEFORE > self._clock():
                return cached.value
            try:
                grant = self._integration.get_access_token(installation_id)
            except GithubException as exc:
                self.last_error = f"installation {installation_id}: no token (HTTP {exc.status})"
                raise AppAuthError(self.last_error) from exc
            except Exception as exc:  # a key that cannot sign, a network failure
                self.last_error = f"installation {installation_id}: no token ({type(exc).__name__})"
                raise AppAuthError(self.last_error) from exc
            self.last_error = None
            expires = grant.expires_at
            if expires.tzinfo is None:
                expires = expires.replace(tzinfo=dt.UTC)
            self._cache[installation_id] = Token(grant.token, expires)
            return grant.token

    def check_key(self) -> None:
        """Sign a JWT with the App's key now; `AppAuthError` if it cannot."""
        check_app_key(self._app_id, self._key)

    def close(self) -> None:
        """Release the HTTP session."""
        self._integration.close()
