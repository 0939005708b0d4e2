"""HTTP policy shared by the provider adapters: error kinds by status, and the retry-after cap."""

from __future__ import annotations

import email.utils
import functools
import ssl
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx2

from app.errors import ProviderErrorKind


def status_kind(status: int, error_type: str | None = None) -> ProviderErrorKind:
    """Our error kind for an HTTP status (and Anthropic's error type, where it has one)."""
    if status == 429:
        return ProviderErrorKind.RATE_LIMIT
    # Anthropic answers 529 overloaded_error; OpenAI reports an overloaded engine as 503.
    if status in (503, 529) or error_type == "overloaded_error":
        return ProviderErrorKind.OVERLOADED
    if status >= 500:
        return ProviderErrorKind.SERVER
    if status in (401, 403):
        return ProviderErrorKind.AUTH
    if status == 408:
        return ProviderErrorKind.TIMEOUT
    return ProviderErrorKind.BAD_REQUEST


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One TLS context per process, built as httpx2 builds its default (trusting the environment).

    Loading the CA bundle costs 10-30 ms of CPU; without this every job paid it again for each
    provider client (measured with bench/scale.py's profile). A context is safe to share between
    threads.
    """
    return httpx2.create_ssl_context()


def client_options(retry_after_cap_s: float) -> dict[str, Any]:
    """What both SDKs' httpx2 clients are built with: the shared TLS context and the cap hook."""
    return {
        "verify": tls_context(),
        "event_hooks": {"response": [retry_after_cap(retry_after_cap_s)]},
    }


def retry_after_cap(cap_s: float) -> Callable[[httpx2.Response], Awaitable[None]]:
    """An httpx2 response hook that shortens a server's retry-after to at most `cap_s` seconds."""

    # anthropic sleeps for whatever retry-after says, with no upper bound; openai honours it up
    # to 120 s and does not retry at all above that (`_calculate_retry_timeout` and
    # `_should_retry` in each SDK's _base_client.py). Their retry loops read the headers of the
    # response this hook has already seen, so rewriting them here caps the sleep.
    async def clamp(response: httpx2.Response) -> None:
        for name, per_second in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
            value = response.headers.get(name)
            if value is not None and _delay_s(value, per_second) > cap_s:
                response.headers[name] = f"{cap_s * per_second:g}"

    return clamp


def _delay_s(value: str, per_second: float) -> float:
    """Seconds a retry-after value asks for: a number, or an HTTP date (RFC 9110 10.2.3)."""
    try:
        return float(value) / per_second
    except ValueError:
        pass
    parsed = email.utils.parsedate_tz(value)
    try:
        return 0.0 if parsed is None else email.utils.mktime_tz(parsed) - time.time()
    except (OverflowError, ValueError):  # a date beyond the platform's time_t: ignore, as the SDK
        return 0.0
