"""Adapter-internal errors. Adapters turn both into `AgencyCallFailed` (adapters/base.py) before
they reach the gateway core, keeping the exchanged bytes for the trail."""

from __future__ import annotations

import requests


class MappingFailed(ValueError):
    """The mapping could not produce a request that conforms to the agency's contract."""


class MalformedAnswer(ValueError):
    """The answer does not carry what the mapping says it must, or carries it in a bad form."""


def transport_failure(code: str, exc: Exception, timeout_s: float) -> str:
    """What went wrong on the wire, in words an operator can act on, then the library's own."""
    if isinstance(exc, requests.ConnectTimeout):
        what = f"could not connect within {timeout_s:g} s"
    elif isinstance(exc, requests.Timeout):
        what = f"no answer within the timeout of {timeout_s:g} s"
    elif isinstance(exc, requests.exceptions.ContentDecodingError):
        what = "the answer came in a content coding the gateway did not ask for"
    elif isinstance(exc, requests.exceptions.ChunkedEncodingError):
        what = "the connection broke before the whole answer arrived"
    elif isinstance(exc, requests.ConnectionError) and any(
        sign in str(exc) for sign in ("aborted", "RemoteDisconnected", "reset by peer")
    ):
        what = "the agency's side closed the connection before answering"
    elif isinstance(exc, requests.ConnectionError):
        what = "could not connect to the agency's endpoint (is it up, and is the URL right?)"
    else:
        what = "the HTTP exchange failed"
    return f"{code}: {what} ({type(exc).__name__}: {exc})"
