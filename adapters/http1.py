"""One HTTP/1.1 exchange on an open connection (RFC 9112): the request written as one buffer,
the answer read with a strict, bounded reader.

`http.client` (under urllib3) spent most of a loopback POST's CPU around it: putheader checks per
field, the `email` package's header parser, urllib3's response and header-dict wrappers. An
adapter posts one body with a few fields it made itself and reads one answer of known shape, so
this reader does only what RFC 9112 asks of a client for that, with limits like `http.client`'s
(a head of at most 64 KiB, where it allowed 64 KiB a line; at most 100 header fields), and checks
it did not make:

- the status line must be `HTTP/1.0` or `HTTP/1.1`, a three-digit code and an optional reason;
- a field name is a token followed directly by ":" (whitespace before the colon is refused,
  §5.1); obs-fold is replaced by a space (§5.2); a bare CR is refused (§2.2);
- interim answers (1xx but 101) are skipped; 101 is refused (nothing asked to switch);
- the body is framed by `Transfer-Encoding: chunked` (§7.1; any other transfer coding is
  refused), else by Content-Length (several differing values are refused, §6.3), else by the
  connection closing; 204 and 304 have none;
- a `Content-Encoding` other than identity is refused: the request says `Accept-Encoding:
  identity`, and the answer's digest and signature are over the bytes as sent.

No more than `max_bytes` of the body are kept; the rest is not read and the connection is not
reused. Malformed answers raise the urllib3 exceptions urllib3 raised for them (`ProtocolError`),
so the caller maps them to `requests` exceptions as before.
"""

from __future__ import annotations

import functools
import re
import socket
from dataclasses import dataclass
from http.client import BadStatusLine, HTTPException, LineTooLong, RemoteDisconnected

from requests.structures import CaseInsensitiveDict
from urllib3.exceptions import DecodeError, ProtocolError

MAX_HEAD = 65536  # a whole head (http.client: 64 KiB a line)
MAX_FIELDS = 100  # http.client's _MAXHEADERS
MAX_INTERIM = 10  # 1xx answers skipped before the final one
_RECV = 65536
_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)  # Linux only

_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_STATUS = re.compile(rb"HTTP/1\.([01]) ([0-9]{3})(?: ([^\r\n]*))?")
_HEAD_END = re.compile(rb"\n\r?\n")
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,16})[ \t]*(?:;[^\r\n]*)?")


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


def request_head(
    method: str, target: str, host: str, headers: dict[str, str], length: int
) -> bytes:
    """The request line and fields, ending with the empty line. Refuses a field name that is
    not a token and a value holding CR, LF or NUL (no field or request can be smuggled in)."""
    for name in headers:
        if not _token(name):
            raise ValueError(f"invalid header name {name!r}")
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    lines.extend(f"{name}: {value}" for name, value in headers.items())
    lines.append(f"Content-Length: {length}\r\n\r\n")
    head = "\r\n".join(lines)
    # Every CR and LF is one the lines were joined with: none came in a value, target or host.
    if head.count("\n") != len(lines) + 1 or head.count("\r") != len(lines) + 1 or "\x00" in head:
        raise ValueError("a header value, the target or the host holds CR, LF or NUL")
    if target.count(" ") or method.count(" "):
        raise ValueError(f"invalid request target {target!r}")
    return head.encode("latin-1")


@functools.lru_cache(maxsize=256)
def _token(name: str) -> bool:
    """Whether `name` is a field name (RFC 9110 §5.1: a token); the few names used are kept."""
    return _TOKEN.fullmatch(name.encode("latin-1", "replace")) is not None


