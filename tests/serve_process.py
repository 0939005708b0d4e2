"""`tiered-review serve` as a child process that tests and benchmarks start, kill and restart."""

from __future__ import annotations

import hashlib
import hmac
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import httpx2

from tests.conftest import ROOT

STARTUP_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def sign(body: bytes, secret: bytes) -> str:
    """GitHub's `X-Hub-Signature-256` header for `body`."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


class ServeProcess:
    """The App on a fixed loopback port; each start writes its output to a log of its own."""

    def __init__(self, env: dict[str, str], log_dir: Path | None = None, role: str = "all") -> None:
        self.env = {"PYTHONPATH": str(ROOT), **env}
        self.role = role
        self.port = free_port()
        self.log_dir = log_dir
        self.proc: subprocess.Popen[bytes] | None = None
        self.logs: list[Path] = []  # one per start, in order

    @property
    def url(self) -> str:
        """The App's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def launch(self) -> None:
        """Start the process without waiting for it to listen."""
        if self.log_dir is None:
            self.proc = self._popen(subprocess.DEVNULL)
            return
        # The port keeps the logs of several processes sharing a folder apart.
        path = self.log_dir / f"serve-{self.role}-{self.port}-{len(self.logs) + 1}.log"
        self.logs.append(path)
        with path.open("wb") as out:
            self.proc = self._popen(out)

    def _popen(self, out: int | IO[bytes]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "app", "serve", "--port", str(self.port), "--role", self.role],
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )

    def wait_healthy(self, timeout: float = STARTUP_TIMEOUT_S) -> None:
        """Block until `/healthz` answers 200; RuntimeError if the process dies or is too slow."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited during startup ({self.proc.returncode})")
            try:
                if httpx2.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx2.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(f"the server did not answer /healthz within {timeout:.0f} s")

    def start(self) -> None:
        """Start the process and wait until it is healthy."""
        self.launch()
        self.wait_healthy()

    def alive(self) -> bool:
        """Whether the process is running."""
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: no shutdown, no cleanup, leases left behind."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> int | None:
        """SIGTERM and wait (SIGKILL past the timeout); the exit status, None if never started."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.proc.returncode
