"""One HTTP/1.1 exchange on an open connection (RFC 9112), framed by h11.

`http.client` (under urllib3) spent most of a loopback POST's CPU around it: putheader checks per
field, the `email` package's header parser, urllib3's response and header-dict wrappers. h11 (the
state machine under httpcore) writes the request and frames the answer with what RFC 9112 asks
of a client: it refuses a field name that is not a token, a value holding CR, LF or NUL,
whitespace before a field's colon (§5.1), a bare CR (§2.2), several differing Content-Lengths
(§6.3), a transfer coding other than chunked (§7), a 101 nothing asked for; it unfolds obs-fold
(§5.2), tells interim answers (1xx) from the final one, frames the body by chunked, else
Content-Length, else the connection closing (none for 204 and 304), and says when the connection
may carry another exchange. On top of h11 this module keeps:

- heads (interim ones included) of at most 64 KiB together (h11's `max_incomplete_event_size`
  while incomplete; `http.client` allowed 64 KiB a line) and at most 100 fields (`http.client`'s limit; h11 has none), at most 10 interim answers;
- an answer in HTTP/1.x only (h11 reads any `HTTP/d.d`);
- no more than `max_bytes` of the body: the rest is not read and the connection is not reused;
- a `Content-Encoding` other than identity is refused: the request says `Accept-Encoding:
  identity`, and the answer's digest and signature are over the bytes as sent;
- TCP_QUICKACK before each read (see `_Socket.recv`).

The usual request is written and its answer read without h11 (`adapters.http1_simple`): a
request whose fields h11 would write as they are, and an answer whose head arrived whole in the
first read, of a shape h11 reads the same way (`HTTP/1.1`, a final status that has a body, fields
of visible ASCII, lines ended by CRLF, one all-digit Content-Length no larger than `max_bytes`, no
Transfer-Encoding), and its body. Anything else (and a body cut by the agency closing) goes to
h11, given the request and every byte read so far, so what h11 refuses is still refused, in the
same words.

Failures are raised as the urllib3 exceptions urllib3 raised for them: a head h11 refuses is a
`ProtocolError("Connection aborted.", ...)`, a body it refuses or that is cut a `BrokenBody`, so
the caller maps them to `requests` exceptions as before.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from http.client import HTTPException, RemoteDisconnected

import h11
from requests.structures import CaseInsensitiveDict
from urllib3.exceptions import DecodeError, ProtocolError

from adapters.http1_simple import Head, closes, simple_head, simple_request

MAX_HEAD = 65536  # a whole head (http.client: 64 KiB a line)
MAX_FIELDS = 100  # http.client's _MAXHEADERS
MAX_INTERIM = 10  # 1xx answers skipped before the final one
_RECV = 65536
_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)  # Linux only


class BrokenBody(ProtocolError):
    """The head was read, the body is not whole or not well framed."""


class SlowBody(BrokenBody):
    """The head was read, the body did not come within the read timeout."""


@dataclass(frozen=True)
class Answer:
    status: int
    reason: str
    headers: CaseInsensitiveDict[str]
    content: bytes
    complete: bool  # the whole body fitted in max_bytes
    reusable: bool  # the connection carries nothing more of this answer and may carry another


class Exchange:
    """One request and its answer, on a connection that carries nothing else meanwhile (a
    kept-alive connection is reused only when the exchange before it left it idle)."""

    def __init__(
        self, method: str, target: str, host: str, headers: dict[str, str], body: bytes
    ) -> None:
        """Frames the request (`data`, to be written whole): the request line, Host first, the
        given fields, Content-Length, then `body`. Raises ValueError for a field name that is not
        a token, a value holding CR, LF or NUL, or a method or target that could smuggle another
        request."""
        fields = [("Host", host), *headers.items(), ("Content-Length", str(len(body)))]
        self._request = (method, target, fields, body)
        self._h11: h11.Connection | None = None
        # The short way only where h11 would frame the answer by its fields (not a HEAD or a
        # CONNECT); `kept_alive`: the request asked for no close (h11's `_keep_alive`).
        self._simple = method == "POST"
        self._kept_alive = not any(n.lower() == "connection" and closes(v) for n, v in fields)
        head = simple_request(target, fields) if self._simple else None
        self.data = self._sent_by_h11() if head is None else head + body

    def _sent_by_h11(self) -> bytes:
        """The request framed by h11, whose state machine then reads the answer."""
        method, target, fields, body = self._request
        self._h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD)
        try:
            request = h11.Request(
                method=method,
                target=target.encode("latin-1"),
                headers=[(n.encode("latin-1"), v.encode("latin-1")) for n, v in fields],
            )
            head = self._h11.send(request)
            rest = self._h11.send_with_data_passthrough(h11.Data(data=body))
            end = self._h11.send(h11.EndOfMessage())
        except (h11.LocalProtocolError, UnicodeEncodeError) as exc:
            raise ValueError(str(exc)) from exc
        return b"".join([head, *(rest or ()), end])

    def _connection(self) -> h11.Connection:
        """h11's state machine, having sent the request (written the short way: framed again,
        the bytes already written)."""
        if self._h11 is None:
            self._sent_by_h11()
        assert self._h11 is not None
        return self._h11

    def read_answer(self, sock: socket.socket, max_bytes: int) -> Answer:
        """Read the answer from `sock` (see the module docstring)."""
        reader = _Socket(sock)
        if self._simple and (answer := self._read_simple(reader, max_bytes)) is not None:
            return answer
        conn = reader.conn = self._connection()
        # 1. The head: interim answers skipped, the final one checked.
        try:
            for _ in range(MAX_INTERIM + 1):
                head = reader.next_event()
                if not isinstance(head, h11.InformationalResponse):
                    break
            else:
                raise HTTPException("too many interim answers")
            if not isinstance(head, h11.Response):
                raise HTTPException(f"an answer expected, not {head!r}")
            # h11 refuses a head still incomplete beyond MAX_HEAD; one that completed in the
            # read that crossed it is refused here (what h11 holds beyond the heads is body).
            if reader.received - len(conn.trailing_data[0]) > MAX_HEAD:
                raise HTTPException(f"an answer head over {MAX_HEAD} bytes")
            final = Head(
                head.status_code, head.reason, head.http_version, list(head.headers.raw_items())
            )
            headers = _checked(final)
        except h11.RemoteProtocolError as exc:
            if reader.received == 0:  # closed before any byte: a kept-alive connection it dropped
                raise ProtocolError(
                    "Connection aborted.",
                    RemoteDisconnected("Remote end closed connection without response"),
                ) from exc
            raise ProtocolError("Connection aborted.", exc) from exc
        except HTTPException as exc:
            raise ProtocolError("Connection aborted.", exc) from exc
        # 2. The body, up to max_bytes + 1. A socket failure here broke an answer already
        # begun (urllib3's `_error_catcher`).
        body = bytearray()
        try:
            while not isinstance(event := reader.next_event(), h11.EndOfMessage):
                if not isinstance(event, h11.Data):
                    raise BrokenBody(f"Connection broken: {event!r} in the body")
                body += event.data
                if len(body) > max_bytes:
                    return self._answer(final, headers, body[:max_bytes], complete=False)
        except h11.RemoteProtocolError as exc:
            raise BrokenBody(f"Connection broken: {exc!r}", exc) from exc
        except OSError as exc:
            raise _broken(exc) from exc
        return self._answer(final, headers, body, complete=True)

    def _answer(
        self,
        head: Head,
        headers: CaseInsensitiveDict[str],
        body: bytearray,
        *,
        complete: bool,
    ) -> Answer:
        # 3. Reused only when h11 says both sides are done (no close asked for, the body ended
        # where its framing said) and nothing arrived beyond the answer.
        conn = self._connection()
        idle = conn.states == {h11.CLIENT: h11.DONE, h11.SERVER: h11.DONE}
        reusable = complete and idle and not conn.trailing_data[0]
        return Answer(
            head.status, head.reason.decode("latin-1"), headers, bytes(body), complete, reusable
        )

    def _read_simple(self, reader: _Socket, max_bytes: int) -> Answer | None:
        """The answer read the short way (module docstring), or None when h11 is to read it:
        then h11 has been given every byte read (and the close, if the agency closed)."""
        received = bytearray(reader.read())
        simple = simple_head(received, max_bytes)
        if simple is None or simple[1] > MAX_HEAD:
            self._connection().receive_data(bytes(received))
            return None
        head, end, length, kept_alive = simple
        try:
            headers = _checked(head)
        except HTTPException as exc:
            raise ProtocolError("Connection aborted.", exc) from exc
        while len(received) < end + length:
            try:
                more = reader.read()
            except OSError as exc:
                raise _broken(exc) from exc
            if not more:  # cut short: h11 words it
                self._connection().receive_data(bytes(received))
                self._connection().receive_data(b"")
                return None
            received += more
        reusable = kept_alive and self._kept_alive and len(received) == end + length
        content = bytes(received[end : end + length])
        return Answer(head.status, head.reason.decode("latin-1"), headers, content, True, reusable)


class _Socket:
    """Feeds h11 from one socket; `received` counts the bytes read."""

    conn: h11.Connection  # set once h11 is to read the answer

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self.received = 0
        # TLS inside a TLS proxy tunnel reads through urllib3's SSLTransport, not a socket.
        self._quickack = _QUICKACK if isinstance(sock, socket.socket) else None

    def next_event(self) -> h11.Event | type[h11.NEED_DATA] | type[h11.PAUSED]:
        """The next event of the answer (never NEED_DATA: it reads until there is one)."""
        while (event := self.conn.next_event()) is h11.NEED_DATA:
            self.conn.receive_data(self.read())  # b"": the connection closed
        return event

    def read(self) -> bytes:
        """What arrives next (b"": the connection closed), counted in `received`."""
        data = self.recv()
        self.received += len(data)
        return data

    def recv(self) -> bytes:
        if self._quickack is not None:
            # Acknowledge at once what arrives next (Linux leaves quick-ack mode on its own, so
            # it is asked before each read): an agency that writes its head and its body
            # separately, with Nagle's algorithm on, otherwise holds the body until our delayed
            # ACK of the head, up to 40 ms a call.
            self._sock.setsockopt(socket.IPPROTO_TCP, self._quickack, 1)
        return self._sock.recv(_RECV)


def _broken(exc: OSError) -> BrokenBody:
    """A socket failure while reading a body already begun (urllib3's `_error_catcher`)."""
    if isinstance(exc, TimeoutError):
        return SlowBody(f"Connection broken: {exc!r}", exc)
    return BrokenBody(f"Connection broken: {exc!r}", exc)


def _checked(head: Head) -> CaseInsensitiveDict[str]:
    """The final head's fields, once it is an answer we read: HTTP/1.x, at most MAX_FIELDS
    fields (else HTTPException), no content coding (else DecodeError)."""
    if not head.http_version.startswith(b"1."):
        raise HTTPException(f"an answer in HTTP/{head.http_version.decode()}")
    if len(head.fields) > MAX_FIELDS:
        raise HTTPException(f"got more than {MAX_FIELDS} headers")
    headers = _fields(head.fields)
    coding = headers.get("Content-Encoding", "identity").strip().lower()
    if coding not in ("", "identity"):
        raise DecodeError(f"the answer is encoded ({coding}); identity was asked for")
    return headers


def _fields(raw: list[tuple[bytes, bytes]]) -> CaseInsensitiveDict[str]:
    """The answer's fields, repeated ones joined with ", " (RFC 9110 §5.3) under the first
    one's spelling, as requests joined them."""
    fields: dict[str, str] = {}
    spelled: dict[str, str] = {}  # lower-case name -> the first spelling seen
    for raw_name, raw_value in raw:
        name = raw_name.decode("ascii")
        value = raw_value.decode("latin-1")
        first = spelled.setdefault(name.lower(), name)
        fields[first] = f"{fields[first]}, {value}" if first in fields else value
    return CaseInsensitiveDict(fields)
