"""The short way of writing a request and reading an agency's answer (adapters/http1_simple.py)
is held equal to h11's: for well-formed and hostile fields the bytes written (or the refusal,
with its words), and for well-formed and hostile answers, arriving whole or in pieces, ended by
a close, a reset or a timeout, the answer read (or the error raised, with its words) are the ones
h11 gives. Where the short way does not apply, h11 writes the request and reads the answer from
every byte read."""

from __future__ import annotations

import random
from collections.abc import Callable

import h11
import pytest

from adapters import http1


def _general(m: pytest.MonkeyPatch) -> None:
    """h11 for everything: the request framed and the answer read as before the short way."""
    m.setattr(http1, "simple_request", lambda target, fields: None)
    m.setattr(http1.Exchange, "_read_simple", lambda self, reader, max_bytes: None)


BODY = b'{"caseId":"C-1","status":"approved"}'
FIELDS = (
    b"Server: Werkzeug/3.1.3 Python/3.11.7\r\n"
    b"Content-Type: application/json\r\n"
    b"Content-Length: " + str(len(BODY)).encode() + b"\r\n"
    b'Signature-Input: sig1=("@status" "content-digest");keyid="a"\r\n'
    b"Signature: sig1=:AAAA:\r\n"
)
ANSWER = b"HTTP/1.1 200 OK\r\n" + FIELDS + b"\r\n" + BODY


class _Chunks:
    """A socket that hands out `chunks` one `recv` at a time, then `end`: b"" (the agency
    closed) or an exception (reset, timeout)."""

    def __init__(self, chunks: list[bytes], end: bytes | OSError) -> None:
        self._chunks = list(chunks)
        self._end = end

    def recv(self, size: int) -> bytes:
        if self._chunks:
            return self._chunks.pop(0)
        if isinstance(self._end, OSError):
            raise self._end
        return self._end


def _read(chunks: list[bytes], end: bytes | OSError, max_bytes: int) -> tuple[object, ...]:
    exchange = http1.Exchange("POST", "/cases", "agency", {"X-A": "1"}, b"{}")
    try:
        a = exchange.read_answer(_Chunks(chunks, end), max_bytes)  # type: ignore[arg-type]
    except Exception as exc:  # the error, in its words, is what is compared
        return (type(exc).__name__, str(exc))
    return (a.status, a.reason, list(a.headers.items()), a.content, a.complete, a.reusable)


@pytest.fixture
def both(monkeypatch: pytest.MonkeyPatch) -> Callable[..., object]:
    """Reads the same arrival both ways; returns the (equal) outcome."""

    def read(
        chunks: list[bytes], end: bytes | OSError = b"", max_bytes: int = 1000
    ) -> tuple[object, ...]:
        short = _read(chunks, end, max_bytes)
        with monkeypatch.context() as m:
            _general(m)
            general = _read(chunks, end, max_bytes)
        assert short == general
        return short

    return read


