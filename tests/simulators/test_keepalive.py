"""The stand-in agencies keep a connection open between requests (HTTP/1.1 keep-alive) only when
the next bytes on it are surely the next request, and a stopped agency answers nothing more."""

from __future__ import annotations

import selectors
import socket
import subprocess
import sys
import types
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import werkzeug.serving
from flask import Flask, request

from simulators.keepalive import KeepAliveServer
from simulators.server import ServingThread


def _app() -> Flask:
    app = Flask("keepalive-test")

    @app.post("/read")
    def read() -> str:
        return f"read {len(request.get_data())}"

    @app.post("/ignore")
    def ignore() -> str:
        return "did not read the body"

    @app.get("/hello")
    def hello() -> str:
        return "hello"

    return app


@pytest.fixture
def serving() -> Iterator[ServingThread]:
    server = ServingThread(KeepAliveServer("127.0.0.1", 0, _app()), "keepalive-test")
    yield server
    server.stop()


def _exchange(sock: socket.socket, raw: bytes) -> bytes:
    """Send `raw` and read one answer with a Content-Length body."""
    sock.sendall(raw)
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(4096)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length")
    )
    while len(body) < length:
        body += sock.recv(4096)
    return head + b"\r\n\r\n" + body


def test_one_connection_carries_many_requests(serving: ServingThread) -> None:
    host, port = serving.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        for n in range(3):
            answer = _exchange(
                sock,
                b"POST /read HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
            )
            assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"read 5"), n
            assert b"connection: close" not in answer.lower()


def test_an_unread_body_closes_the_connection(serving: ServingThread) -> None:
    # Were it kept open, "GET /hello ..." inside the body would be answered as a request.
    smuggled = b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
    host, port = serving.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        answer = _exchange(
            sock,
            b"POST /ignore HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s"
            % (len(smuggled), smuggled),
        )
        assert b"connection: close" in answer.lower()
        assert sock.recv(4096) == b""  # closed: nothing else is answered


def test_a_stopped_server_answers_nothing_on_a_kept_connection(serving: ServingThread) -> None:
    session = requests.Session()
    assert session.get(f"{serving.url}/hello", timeout=5).text == "hello"
    serving.stop()
    with pytest.raises(requests.ConnectionError):
        session.get(f"{serving.url}/hello", timeout=5)


def test_a_kept_connection_sends_without_waiting_for_acks() -> None:
    """An answer's head and body are separate writes: on a kept connection Nagle's algorithm
    would hold the body until the client's delayed ACK of the head (up to 40 ms each call)."""
    server = KeepAliveServer("127.0.0.1", 0, _app())
    with (
        ServingThread(server, "keepalive-test"),
        socket.create_connection(("127.0.0.1", server.server_port), timeout=10) as sock,
    ):
        _exchange(sock, b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        with server._open_lock:
            accepted = list(server._open)
        assert accepted
        assert all(c.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) for c in accepted)


def test_a_stand_in_process_leaves_no_socket_unclosed_at_exit() -> None:
    """A stand-in started and stopped in its own process exits without "unclosed socket"
    warnings (its quiet socket is the server's, closed with it, not the module's for ever)."""
    script = (
        "from simulators.keepalive import KeepAliveServer\n"
        "from flask import Flask\n"
        "server = KeepAliveServer('127.0.0.1', 0, Flask('exit-test'))\n"
        "server.server_close()\n"
    )
    done = subprocess.run(
        [sys.executable, "-X", "dev", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "unclosed" not in done.stderr, done.stderr


def test_a_kept_connection_is_ready_for_the_next_request_when_answered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """werkzeug's drain after each answer waits for more bytes on the connection; on a kept
    connection it must find its end at once, not wait out its timeout (10 ms before the next
    request on the connection is read), and must not read the next request either."""
    waited_out: list[float | None] = []

    class Recording(selectors.DefaultSelector):
        def select(self, timeout: float | None = None) -> list[Any]:
            ready: list[Any] = super().select(timeout)
            if not ready:
                waited_out.append(timeout)
            return ready

    monkeypatch.setattr(
        werkzeug.serving,
        "selectors",
        types.SimpleNamespace(DefaultSelector=Recording, EVENT_READ=selectors.EVENT_READ),
    )
    server = KeepAliveServer("127.0.0.1", 0, _app())
    with (
        ServingThread(server, "keepalive-test"),
        socket.create_connection(("127.0.0.1", server.server_port), timeout=10) as sock,
    ):
        for raw in (
            b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n",
            b"POST /read HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
        ) * 2:
            answer = _exchange(sock, raw)
            assert answer.startswith(b"HTTP/1.1 200"), answer
            assert b"connection: close" not in answer.lower()
    assert waited_out == []
