"""Requests signed by a party whose certificate the gateway pins (an agency, the treasury).

One place builds the RFC 9421 view of the Flask request and checks it against the pinned key:
agencies' REST callbacks, their permit reads and standing changes, and the treasury's payment
confirmations. Each caller turns a refusal into its own problem type (what was refused differs)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from cryptography import x509
from flask import request

from wire import httpsig


def verify_pinned(
    data: bytes,
    pinned: x509.Certificate,
    *,
    now: dt.datetime,
    skew: dt.timedelta,
    components: Sequence[str] = httpsig.REQUEST_COMPONENTS,
) -> dict[str, str]:
    """The request's header fields, once its signature over `components` (and `data`'s digest)
    verifies with `pinned`; raises httpsig.UntrustedHttpMessage otherwise."""
    fields = httpsig.header_items(request.headers.items())
    message = httpsig.HttpMessage(fields, method=request.method, url=request.url)
    httpsig.verify(message.view(), data, pinned, now=now, skew=skew, components=components)
    return fields