def _pieces(answer: bytes) -> list[list[bytes]]:
    """The answer whole, cut after its head, and cut at a few places inside head and body."""
    head_end = answer.find(b"\r\n\r\n") + 4
    cuts = {1, len(answer) // 3, head_end - 1, head_end, head_end + 1, len(answer) - 1}
    return [[answer]] + [[answer[:c], answer[c:]] for c in sorted(cuts) if 0 < c < len(answer)]


HOSTILE = [
    # Heads h11 refuses or reads otherwise: status lines
    b"HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/2.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.1 20 OK\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.1 200 O\x00K\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.1 200 O\rK\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.1 200 \xe9t\xe9\r\nContent-Length: 2\r\n\r\nok",
    b"http/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    b" HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    b"\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  # a TLS hello
    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n",
    b"HTTP/1.1 600 Odd\r\nContent-Length: 2\r\n\r\nok",
    # Fields: injection, folding, bad names and values, bare CR or LF
    b"HTTP/1.1 200 OK\r\nX: a\rContent-Length: 2\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nX: a\nContent-Length: 5\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok",
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\n\r\nok",
    b"HTTP/1.1 200 OK\r\nX: a\r\n folded\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\n\tfolded: at the start\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nX : a\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nBad Name: a\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\n: a\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nX-\xc3\xa9: a\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nX: a\x00b\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nX: a\x01b\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nX: caf\xe9\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nX:\ta \t \r\nY:\r\nZ:   \r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nNo colon\r\nContent-Length: 2\r\n\r\nok",
    # Framing: conflicting or odd lengths, transfer codings, none at all
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok!",
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\nok!",
    b"HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nContent-Length: 0x2\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nContent-Length: \xd9\xa2\r\n\r\nok",  # an Arabic-Indic digit
    b"HTTP/1.1 200 OK\r\nContent-Length: 002\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nContent-Length: 123456789012345678901\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n2\r\nok\r\n0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;x=y\r\nok\r\n0\r\nT: 1\r\n\r\n",
    b"HTTP/1.1 200 OK\r\n\r\nread until the close",
    b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nextra",
    b"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n",
    # Bodies: short, long, beyond the limit, more after the answer; coding; keep-alive
    b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok and more",
    b"HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n" + b"x" * 2000,
    b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"x" * 1000,
    b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nContent-Encoding: identity\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nConnection: Keep-Alive, CLOSE \r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nConnection: closed\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
    # Repeated fields joined, spelled as first seen; too many fields; a head too big
    b"HTTP/1.1 500 Oops\r\nX-A: 1\r\nx-a: 2\r\nX-B: 3\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\n" + b"X: 1\r\n" * 101 + b"Content-Length: 2\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\n" + b"X: 1\r\n" * 99 + b"Content-Length: 2\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nX: " + b"a" * 70000 + b"\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.1 200 OK\r\nX: " + b"a" * 65500 + b"\r\nContent-Length: 2\r\n\r\nok",
    b"",
    b"H",
    ANSWER,
]


@pytest.mark.parametrize("answer", HOSTILE)
@pytest.mark.parametrize(
    "end", [b"", ConnectionResetError(104, "reset"), TimeoutError("timed out")]
)
def test_every_answer_is_read_as_h11_reads_it(
    both: Callable[..., object], answer: bytes, end: bytes | OSError
) -> None:
    for chunks in _pieces(answer) if answer else [[]]:
        both(chunks, end)


def test_the_usual_answer_is_read_without_h11_and_as_h11_reads_it(
    both: Callable[..., object], monkeypatch: pytest.MonkeyPatch
) -> None:
    given: list[bytes] = []
    receive = h11.Connection.receive_data

    def recording(conn: h11.Connection, data: bytes) -> None:
        given.append(data)
        receive(conn, data)

    monkeypatch.setattr(h11.Connection, "receive_data", recording)
    status, reason, _, content, complete, reusable = _read([ANSWER], b"", 1000)
    assert given == []  # the short way
    assert (status, reason, content, complete, reusable) == (200, "OK", BODY, True, True)
    assert both([ANSWER]) == both([ANSWER[:40], ANSWER[40:200], ANSWER[200:]])
    given.clear()
    both([ANSWER.replace(b"Content-Length", b"Transfer-Encoding: chunked\r\nX")])
    assert given  # h11's way


@pytest.mark.parametrize(
    ("method", "headers", "content", "reusable"),
    [
        ("POST", {"Connection": "close"}, BODY, False),
        ("HEAD", {}, b"", False),  # what came after the head is not this answer's
        ("PUT", {}, BODY, True),
        ("POST", {"Upgrade": "h2c", "Connection": "upgrade"}, BODY, True),  # not switched
    ],
)
def test_what_the_request_asked_for_is_heeded_both_ways(
    monkeypatch: pytest.MonkeyPatch,
    method: str,
    headers: dict[str, str],
    content: bytes,
    reusable: bool,
) -> None:
    # A close asked for: the connection is not used again. A HEAD: no body, whatever the
    # answer's Content-Length says (RFC 9112 §6.3); h11 reads what is not a POST.
    for short in (True, False):
        with monkeypatch.context() as m:
            if not short:
                _general(m)
            exchange = http1.Exchange(method, "/", "agency", headers, b"")
            answer = exchange.read_answer(_Chunks([ANSWER], b""), 1000)  # type: ignore[arg-type]
        assert (answer.content, answer.reusable) == (content, reusable)


def test_mutated_answers_are_read_as_h11_reads_them(both: Callable[..., object]) -> None:
    # Bytes that matter to framing, inserted, replaced or removed at random places.
    rng = random.Random(17)
    alphabet = [b"\r", b"\n", b"\r\n", b" ", b"\t", b"\x00", b":", b",", b"0", b"9", b"\xff", b"a"]
    for _ in range(1500):
        data = bytearray(ANSWER)
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(data))
            what = rng.random()
            if what < 0.4:
                data[at:at] = rng.choice(alphabet)
            elif what < 0.8:
                data[at : at + 1] = rng.choice(alphabet)
            else:
                del data[at]
        cut = rng.randrange(1, len(data))
        both([bytes(data)] if rng.random() < 0.5 else [bytes(data[:cut]), bytes(data[cut:])])


