"""The one way the gateway reads a request body: whole or not at all.

werkzeug stops a body at `max_content_length` and, for a chunked body (no Content-Length), may
hand over what it read so far without saying more was coming: a document cut at the limit can
still parse, and so be accepted as something the sender never sent. `read_body(limit)` reads at
most limit+1 bytes from the stream, whether or not there is a Content-Length, and refuses with a
413 `body-too-large` problem (a SOAP Fault on the SOAP endpoint, which catches `GatewayError`)
anything beyond the limit; a declared Content-Length over the limit is refused before reading.

The bytes are kept on `flask.g`, so the signature check of the same request (which covers the
body's digest) sees exactly the bytes the view parses, read once.
"""

from __future__ import annotations

from flask import current_app, g, request
from werkzeug.exceptions import RequestEntityTooLarge

from gateway.errors import BodyTooLarge
from gateway.i18n import Text

_CHUNK = 64 * 1024


def default_limit() -> int:
    """The gateway-wide cap (NSW_MAX_BODY_BYTES)."""
    limit: int = current_app.extensions["nsw"].config.max_body_bytes
    return limit


def _refuse(limit: int) -> BodyTooLarge:
    return BodyTooLarge(
        Text(
            "The body is larger than this endpoint's limit of %(limit)s bytes; send a smaller one.",
            limit=limit,
        ),
        limit=limit,
    )


def read_body(limit: int | None = None) -> bytes:
    """The request body, at most `limit` bytes (the gateway-wide cap if None), or 413."""
    cached: bytes | None = g.get("_nsw_body")
    if cached is not None:
        return cached
    limit = default_limit() if limit is None else limit
    if request.content_length is not None and request.content_length > limit:
        raise _refuse(limit)
    # One byte past the limit is enough to know the body is too large; werkzeug's own cap is set
    # above that, so it never cuts (or refuses) first with its own error.
    request.max_content_length = limit + 1
    parts: list[bytes] = []
    total = 0
    try:
        stream = request.stream
        while total <= limit:
            part = stream.read(min(_CHUNK, limit + 1 - total))
            if not part:
                break
            parts.append(part)
            total += len(part)
    except RequestEntityTooLarge as exc:
        raise _refuse(limit) from exc
    if total > limit:
        raise _refuse(limit)
    body = b"".join(parts)
    g._nsw_body = body
    return body
