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

The usual answer is read without h11 (`_simple_head`): a head that arrived whole in the first
read, of a shape h11 accepts and reads the same way (`HTTP/1.1`, a final status that has a body,
fields of visible ASCII, lines ended by CRLF, one all-digit Content-Length no larger than
`max_bytes`, no Transfer-Encoding), and its body. h11's state machine, `normalize_and_validate`
and events were half of an agency call's HTTP CPU. Anything else (and a body cut by the agency
closing) goes to h11 with every byte read so far, so what h11 refuses is still refused, in the
same words; only an answer h11 would read gives the same answer the short way.

Failures are raised as the urllib3 exceptions urllib3 raised for them: a head h11 refuses is a
`ProtocolError("Connection aborted.", ...)`, a body it refuses or that is cut a `BrokenBody`, so
the caller maps them to `requests` exceptions as before.
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass
from http.client import HTTPException, RemoteDisconnected

import h11
from requests.structures import CaseInsensitiveDict
from urllib3.exceptions import DecodeError, ProtocolError

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


@dataclass(frozen=True)
class _Head:
    """A final answer's head, read by h11 or by `_simple_head`."""

    status: int
    reason: bytes
    http_version: bytes
    fields: list[tuple[bytes, bytes]]  # as sent: names as spelled, values without OWS


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
        self._h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD)
        fields = [("Host", host), *headers.items(), ("Content-Length", str(len(body)))]
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
        self.data = b"".join([head, *(rest or ()), end])
        # The short way only where h11 would frame the answer by its fields (not a HEAD or a
        # CONNECT); `kept_alive`: the request asked for no close (h11's client state).
        self._simple = method == "POST"
        self._kept_alive = self._h11.our_state is h11.DONE

    def read_answer(self, sock: socket.socket, max_bytes: int) -> Answer:
        """Read the answer from `sock` (see the module docstring)."""
        reader = _Socket(sock, self._h11)
        if self._simple and (answer := self._read_simple(reader, max_bytes)) is not None:
            return answer
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
            if reader.received - len(self._h11.trailing_data[0]) > MAX_HEAD:
                raise HTTPException(f"an answer head over {MAX_HEAD} bytes")
            final = _Head(
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
        head: _Head,
        headers: CaseInsensitiveDict[str],
        body: bytearray,
        *,
        complete: bool,
    ) -> Answer:
        # 3. Reused only when h11 says both sides are done (no close asked for, the body ended
        # where its framing said) and nothing arrived beyond the answer.
        idle = self._h11.states == {h11.CLIENT: h11.DONE, h11.SERVER: h11.DONE}
        reusable = complete and idle and not self._h11.trailing_data[0]
        return Answer(
            head.status, head.reason.decode("latin-1"), headers, bytes(body), complete, reusable
        )

    def _read_simple(self, reader: _Socket, max_bytes: int) -> Answer | None:
        """The answer read the short way (module docstring), or None when h11 is to read it:
        then h11 has been given every byte read (and the close, if the agency closed)."""
        received = bytearray(reader.read())
        simple = _simple_head(received, max_bytes)
        if simple is None:
            self._h11.receive_data(bytes(received))
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
                self._h11.receive_data(bytes(received))
                self._h11.receive_data(b"")
                return None
            received += more
        reusable = kept_alive and self._kept_alive and len(received) == end + length
        content = bytes(received[end : end + length])
        return Answer(head.status, head.reason.decode("latin-1"), headers, content, True, reusable)


class _Socket:
    """Feeds h11 from one socket; `received` counts the bytes read."""

    def __init__(self, sock: socket.socket, conn: h11.Connection) -> None:
        self._sock = sock
        self._h11 = conn
        self.received = 0
        # TLS inside a TLS proxy tunnel reads through urllib3's SSLTransport, not a socket.
        self._quickack = _QUICKACK if isinstance(sock, socket.socket) else None

    def next_event(self) -> h11.Event | type[h11.NEED_DATA] | type[h11.PAUSED]:
        """The next event of the answer (never NEED_DATA: it reads until there is one)."""
        while (event := self._h11.next_event()) is h11.NEED_DATA:
            self._h11.receive_data(self.read())  # b"": the connection closed
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


def _checked(head: _Head) -> CaseInsensitiveDict[str]:
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


# A head h11 reads the same way (h11/_abnf.py, narrowed): its status line (a final status of
# 2xx-5xx, a reason phrase of visible ASCII, space and tab), then fields whose value is visible
# ASCII with space or tab inside (h11 takes OWS around a value off, as the groups here do), every
# line ended by CRLF, then the empty line. No CR or LF inside a line, no obs-fold (a line cannot
# start with space), so the first blank line h11 looks for (`\n\r?\n`) is this head's end.
_FIELD = (
    rb"([-!#$%&'*+.^_`|~0-9a-zA-Z]+)"  # the name: a token
    rb":[ \t]*((?:[\x21-\x7e]+(?:[ \t]+[\x21-\x7e]+)*)?)[ \t]*\r\n"  # OWS value OWS CRLF
)
_SIMPLE_HEAD = re.compile(
    rb"HTTP/1\.1 ([2-5][0-9][0-9]) ([\t\x20-\x7e]*)\r\n((?:" + _FIELD + rb")*)\r\n"
)
_SIMPLE_FIELD = re.compile(_FIELD)


def _simple_head(data: bytearray, max_bytes: int) -> tuple[_Head, int, int, bool] | None:
    """(head, where the body starts, its Content-Length, whether the agency keeps the connection
    alive) when `data` begins with a head that `_SIMPLE_HEAD` matches and whose body h11 frames
    by one all-digit Content-Length of at most `max_bytes`; else None (h11 reads it)."""
    match = _SIMPLE_HEAD.match(data)
    if match is None or match.end() > MAX_HEAD:
        return None
    status = int(match[1])
    if status in (204, 304):  # no body whatever the fields say (RFC 9112 §6.3)
        return None
    fields = _SIMPLE_FIELD.findall(match[3])
    length: int | None = None
    kept_alive = True
    for name, value in fields:
        lower = name.lower()
        if lower == b"content-length":
            if length is not None or not value.isdigit():
                return None
            length = int(value)
        elif lower == b"transfer-encoding":
            return None
        elif lower == b"connection":  # h11's `_keep_alive`
            kept_alive &= b"close" not in [token.strip() for token in value.lower().split(b",")]
    if length is None or length > max_bytes:
        return None
    return _Head(status, match[2], b"1.1", fields), match.end(), length, kept_alive


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