SIGNED = {
    "User-Agent": "python-urllib3/2.2.3",
    "Accept-Encoding": "identity",
    "Content-Type": "application/json",
    "Accept": "application/json, application/problem+json",
    "Idempotency-Key": "C-1-3f2a",
    "Content-Digest": "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:",
    "Signature-Input": 'sig1=("@method" "@target-uri");created=1765137600;keyid="gw"',
    "Signature": "sig1=:" + "B" * 344 + ":",
}


@pytest.mark.parametrize(
    ("method", "target", "headers"),
    [
        ("POST", "/cases", SIGNED),
        ("POST", "https://agency.example:8443/cases?x=1", {}),
        ("GET", "/cases", SIGNED),
        ("PO ST", "/cases", {}),
        ("POST", "/ca ses", {}),
        ("POST", "/cases\r\nX: 1", {}),
        ("POST", "", {}),
        ("POST", "/caf\xe9", {}),
        ("POST", "/\u20ac", {}),
        ("POST", "/cases", {"X-A": "1\r\nX-Smuggled: 1"}),
        ("POST", "/cases", {"X-A": "1\nX-Smuggled: 1"}),
        ("POST", "/cases", {"X-A\r\nX-B": "1"}),
        ("POST", "/cases", {"X-A\nX-B": "1"}),
        ("POST", "/cases", {"Bad Name": "1"}),
        ("POST", "/cases", {"X:": "1"}),
        ("POST", "/cases", {"": "1"}),
        ("POST", "/cases", {"X-\xe9": "1"}),
        ("POST", "/cases", {"X": "a\x00"}),
        ("POST", "/cases", {"X": "a\rb"}),
        ("POST", "/cases", {"X": "a\x0bb"}),
        ("POST", "/cases", {"X": "a\x01b\x7f"}),
        ("POST", "/cases", {"X": " a"}),
        ("POST", "/cases", {"X": "a\t"}),
        ("POST", "/cases", {"X": "", "Y": "a \t b"}),
        ("POST", "/cases", {"X": "caf\xe9"}),
        ("POST", "/cases", {"X": "\u20ac"}),
        ("POST", "/cases", {"content-length": "0"}),
        ("POST", "/cases", {"Content-Length": "2"}),
        ("POST", "/cases", {"Transfer-Encoding": "chunked"}),
        ("POST", "/cases", {"Transfer-Encoding": "gzip"}),
        ("POST", "/cases", {"HOST": "elsewhere"}),
        ("POST", "/cases", {"Connection": "close"}),
        ("POST", "/cases", {"Connection": "Keep-Alive, Close"}),
        ("POST", "/cases", {"Upgrade": "h2c", "Connection": "upgrade"}),
        ("POST", "/cases", {"Expect": "100-continue"}),
    ],
)
def test_every_request_is_written_as_h11_writes_it(
    monkeypatch: pytest.MonkeyPatch, method: str, target: str, headers: dict[str, str]
) -> None:
    def framed() -> object:
        try:
            return http1.Exchange(method, target, "agency:8443", headers, b"{}").data
        except ValueError as exc:
            return ("ValueError", str(exc))

    short = framed()
    with monkeypatch.context() as m:
        _general(m)
        assert short == framed()


def test_the_usual_request_is_written_without_h11(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(h11, "Connection", None)  # any use of h11 fails
    exchange = http1.Exchange("POST", "/cases", "agency", SIGNED, b"{}")
    assert exchange.data.startswith(b"POST /cases HTTP/1.1\r\nHost: agency\r\n")
    assert exchange.read_answer(_Chunks([ANSWER], b""), 1000).content == BODY  # type: ignore[arg-type]
