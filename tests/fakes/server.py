"""Serve an ASGI app on a loopback port from a background thread, for tests and benchmarks."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator

import uvicorn
from starlette.types import ASGIApp

_STARTUP_TIMEOUT = 10.0
_SHUTDOWN_TIMEOUT = 10.0


class _ThreadServer(uvicorn.Server):
    """A uvicorn server that never touches process signal handlers."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # Only the main thread may install signal handlers. uvicorn 0.54 has no
        # `install_signal_handlers` option any more and skips the handlers off the main thread
        # itself; overriding the hook keeps a thread-hosted server hands-off either way.
        yield


@contextlib.contextmanager
def serve(
    app: ASGIApp, *, lifespan: bool = False, http: type[asyncio.Protocol] | None = None
) -> Iterator[str]:
    """Run `app` on 127.0.0.1 at a free port and yield its base URL until the block exits.

    `lifespan` runs the app's startup and shutdown (the App server starts its workers there);
    `http` is the protocol class `serve` runs the App with (default: uvicorn's h11).
    """
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        loop="asyncio",
        http=http or "h11",
        ws="none",
        lifespan="on" if lifespan else "off",
        log_config=None,  # leave the process's logging setup alone
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=5,
    )
    server = _ThreadServer(config)
    thread = threading.Thread(target=server.run, name="loopback-fake", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + _STARTUP_TIMEOUT
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the loopback server exited during startup")
            if time.monotonic() > deadline:
                raise RuntimeError("the loopback server did not start listening in time")
            time.sleep(0.005)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(_SHUTDOWN_TIMEOUT)
        if thread.is_alive():
            server.force_exit = True
            thread.join(_SHUTDOWN_TIMEOUT)
