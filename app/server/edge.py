"""Bounds at the web edge: what an unauthenticated client may cost the server before it is cut off.

Every request reaches us before its signature can be checked, so nothing here trusts it: the
body is read as a stream and refused past the size limit (chunked bodies included), within a
deadline; request headers must arrive within a deadline too; one client address holds at most
a fixed number of open connections; and metrics labels come from a fixed set. A client that
goes away is one info line, not a traceback.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from starlette.requests import ClientDisconnect, Request
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)

# Events the App subscribes to or GitHub sends to every App; anything else is counted as "other",
# so an unsigned request cannot add a metrics series.
KNOWN_EVENTS = frozenset(
    {
        "check_run",
        "check_suite",
        "installation",
        "installation_repositories",
        "issue_comment",
        "ping",
        "pull_request",
        "pull_request_review",
        "pull_request_review_comment",
        "push",
    }
)


def event_label(event: str) -> str:
    """The metrics label for an `X-GitHub-Event` value: itself if known, else "other"."""
    return event if event in KNOWN_EVENTS else "other"


@dataclass(frozen=True, slots=True)
class EdgeLimits:
    """How much one client may hold: body size, read deadlines and open connections."""

    max_body: int = 25 * 1024 * 1024  # GitHub caps webhook payloads at 25 MB
    header_timeout_s: float = 10.0
    body_timeout_s: float = 30.0
    connections_per_client: int = 32


class BodyProblem(StrEnum):
    """Why a request body was not read."""

    TOO_LARGE = "too_large"
    TOO_SLOW = "too_slow"
    DISCONNECTED = "disconnected"


async def read_body(request: Request, limits: EdgeLimits) -> bytes | BodyProblem:
    """The request body, read as a stream and stopped at the size limit or the deadline."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limits.max_body:
        return BodyProblem.TOO_LARGE
    parts: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(limits.body_timeout_s):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limits.max_body:
                    return BodyProblem.TOO_LARGE
                parts.append(chunk)
    except TimeoutError:
        return BodyProblem.TOO_SLOW
    except ClientDisconnect:
        client = request.client.host if request.client else "?"
        log.info("client %s disconnected after %d bytes of the body", client, size)
        return BodyProblem.DISCONNECTED
    return b"".join(parts)


def edge_protocol(limits: EdgeLimits) -> type[H11Protocol]:
    """uvicorn's h11 protocol with a header deadline and a per-client connection cap."""
    open_by_client: Counter[str] = Counter()

    class EdgeProtocol(H11Protocol):
        _deadline: asyncio.TimerHandle | None = None
        _counted: str | None = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            host = self.client[0] if self.client else "?"
            if open_by_client[host] >= limits.connections_per_client:
                log.info(
                    "refused a connection from %s: %d already open", host, open_by_client[host]
                )
                transport.abort()
                return
            open_by_client[host] += 1
            self._counted = host
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
            if self._counted is not None:
                open_by_client[self._counted] -= 1
                if open_by_client[self._counted] <= 0:
                    del open_by_client[self._counted]
                self._counted = None
            super().connection_lost(exc)

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._arm()  # the next request's headers get their own deadline

        def _arm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
            self._deadline = self.loop.call_later(limits.header_timeout_s, self._expire)

        def _expire(self) -> None:
            waiting = self.cycle is None or self.cycle.response_complete
            if waiting and not self.transport.is_closing():
                host = self._counted or "?"
                log.info(
                    "closed a connection from %s: no request headers within %.0f s",
                    host,
                    limits.header_timeout_s,
                )
                self.transport.close()

    return EdgeProtocol
