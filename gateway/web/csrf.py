"""CSRF protection for the server-rendered pages (the OMC, the portal): a synchronizer token kept
in the signed session and sent back with every form (hidden field `csrf_token`) or script request
(header `X-CSRF-Token`).

Why our own and not Flask-WTF: there are no WTForms forms, and the whole mechanism is a random
token, one constant-time comparison and one check on every unsafe method — about thirty lines we
can read, against a dependency pulling in a form library. The signed session cookie (HttpOnly,
SameSite=Strict) cannot be read or forged by another origin, so neither can the token it carries.
"""

from __future__ import annotations

import hmac
import secrets

from flask import request, session

from gateway.errors import GatewayError

SESSION_KEY = "csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def csrf_token() -> str:
    """The session's token, made on first use (templates call this for every form)."""
    token = session.get(SESSION_KEY)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session[SESSION_KEY] = token
    return token


def check_csrf(refusal: GatewayError) -> None:
    """Raise `refusal` for an unsafe request whose token is missing or not the session's (called
    from a blueprint's before_request)."""
    if request.method in SAFE_METHODS:
        return
    expected = session.get(SESSION_KEY)
    given = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
    if not isinstance(expected, str) or not hmac.compare_digest(given.encode(), expected.encode()):
        raise refusal
