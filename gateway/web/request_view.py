"""The request as RFC 9421 signs it, for every endpoint that checks HTTP Message Signatures."""

from __future__ import annotations

import urllib.parse

from flask import Request

from gateway.trust.http_signatures import RequestView


def request_view(request: Request) -> RequestView:
    """The request as RFC 9421 signs it: method, the target URI as sent (raw path and query), headers."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or ""
    if not raw.startswith("/"):
        raw = urllib.parse.quote(request.path)
        if request.query_string:
            raw += "?" + request.query_string.decode("latin-1")
    return RequestView(request.method, f"{request.scheme}://{request.host}{raw}", request.headers)
