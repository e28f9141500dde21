"""The adapters' HTTP client (adapters/http.py) against a small HTTP/1.1 server on 127.0.0.1:
connections kept alive and reused, redirects and oversize answers not followed or read, and
failures raised as the `requests` exceptions the adapters word for operators."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from adapters.http import AgencyConnection

Handler = Callable[[BaseHTTPRequestHandler, bytes], tuple[int, list[tuple[str, str]], bytes]]


class _Server:
    def __init__(self, handle: Handler) -> None:
        self.ports: list[int] = []  # the client port of each request: one per connection
        self.bodies: list[bytes] = []
        self.release = threading.Event()
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the stand-ins speak

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                server.ports.append(self.client_address[1])
                server.bodies.append(body)
                status, headers, out = handle(self, body)
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *_: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,))
        self._thread.start()

    def stop(self) -> None:
        self.release.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(10)


@pytest.fixture
def serve() -> Iterator[Callable[[Handler], _Server]]:
    started: list[_Server] = []

    def start(handle: Handler) -> _Server:
        started.append(_Server(handle))
        return started[-1]

    yield start
    for server in started:
        server.stop()


def ok(_: BaseHTTPRequestHandler, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
    return 200, [("Content-Type", "text/plain")], b"got " + body


def test_calls_reuse_one_kept_alive_connection(serve: Callable[[Handler], _Server]) -> None:
    server = serve(ok)
    http = AgencyConnection(server.url, 5)
    for n in range(3):
        answer = http.post(server.url + "/x", f"{n}".encode(), {}, max_bytes=100)
        assert (answer.status_code, answer.content, answer.complete) == (
            200,
            f"got {n}".encode(),
            True,
        )
    assert len(server.ports) == 3 and len(set(server.ports)) == 1
    http.close()
    http.post(server.url + "/x", b"again", {}, max_bytes=100)  # closed: a new connection
    assert len(set(server.ports)) == 2


def test_exactly_the_given_headers_and_bytes_are_sent(serve: Callable[[Handler], _Server]) -> None:
    seen: list[Any] = []

    def record(handler: BaseHTTPRequestHandler, body: bytes) -> Any:
        seen.append(handler.headers)
        return ok(handler, body)

    server = serve(record)
    AgencyConnection(server.url, 5).post(
        server.url + "/cases", b'{"a":1}', {"Signature": "nsw=:AA==:"}, max_bytes=100
    )
    assert server.bodies == [b'{"a":1}']
    assert seen[0]["Signature"] == "nsw=:AA==:" and seen[0]["Content-Length"] == "7"


def test_a_redirect_is_an_answer_not_followed(serve: Callable[[Handler], _Server]) -> None:
    elsewhere = serve(ok)
    server = serve(lambda h, b: (302, [("Location", elsewhere.url + "/x")], b""))
    answer = AgencyConnection(server.url, 5).post(server.url + "/x", b"1", {}, max_bytes=100)
    assert answer.status_code == 302 and elsewhere.bodies == []


def test_an_answer_over_the_limit_is_not_read_and_its_connection_not_reused(
    serve: Callable[[Handler], _Server],
) -> None:
    server = serve(lambda h, body: (200, [], b"x" * 1000 if body == b"big" else b"small"))
    http = AgencyConnection(server.url, 5)
    answer = http.post(server.url + "/x", b"big", {}, max_bytes=100)
    assert answer.complete is False and answer.content == b"x" * 100
    # The rest of the big answer was never read: the next call needs, and gets, a new connection.
    after = http.post(server.url + "/x", b"next", {}, max_bytes=100)
    assert after.complete and after.content == b"small"
    assert server.ports[0] != server.ports[1]


def test_repeated_fields_are_joined_as_requests_joined_them(
    serve: Callable[[Handler], _Server],
) -> None:
    server = serve(lambda h, b: (200, [("X-A", "1"), ("X-A", "2")], b""))
    answer = AgencyConnection(server.url, 5).post(server.url + "/x", b"", {}, max_bytes=10)
    assert answer.headers["x-a"] == "1, 2"


def test_no_answer_in_time_is_a_read_timeout(serve: Callable[[Handler], _Server]) -> None:
    def stall(handler: BaseHTTPRequestHandler, body: bytes) -> Any:
        server.release.wait(10)  # until the test is over
        return ok(handler, body)

    server = serve(stall)
    with pytest.raises(requests.ReadTimeout):
        AgencyConnection(server.url, 0.2).post(server.url + "/x", b"1", {}, max_bytes=10)


def test_nothing_listening_is_a_connection_error(serve: Callable[[Handler], _Server]) -> None:
    server = serve(ok)
    server.stop()
    with pytest.raises(requests.ConnectionError, match="refused"):
        AgencyConnection(server.url, 5).post(server.url + "/x", b"1", {}, max_bytes=10)


def test_urls_are_sent_as_requests_would_send_them() -> None:
    # The RFC 9421 signature covers the target URI: it is signed as it goes on the wire.
    http = AgencyConnection("http://127.0.0.1:9", 5)
    assert http.url("http://127.0.0.1:9") == "http://127.0.0.1:9/"
    assert http.url("http://127.0.0.1:9/a b") == "http://127.0.0.1:9/a%20b"
