"""CSRF protection for the OMC: the shared synchronizer token (`gateway.web.csrf`), refused with
the OMC's own error."""

from __future__ import annotations

from gateway.omc.errors import CsrfRejected
from gateway.web import csrf as shared

SESSION_KEY = shared.SESSION_KEY
csrf_token = shared.csrf_token


def check_csrf() -> None:
    """Refuse an unsafe request whose token is missing or not the session's (before_request)."""
    shared.check_csrf(
        CsrfRejected(
            "This form was not sent from an OMC page of this session (no or wrong CSRF token). "
            "Reload the page and try again."
        )
    )
