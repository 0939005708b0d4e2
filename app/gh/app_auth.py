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
                raise AppAuthError(
                    f"installation {installation_id}: no token (HTTP {exc.status})"
                ) from exc
            expires = grant.expires_at
            if expires.tzinfo is None:
                expires = expires.replace(tzinfo=dt.UTC)
            self._cache[installation_id] = Token(grant.token, expires)
            return grant.token

    def close(self) -> None:
        """Release the HTTP session."""
        self._integration.close()
