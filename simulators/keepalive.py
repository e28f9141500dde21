"""A werkzeug server whose connections stay open between requests (HTTP/1.1 keep-alive).

werkzeug's own handler always answers `Connection: close`: Python's `http.server` does not drain
a request body the application left unread, so the next "request line" on the connection could be
the rest of that body. This handler keeps a connection open only when it is safe to: the request
had a Content-Length (no chunked body) and the application read all of it. Otherwise it answers
`Connection: close` as before. So a gateway calling an agency once per case reuses one TCP
connection per dispatcher thread instead of opening one per call.

werkzeug also reads away, after every answer, whatever else the client has sent (it can, since it
always closes): on a kept connection that would swallow the client's next request. While an answer
is made, the handler therefore shows werkzeug's drain, whenever the connection stays open, the
server's quiet socket (always readable: it holds one byte nobody reads) and an empty stream to
read from it. The drain then ends at once: a socket with nothing to read would make it wait its
10 ms timeout after every answer, and a client's next request on the connection with it.

`KeepAliveServer.close_connections()` ends the open connections (what `stop()` must do: a
thread serving an idle connection would otherwise keep answering on it after the server stopped).
An idle connection is also closed by the server after `IDLE_TIMEOUT_S`. The quiet socket is the
server's own and closed with it (`server_close`), so nothing is left unclosed at exit.
"""

from __future__ import annotations

import contextlib
import io
import socket
import threading
from typing import Any

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

IDLE_TIMEOUT_S = 60.0  # longer than any pause between a dispatcher's calls in a busy run


class _CountingInput:
    """`wsgi.input`, counting the bytes the application read from it."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.read_bytes = 0

    def read(self, size: int = -1) -> bytes:
        data: bytes = self._stream.read(size)
        self.read_bytes += len(data)
        return data

    def readline(self, size: int = -1) -> bytes:
        data: bytes = self._stream.readline(size)
        self.read_bytes += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        n: int = self._stream.readinto(buffer)
        self.read_bytes += n or 0
        return n


class KeepAliveHandler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT_S  # socket timeout: an idle connection ends after it
    _input: _CountingInput | None = None
    _answering = False
    _socket: socket.socket

    _stream: Any

    def _draining(self) -> bool:
        """Whether werkzeug's drain after an answer must find nothing: a kept connection."""
        return self._answering and not self.close_connection and self._body_consumed()

    @property
    def connection(self) -> socket.socket:
        # werkzeug's drain waits for this to be readable: on a kept connection, at once.
        if self._draining():
            server: Any = self.server
            quiet: socket.socket = server.quiet
            return quiet
        return self._socket

    @connection.setter
    def connection(self, value: socket.socket) -> None:
        self._socket = value

    @property
    def rfile(self) -> Any:
        # ... and then reads this: on a kept connection, nothing (the next request stays).
        return io.BytesIO() if self._draining() else self._stream

    @rfile.setter
    def rfile(self, value: Any) -> None:
        self._stream = value

    def setup(self) -> None:
        super().setup()
        # Head and body go out in separate writes: with Nagle's algorithm the body would wait for
        # the client's delayed ACK of the head (up to 40 ms on Linux) on every kept connection.
        self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        server: Any = self.server
        server.track(self._socket, add=True)

    def finish(self) -> None:
        server: Any = self.server
        server.track(self._socket, add=False)
        super().finish()

    def make_environ(self) -> Any:
        environ = super().make_environ()
        self._input = _CountingInput(environ["wsgi.input"])
        environ["wsgi.input"] = self._input
        environ["werkzeug.socket"] = self._socket
        return environ

    def _body_consumed(self) -> bool:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return False
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return False
        reader = getattr(self, "_input", None)
        return length == 0 or (reader is not None and reader.read_bytes >= length)

    def send_header(self, keyword: str, value: str) -> None:
        # werkzeug sends "Connection: close" on every answer; it is dropped only when the body
        # was read whole, so the next bytes on the connection are the next request's.
        closing = keyword.lower() == "connection" and value.lower() == "close"
        if closing and not self.close_connection and self._body_consumed():
            return
        super().send_header(keyword, value)

    def run_wsgi(self) -> None:
        self._input = None
        self._answering = True
        try:
            super().run_wsgi()
        finally:
            self._answering = False
        if not self._body_consumed():  # read after the answer started, or not at all
            self.close_connection = True


class KeepAliveServer(ThreadedWSGIServer):
    """A threaded werkzeug server with `KeepAliveHandler`, which knows its open connections."""

    def __init__(self, host: str, port: int, app: Any) -> None:
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        # What a kept connection's handler shows werkzeug's drain: readable, never read.
        self.quiet, self._quiet_peer = socket.socketpair()
        self._quiet_peer.sendall(b"-")  # never read: `quiet` is readable for good
        try:
            super().__init__(host, port, app, handler=KeepAliveHandler)
        except BaseException:
            self._close_quiet()
            raise

    def _close_quiet(self) -> None:
        self.quiet.close()
        self._quiet_peer.close()

    def server_close(self) -> None:
        super().server_close()
        self._close_quiet()

    def track(self, connection: socket.socket, *, add: bool) -> None:
        with self._open_lock:
            if add:
                self._open.add(connection)
            else:
                self._open.discard(connection)

    def close_connections(self) -> None:
        """End every open connection, both ways: its client sees it closed, its thread ends (an
        answer still being written is cut: the server is stopping)."""
        with self._open_lock:
            connections = list(self._open)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by the client
                connection.shutdown(socket.SHUT_RDWR)
