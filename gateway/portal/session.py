"""The portal's session cookie, beside the OMC's.

Flask keeps one session interface per app, and the OMC's cookie (`nsw_omc`, path /omc) must not
be what signs a trader in. Requests under /portal therefore get a cookie of their own: another
name, path /portal, and another salt, so neither cookie is accepted in place of the other even
though one secret key signs both. Every other request keeps the app's settings unchanged.

Both cookies follow one rule for a page's live refresh (`gateway.web.live_refresh`): its answer
carries the cookie only if it changed the session.
"""

from __future__ import annotations

from flask import Flask, Request, request
from flask.sessions import SecureCookieSession, SessionMixin
from flask.wrappers import Response

from gateway.portal.blueprint import PREFIX
from gateway.web.live_refresh import LiveRefreshAware

COOKIE = "nsw_portal"


def is_portal(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


class _PortalCookie(LiveRefreshAware):
    salt = "nsw-portal-session"

    def get_cookie_name(self, app: Flask) -> str:
        return COOKIE

    def get_cookie_path(self, app: Flask) -> str:
        return PREFIX


class ScopedSessions(LiveRefreshAware):
    """The portal's cookie for /portal, the app's own for everything else."""

    def __init__(self) -> None:
        self._portal = _PortalCookie()

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if is_portal(request.path):
            return self._portal.open_session(app, request)
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            # What Flask opens for a request without the cookie (the trader API's, every
            # machine's), without the signing serializer it builds first and then does not use
            # (~25 µs, a test serialisation included, on every such request; issue 17).
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if is_portal(request.path):
            self._portal.save_session(app, session, response)
        elif session or session.modified or session.accessed:
            super().save_session(app, session, response)
        # else: a session nothing read or wrote, and empty: Flask's save_session would only read
        # the cookie settings and write nothing.
