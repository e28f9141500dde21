"""Bearer tokens for the audit, operations and officer APIs (until the OMC's accounts serve them)."""

from __future__ import annotations

import hmac
from collections.abc import Iterable

from flask import request


def bearer_token_in(tokens: Iterable[str]) -> bool:
    """True when the request's `Authorization: Bearer <token>` is one of `tokens` (compared in
    constant time); no tokens configured means nobody gets in."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and any(
        hmac.compare_digest(token.encode(), t.encode()) for t in tokens
    )
