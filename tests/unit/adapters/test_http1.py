"""The adapters' HTTP/1.1 exchange (adapters/http1.py) against a server on 127.0.0.1 that answers
with exact bytes: framing (chunked, Content-Length, close), interim answers, malformed heads and
bodies refused as the `requests` exceptions the adapters word, and what is written."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from adapters import http1
from adapters.http import AgencyConnection


class _RawServer:
    """Reads one request per turn (head and Content-Length body) and writes `answers[n]`;
    `requests` holds what arrived, `connections` counts the connections accepted."""

    def __init__(self, answers: list[bytes], *, close_after: bool = False, then: str = "") -> None:
        self.answers = answers
        self.requests: list[bytes] = []
        self.connections = 0
        self._close_after = close_after
        self._then = then  # after the answers: "reset" the connection, or "hang" until stopped
        self._stopped = threading.Event()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._threads = [threading.Thread(target=self._serve, daemon=True)]
        self._open: list[socket.socket] = []
        self._threads[0].start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.connections += 1
            self._open.append(conn)
            self._threads.append(threading.Thread(target=self._answer, args=(conn,), daemon=True))
            self._threads[-1].start()

    def _answer(self, conn: socket.socket) -> None:
        data = b""
        with conn:
            while self.answers:
                while b"\r\n\r\n" not in data:
                    more = conn.recv(65536)
                    if not more:
                        return
                    data += more
                head, _, data = data.partition(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                while len(data) < length:
                    data += conn.recv(65536)
                self.requests.append(head + b"\r\n\r\n" + data[:length])
                data = data[length:]
                conn.sendall(self.answers.pop(0))
                if self._then == "reset":  # an RST, not a FIN (SO_LINGER 0)
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    return
                if self._then == "hang":
                    self._stopped.wait(10)
                    return
                if self._close_after:
                    return

    def stop(self) -> None:
        self._stopped.set()
        for sock in [self._sock, *self._open]:  # shutdown wakes a thread blocked on it
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(10)
        self._sock.close()


@pytest.fixture
def raw() -> Iterator[Callable[..., _RawServer]]:
    started: list[_RawServer] = []

    def start(*answers: bytes, close_after: bool = False, then: str = "") -> _RawServer:
        started.append(_RawServer(list(answers), close_after=close_after, then=then))
        return started[-1]

    yield start
    for server in started:
        server.stop()


def post(server: _RawServer, max_bytes: int = 1000, timeout: float = 5) -> object:
    return AgencyConnection(server.url, timeout).post(
        server.url + "/x", b"body", {"X-A": "1"}, max_bytes=max_bytes
    )


OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def test_a_chunked_answer_is_read_whole_and_its_connection_reused(
    raw: Callable[..., _RawServer],
) -> None:
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\n"
    server = raw(chunked, OK)
    http = AgencyConnection(server.url, 5)
    answer = http.post(server.url + "/x", b"1", {}, max_bytes=100)
    assert (answer.content, answer.complete) == (b"abcde", True)
    assert http.post(server.url + "/x", b"2", {}, max_bytes=100).content == b"ok"
    assert server.connections == 1


def test_a_chunked_answer_over_the_limit_is_cut_and_not_reused(
    raw: Callable[..., _RawServer],
) -> None:
    big = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n64\r\n"
        + b"x" * 100
        + b"\r\n0\r\n\r\n"
    )
    server = raw(big, OK)
    http = AgencyConnection(server.url, 5)
    answer = http.post(server.url + "/x", b"1", {}, max_bytes=10)
    assert (answer.content, answer.complete) == (b"x" * 10, False)
    assert http.post(server.url + "/x", b"2", {}, max_bytes=10).content == b"ok"
    assert server.connections == 2


def test_an_answer_framed_by_closing_is_read_to_the_end(raw: Callable[..., _RawServer]) -> None:
    server = raw(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end", close_after=True)
    answer = AgencyConnection(server.url, 5).post(server.url + "/x", b"1", {}, max_bytes=100)
    assert (answer.content, answer.complete) == (b"until the end", True)


def test_connection_close_is_not_reused(raw: Callable[..., _RawServer]) -> None:
    closing = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"
    server = raw(closing, OK)
    http = AgencyConnection(server.url, 5)
    http.post(server.url + "/x", b"1", {}, max_bytes=100)
    assert http.post(server.url + "/x", b"2", {}, max_bytes=100).content == b"ok"
    assert server.connections == 2


def test_interim_answers_are_skipped_and_folded_fields_unfolded(
    raw: Callable[..., _RawServer],
) -> None:
    answer_bytes = (
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
        b"HTTP/1.1 202 Accepted\r\nX-Long: one\r\n  two\r\nContent-Length: 2\r\n\r\nok"
    )
    answer = post(raw(answer_bytes))
    assert (answer.status_code, answer.reason, answer.headers["x-long"]) == (  # type: ignore[attr-defined]
        202,
        "Accepted",
        "one two",
    )


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (b"HTTP/2 200 OK\r\nContent-Length: 2\r\n\r\nok", "illegal status line"),
        (b"HTTP/1.1 101 Switching Protocols\r\n\r\n", "_SWITCH_UPGRADE"),
        (b"HTTP/1.1 200 OK\r\nX-A : 1\r\nContent-Length: 2\r\n\r\nok", "illegal header line"),
        (
            b"HTTP/1.1 200 OK\r\nX-A: 1\rX-B: 2\r\nContent-Length: 2\r\n\r\nok",
            "illegal header line.*X-B",
        ),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\nok", "Content-Length"),
        (b"HTTP/1.1 200 OK\r\n" + b"X: 1\r\n" * 101 + b"Content-Length: 2\r\n\r\nok", "100"),
        (b"HTTP/1.1 200 OK\r\nX: " + b"a" * 70000 + b"\r\n\r\n", "65536"),
        (b"HTTP/1.1 200 OK\r\nX: " + b"a" * 200000, "too long"),  # never ends
        (b"HTTP/2.0 200 OK\r\nContent-Length: 2\r\n\r\nok", "HTTP/2.0"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", "chunked"),
    ],
)
def test_a_malformed_head_is_a_connection_error(
    raw: Callable[..., _RawServer], answer: bytes, words: str
) -> None:
    with pytest.raises(requests.ConnectionError, match=words):
        post(raw(answer, close_after=True))


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
    ],
)
def test_a_broken_body_is_a_chunked_encoding_error(
    raw: Callable[..., _RawServer], answer: bytes
) -> None:
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        post(raw(answer, close_after=True))


def test_an_encoded_answer_is_refused(raw: Callable[..., _RawServer]) -> None:
    gzipped = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 2\r\n\r\nok"
    with pytest.raises(requests.exceptions.ContentDecodingError, match="identity"):
        post(raw(gzipped))


def test_closed_without_an_answer_is_the_agency_closing(raw: Callable[..., _RawServer]) -> None:
    with pytest.raises(requests.ConnectionError, match="RemoteDisconnected"):
        post(raw(b"", close_after=True))


def test_the_request_is_written_as_given_with_host_and_length(
    raw: Callable[..., _RawServer],
) -> None:
    server = raw(OK)
    post(server)
    head, _, body = server.requests[0].partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    port = server.url.rsplit(":", 1)[1]
    assert lines[0] == b"POST /x HTTP/1.1" and body == b"body"
    assert {b"Host: 127.0.0.1:" + port.encode(), b"X-A: 1", b"Content-Length: 4"} <= set(lines)
    assert b"Accept-Encoding: identity" in lines


@pytest.mark.parametrize(
    "headers",
    [
        {"X-A": "1\r\nX-Smuggled: 1"},
        {"X-A\r\nX-B": "1"},
        {"Bad Name": "1"},
        {"X": "a\x00"},
        {"content-length": "0"},
        {"Transfer-Encoding": "chunked"},
        {"HOST": "elsewhere"},
    ],
)
def test_a_field_that_could_smuggle_another_is_never_sent(
    raw: Callable[..., _RawServer], headers: dict[str, str]
) -> None:
    server = raw(OK)
    with pytest.raises(requests.exceptions.InvalidHeader):
        AgencyConnection(server.url, 5).post(server.url + "/x", b"", headers, max_bytes=10)
    assert server.requests == []


CUT = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nthe first bytes"


def test_a_body_cut_by_a_reset_is_a_chunked_encoding_error(raw: Callable[..., _RawServer]) -> None:
    # As requests raised it: the agency's fault tests expect these words (tests/e2e).
    with pytest.raises(requests.exceptions.ChunkedEncodingError, match="reset"):
        post(raw(CUT, then="reset"))


def test_a_body_that_stops_coming_is_a_read_timeout(raw: Callable[..., _RawServer]) -> None:
    with pytest.raises(requests.ReadTimeout):
        post(raw(CUT, then="hang"), timeout=0.3)


@pytest.mark.skipif(not hasattr(socket, "TCP_QUICKACK"), reason="Linux only")
def test_what_arrives_is_acknowledged_at_once_quickack_before_each_read() -> None:
    # An agency that writes head and body separately with Nagle's algorithm on sends the body
    # only when the head is acknowledged: a delayed ACK would hold every answer up to 40 ms.
    class Recording(socket.socket):
        events: list[str] = []

        def setsockopt(self, *args: Any) -> None:
            if args[:2] == (socket.IPPROTO_TCP, socket.TCP_QUICKACK) and args[2]:
                self.events.append("quickack")
            super().setsockopt(*args)

        def recv(self, *args: Any) -> bytes:
            self.events.append("recv")
            return super().recv(*args)

    listener = socket.create_server(("127.0.0.1", 0))
    with listener, socket.create_connection(listener.getsockname()) as plain:
        agency, _ = listener.accept()
        with agency, Recording(fileno=plain.detach()) as client:
            agency.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody")
            exchange = http1.Exchange("POST", "/", "agency", {}, b"")
            assert exchange.read_answer(client, 100).content == b"body"
    reads = Recording.events
    assert "recv" in reads and all(
        reads[i - 1] == "quickack" for i, event in enumerate(reads) if event == "recv"
    )
