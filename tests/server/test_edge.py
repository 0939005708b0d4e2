"""The web edge against hostile clients, through the real server on a loopback port."""

from __future__ import annotations

import logging
import re
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx2
import pytest

from app.server.edge import edge_protocol
from app.server.service import Role, build_server, edge_limits
from app.settings import Settings
from tests.fakes.server import serve

SECRET = "edge-secret"


@pytest.fixture
def edge(tmp_path: Path) -> Iterator[tuple[str, int]]:
    """The App as `serve` runs it, with short read deadlines and a cap of 3 connections."""
    settings = Settings.from_env(
        {
            "GITHUB_TOKEN": "ghs_test",
            "GITHUB_API_URL": "http://127.0.0.1:9",
            "GITHUB_WEBHOOK_SECRET": SECRET,
            "TIERED_REVIEW_DB": str(tmp_path / "q.db"),
            "TIERED_REVIEW_HEADER_TIMEOUT_S": "1",
            "TIERED_REVIEW_BODY_TIMEOUT_S": "2",
            "TIERED_REVIEW_CONNECTIONS_PER_CLIENT": "3",
        }
    )
    app, engine = build_server(settings, role=Role.WEB)
    try:
        with serve(app, http=edge_protocol(edge_limits(settings))) as url:
            parts = urlsplit(url)
            assert parts.hostname and parts.port
            yield parts.hostname, parts.port
    finally:
        engine.dispose()


def _connect(address: tuple[str, int]) -> socket.socket:
    sock = socket.create_connection(address, timeout=10)
    return sock


def _closed(sock: socket.socket) -> bool:
    try:
        return sock.recv(65536) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True


def test_a_chunked_body_is_cut_off_at_the_size_limit_not_buffered(edge: tuple[str, int]) -> None:
    sock = _connect(edge)
    sock.sendall(
        b"POST /webhook HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: pull_request\r\n"
        b"Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n"
    )
    chunk = b"%x\r\n" % 65536 + b"a" * 65536 + b"\r\n"
    sent = 0
    try:
        while sent < 120 * 1024 * 1024:
            sock.sendall(chunk)
            sent += 65536
    except (BrokenPipeError, ConnectionResetError):
        pass
    # The server stopped reading soon after 25 MB (plus what the kernel buffers), with a 413.
    assert sent < 60 * 1024 * 1024, f"the server read {sent >> 20} MB of an unsigned body"
    try:
        answer = sock.recv(65536)
    except ConnectionResetError:
        answer = b""
    sock.close()
    assert answer == b"" or answer.startswith(b"HTTP/1.1 413")


def test_unsigned_requests_cannot_grow_the_metrics(edge: tuple[str, int]) -> None:
    url = f"http://{edge[0]}:{edge[1]}"
    with httpx2.Client(base_url=url, timeout=10) as client:
        before = len(client.get("/metrics").content)
        for _ in range(300):
            event = f"evil-{uuid.uuid4().hex}"
            answer = client.post("/webhook", content=b"{}", headers={"X-GitHub-Event": event})
            assert answer.status_code == 401
        text = client.get("/metrics").text
    assert "evil-" not in text
    assert re.search(r'event="other",outcome="bad_signature"} 300\.0', text), text
    assert len(text) < before + 2048


def test_slow_clients_are_closed_and_disconnects_are_one_info_line(
    edge: tuple[str, int], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    slow = [_connect(edge) for _ in range(3)]
    for sock in slow:
        sock.sendall(b"P")
    extra = _connect(edge)  # a fourth connection from the same address: refused at once
    extra.settimeout(5)
    assert _closed(extra)
    extra.close()
    started = time.monotonic()
    for sock in slow:
        sock.settimeout(5)
        try:
            for _ in range(8):  # a byte every half second: never a whole request
                sock.sendall(b"O")
                time.sleep(0.5)
                if time.monotonic() - started > 3:
                    break
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert _closed(sock)
        sock.close()
    assert time.monotonic() - started < 8
    # Headers sent, then the client leaves halfway through the body.
    gone = _connect(edge)
    gone.sendall(
        b"POST /webhook HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: ping\r\n"
        b"Content-Length: 1000\r\n\r\n" + b"{" * 10
    )
    time.sleep(0.3)
    gone.close()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and "disconnected" not in caplog.text:
        time.sleep(0.05)
    assert "Exception in ASGI application" not in caplog.text
    assert "Traceback" not in caplog.text
    assert len([r for r in caplog.records if "disconnected after" in r.getMessage()]) == 1
    assert [r.levelname for r in caplog.records if "disconnected" in r.getMessage()] == ["INFO"]
    assert "no request headers within 1 s" in caplog.text
    assert "refused a connection from 127.0.0.1" in caplog.text