class _Reader:
    """Bytes from one socket, buffered; `left` is what arrived beyond what was read."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self.left = bytearray()
        # TLS inside a TLS proxy tunnel reads through urllib3's SSLTransport, not a socket.
        self._quickack = _QUICKACK if isinstance(sock, socket.socket) else None

    def _more(self) -> bool:
        if self._quickack is not None:
            # Acknowledge at once what arrives next (Linux leaves quick-ack mode on its own, so
            # it is asked before each read): an agency that writes its head and its body
            # separately, with Nagle's algorithm on, otherwise holds the body until our delayed
            # ACK of the head, up to 40 ms a call.
            self._sock.setsockopt(socket.IPPROTO_TCP, self._quickack, 1)
        data = self._sock.recv(_RECV)
        self.left += data
        return bool(data)

    def head(self) -> list[bytes] | None:
        """The lines of the next head (status line and fields, line ends removed, CRLF or LF
        alone, §2.2), or None if the connection closed before any byte of it."""
        start = 0
        while (end := _HEAD_END.search(self.left, start)) is None:
            if len(self.left) > MAX_HEAD:
                raise LineTooLong(f"an answer head over {MAX_HEAD} bytes")
            start = max(0, len(self.left) - 3)
            if not self._more():
                if self.left:
                    raise HTTPException("the answer's head is cut")
                return None
        if end.start() > MAX_HEAD:
            raise LineTooLong(f"an answer head over {MAX_HEAD} bytes")
        block = bytes(self.left[: end.start()]).removesuffix(b"\r").replace(b"\r\n", b"\n")
        del self.left[: end.end()]
        if b"\r" in block:
            raise HTTPException("a bare CR in the answer's head")
        return block.split(b"\n")

    def line(self, limit: int) -> bytes | None:
        """The next line without its line end, or None at end of input."""
        start = 0
        while (end := self.left.find(b"\n", start)) < 0:
            if len(self.left) > limit:
                raise BrokenBody("Connection broken: a chunk line is too long")
            start = len(self.left)
            if not self._more():
                return None
        line = bytes(self.left[:end]).removesuffix(b"\r")
        del self.left[: end + 1]
        return line

    def take(self, n: int) -> bytes:
        """Up to `n` bytes: fewer only when the connection closed."""
        while len(self.left) < n and self._more():
            pass
        data = bytes(self.left[:n])
        del self.left[:n]
        return data


def read_answer(sock: socket.socket, max_bytes: int) -> Answer:
    """Read one answer to a POST from `sock` (see the module docstring)."""
    reader = _Reader(sock)
    for _ in range(MAX_INTERIM + 1):
        version, status, reason, fields = _head(reader)
        if status == 101:
            raise ProtocolError("Connection aborted.", BadStatusLine("101 Switching Protocols"))
        if status >= 200:
            break
    else:
        raise ProtocolError("Connection aborted.", HTTPException("too many interim answers"))
    headers = CaseInsensitiveDict(fields)
    coding = headers.get("Content-Encoding", "identity").strip().lower()
    if coding not in ("", "identity"):
        raise DecodeError(f"the answer is encoded ({coding}); identity was asked for")
    keep = version == 1 and "close" not in _tokens(headers.get("Connection", ""))
    # A socket failure here broke an answer already begun (urllib3's `_error_catcher`).
    try:
        content, complete, framed = _body(reader, status, headers, max_bytes)
    except TimeoutError as exc:
        raise SlowBody(f"Connection broken: {exc!r}", exc) from exc
    except OSError as exc:
        raise BrokenBody(f"Connection broken: {exc!r}", exc) from exc
    return Answer(
        status,
        reason,
        headers,
        content[:max_bytes],
        complete,
        reusable=keep and framed and not reader.left,
    )


def _body(
    reader: _Reader, status: int, headers: CaseInsensitiveDict[str], max_bytes: int
) -> tuple[bytes, bool, bool]:
    """(up to `max_bytes` + 1 of the body, whether it was whole within `max_bytes`, whether it
    ended where its framing said, leaving the connection ready for another exchange)."""
    if status in (204, 304):
        return b"", True, True
    if "Transfer-Encoding" in headers:
        if _tokens(headers["Transfer-Encoding"]) != ["chunked"]:
            raise BrokenBody(f"unsupported transfer coding {headers['Transfer-Encoding']!r}")
        content, complete = _chunked(reader, max_bytes)
        return content, complete, complete
    if "Content-Length" in headers:
        length = _content_length(headers["Content-Length"])
        content = reader.take(min(length, max_bytes + 1))
        complete = length <= max_bytes
        if complete and len(content) < length:
            raise BrokenBody(
                f"Connection broken: IncompleteRead({len(content)} bytes read, "
                f"{length - len(content)} more expected)"
            )
        return content, complete, complete
    # The body ends when the connection does (§6.3, item 8).
    content = reader.take(max_bytes + 1)  # fewer only when the connection closed
    return content, len(content) <= max_bytes, False


def _head(reader: _Reader) -> tuple[int, int, str, dict[str, str]]:
    try:
        lines = reader.head()
    except HTTPException as exc:
        raise ProtocolError("Connection aborted.", exc) from exc
    if lines is None:
        raise ProtocolError(
            "Connection aborted.",
            RemoteDisconnected("Remote end closed connection without response"),
        )
    found = _STATUS.fullmatch(lines[0])
    if found is None:
        raise ProtocolError("Connection aborted.", BadStatusLine(repr(lines[0][:80])))
    if len(lines) > MAX_FIELDS + 1:
        raise ProtocolError("Connection aborted.", HTTPException("got more than 100 headers"))
    fields: dict[str, str] = {}
    spelled: dict[str, str] = {}  # lower-case name -> the first spelling seen
    last: str | None = None
    for raw in lines[1:]:
        if raw[:1] in (b" ", b"\t"):  # obs-fold (§5.2): the value goes on, after a space
            if last is None:
                raise ProtocolError("Connection aborted.", HTTPException("a head starts folded"))
            more = raw.strip(b" \t").decode("latin-1")
            fields[last] = f"{fields[last]} {more}"
            continue
        name_bytes, colon, value_bytes = raw.partition(b":")
        if not colon or not _TOKEN.fullmatch(name_bytes):
            raise ProtocolError("Connection aborted.", HTTPException(f"bad header {raw[:80]!r}"))
        name, value = name_bytes.decode("ascii"), value_bytes.strip(b" \t").decode("latin-1")
        # Repeated fields are joined with ", " (RFC 9110 §5.3) under the first one's spelling.
        last = spelled.setdefault(name.lower(), name)
        fields[last] = f"{fields[last]}, {value}" if last in fields else value
    status_text = found.group(3) or b""
    return int(found.group(1)), int(found.group(2)), status_text.decode("latin-1"), fields


def _tokens(value: str) -> list[str]:
    return [t.strip().lower() for t in value.split(",") if t.strip()]


def _content_length(value: str) -> int:
    values = {v.strip() for v in value.split(",")}
    if len(values) != 1 or not (only := values.pop()).isdigit() or not only.isascii():
        raise ProtocolError("Connection aborted.", HTTPException(f"bad Content-Length {value!r}"))
    return int(only)


def _chunked(reader: _Reader, max_bytes: int) -> tuple[bytes, bool]:
    """The chunked body (§7.1), up to `max_bytes` + 1; (content, whether it ended in time)."""
    body = bytearray()
    while True:
        line = reader.line(1024)
        size = _CHUNK_SIZE.fullmatch(line) if line is not None else None
        if size is None:
            raise BrokenBody(f"Connection broken: invalid chunk length {line!r}")
        n = int(size.group(1), 16)
        if n == 0:
            break
        if len(body) + n > max_bytes:
            body += reader.take(max_bytes + 1 - len(body))
            return bytes(body), False
        chunk = reader.take(n)
        if len(chunk) < n or reader.line(2) != b"":
            raise BrokenBody("Connection broken: a chunk is cut or not followed by CRLF")
        body += chunk
    for _ in range(MAX_FIELDS + 1):  # the trailer section, read and dropped (§7.1.2)
        trailer = reader.line(MAX_HEAD)
        if trailer is None:
            raise BrokenBody("Connection broken: the chunked body has no end")
        if not trailer:
            return bytes(body), True
    raise BrokenBody("Connection broken: more than 100 trailer fields")
