"""Whether the App can work, not only whether it runs: start-up checks and `/readyz`.

`require_credentials` runs before `serve` says it is ready: an App ID with a key that signs a
JWT, or a `GITHUB_TOKEN`; otherwise `serve` exits 2 with one line. `readiness` is what `/readyz`
answers, a small function any server role can call: the database answers, a JWT can be built,
and the last installation-token mint did not fail. `/healthz` stays a liveness check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from app.errors import AppAuthError, ConfigError, TieredReviewError
from app.gh.app_auth import InstallationTokens, check_app_key
from app.settings import Settings

NO_CREDENTIALS = (
    "no GitHub credentials: set GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY (or "
    "GITHUB_APP_PRIVATE_KEY_PATH) for the App, or GITHUB_TOKEN"
)


@dataclass(frozen=True, slots=True)
class Readiness:
    """The checks `/readyz` ran: each name maps to "ok" or what is wrong."""

    checks: dict[str, str] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        """Every check passed."""
        return all(v == "ok" for v in self.checks.values())


def app_private_key(settings: Settings) -> str | None:
    """The App's PEM key from GITHUB_APP_PRIVATE_KEY, else the file GITHUB_APP_PRIVATE_KEY_PATH."""
    if settings.github_app_private_key is not None:
        return settings.github_app_private_key.get_secret_value()
    if not settings.github_app_private_key_path:
        return None
    try:
        return Path(settings.github_app_private_key_path).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not a text file"
        raise ConfigError(f"GITHUB_APP_PRIVATE_KEY_PATH: cannot read: {reason}") from exc


def require_credentials(settings: Settings) -> None:
    """Raise a one-line `TieredReviewError` unless the App (or a token) can reach GitHub."""
    key = app_private_key(settings)
    if settings.github_app_id is not None or key is not None:
        if settings.github_app_id is None:
            raise ConfigError("GITHUB_APP_ID is unset: the App's private key needs its App ID")
        if key is None:
            raise ConfigError(
                "GITHUB_APP_ID is set but the App has no private key: set "
                "GITHUB_APP_PRIVATE_KEY or GITHUB_APP_PRIVATE_KEY_PATH"
            )
        check_app_key(settings.github_app_id, key)
        return
    if settings.github_token is None:
        raise TieredReviewError(NO_CREDENTIALS)


def readiness(engine: Engine, tokens: InstallationTokens | None) -> Readiness:
    """Database reachable; with an App, a JWT can be built and the last token mint worked."""
    checks: dict[str, str] = {}
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        checks["database"] = "ok"
    except sa.exc.SQLAlchemyError as exc:
        checks["database"] = f"unreachable ({type(exc).__name__})"
    if tokens is not None:
        try:
            tokens.check_key()
            checks["app_jwt"] = "ok"
        except AppAuthError as exc:
            checks["app_jwt"] = str(exc)
        checks["token_mint"] = tokens.last_error or "ok"
    return Readiness(checks)
