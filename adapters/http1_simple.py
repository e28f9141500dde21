"""The short way of `adapters.http1`: the usual request and answer heads, written and read
without h11's state machine, only where h11 would write and read them the same way.

h11 (its events, `normalize_and_validate` per field, the state machine behind three `send` and
four `next_event` calls) made framing a signed request and reading its answer cost ~125 us of
CPU on loopback; written and read here, ~45 us. The shapes here are h11's grammar (h11/_abnf.py) narrowed: `simple_request`
checks every name and value as h11 checks them, `simple_head` accepts a head only when h11
would read it to the same fields and body framing. Whatever they do not take (return None),
h11 writes or reads, and refuses in its own words; tests/unit/adapters/test_http1_simple.py
holds the two ways equal, hostile input included.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = rb"[-!#$%&'*+.^_`|~0-9a-zA-Z]+"  # a field name, a method (RFC 9110 §5.1)
_VALUE = rb"(?:[^\x00\s]+(?:[ \t]+[^\x00\s]+)*)?"  # h11's field_value: no CR, LF, NUL, OWS around
# Names (values) joined by LF, which neither may hold: when there are as many LFs as joins,
# the whole matches iff each one does.
_NAMES = re.compile(_TOKEN + rb"(?:\n" + _TOKEN + rb")*")
_VALUES = re.compile(_VALUE + rb"(?:\n" + _VALUE + rb")*")
_TARGET = re.compile(rb"[\x21-\x7e]+")  # h11's request_target


@dataclass(frozen=True)
class Head:
    """A final answer's head, read by h11 or by `simple_head`."""

    status: int
    reason: bytes
    http_version: bytes
    fields: list[tuple[bytes, bytes]]  # as sent: names as spelled, values without OWS


def closes(value: str | bytes) -> bool:
    """Whether a Connection field's value asks for a close (h11's `_keep_alive`)."""
    raw = value.encode("latin-1") if isinstance(value, str) else value
    return b"close" in [token.strip() for token in raw.lower().split(b",")]


def simple_request(target: str, fields: list[tuple[str, str]]) -> bytes | None:
    """The head h11 writes for a POST to `target` with `fields` (Host first, Content-Length last, as
    `http1.Exchange` gives them), when every name is a token and every value a field value
    (h11's checks, each field on its own) and no field changes what h11 writes (another Host or
    length, a transfer coding); else None."""
    try:
        names = [name.encode("latin-1") for name, _ in fields]
        values = [value.encode("latin-1") for _, value in fields]
        path = target.encode("latin-1")
    except UnicodeEncodeError:
        return None
    joined, values_joined = b"\n".join(names), b"\n".join(values)
    if (
        _TARGET.fullmatch(path) is None
        or joined.count(b"\n") != len(fields) - 1
        or values_joined.count(b"\n") != len(fields) - 1
        or _NAMES.fullmatch(joined) is None
        or _VALUES.fullmatch(values_joined) is None
    ):
        return None
    lower = joined.lower().split(b"\n")
    if (
        lower.count(b"host") != 1
        or lower.count(b"content-length") != 1
        or b"transfer-encoding" in lower
    ):
        return None
    lines = [b"%s: %s\r\n" % field for field in zip(names, values, strict=True)]
    return b"".join([b"POST %s HTTP/1.1\r\n" % path, *lines, b"\r\n"])


# A head h11 reads the same way: its status line (a final status of 2xx-5xx, a reason phrase of
# visible ASCII, space and tab), then fields whose value is visible ASCII with space or tab
# inside (h11 takes OWS around a value off, as the groups here do), every line ended by CRLF,
# then the empty line. No CR or LF inside a line, no obs-fold (a line cannot start with space),
# so the first blank line h11 looks for (`\n\r?\n`) is this head's end.
_FIELD = (
    rb"(" + _TOKEN + rb")"  # the name
    rb":[ \t]*((?:[\x21-\x7e]+(?:[ \t]+[\x21-\x7e]+)*)?)[ \t]*\r\n"  # OWS value OWS CRLF
)
_SIMPLE_HEAD = re.compile(
    rb"HTTP/1\.1 ([2-5][0-9][0-9]) ([\t\x20-\x7e]*)\r\n((?:" + _FIELD + rb")*)\r\n"
)
_SIMPLE_FIELD = re.compile(_FIELD)


def simple_head(data: bytearray, max_bytes: int) -> tuple[Head, int, int, bool] | None:
    """(head, where the body starts, its Content-Length, whether the agency keeps the connection
    alive) when `data` begins with a head that `_SIMPLE_HEAD` matches and whose body h11 frames
    by one all-digit Content-Length of at most `max_bytes`; else None (h11 reads it)."""
    match = _SIMPLE_HEAD.match(data)
    if match is None:
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
        elif lower == b"connection":
            kept_alive &= not closes(value)
    if length is None or length > max_bytes:
        return None
    return Head(status, match[2], b"1.1", fields), match.end(), length, kept_alive
