"""The portal's session cookie, beside the OMC's.

Flask keeps one session interface per app, and the OMC's cookie (`nsw_omc`, path /omc) must not
be what signs a trader in. Requests under /portal therefore get a cookie of their own: another
name, path /portal, and another salt, so neither cookie is accepted in place of the other even
though one secret key signs both. Every other request keeps the app's settings unchanged.

Both cookies follow one rule for a page's live refresh (views marked `live_refresh`): its answer
carries the cookie only if it changed the session.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import Flask, Request, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from flask.wrappers import Response

from gateway.portal.blueprint import PREFIX

COOKIE = "nsw_portal"


def is_portal(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


_LIVE = "nsw_live_refresh"
View = TypeVar("View", bound=Callable[..., object])


def live_refresh(view: View) -> View:
    """Mark a view as part of a page's live refresh: requests made beside the page's own, with
    the cookie the page had when they started (a page's parts fetched again on each event of its
    stream, and the stream itself). Its answer sets the session cookie only if it changed the
    session. Put it under the route decorator, so the view it marks is the one registered."""
    setattr(view, _LIVE, True)
    return view


def _is_live_refresh(app: Flask) -> bool:
    view = app.view_functions.get(request.endpoint or "")
    return getattr(view, _LIVE, False) is True


class _LiveRefreshAware(SecureCookieSessionInterface):
    def should_set_cookie(self, app: Flask, session: SessionMixin) -> bool:
        # A signed-in session is permanent, so Flask sends the cookie again with every answer.
        # A live refresh that started before a page consumed a flash message would then put
        # the message back in the cookie, and the next page showed it again beside its own.
        # The live refresh changes nothing in the session: it sends the cookie only if it did.
        if _is_live_refresh(app):
            return session.modified
        return super().should_set_cookie(app, session)


class _PortalCookie(_LiveRefreshAware):
    salt = "nsw-portal-session"

    def get_cookie_name(self, app: Flask) -> str:
        return COOKIE

    def get_cookie_path(self, app: Flask) -> str:
        return PREFIX


class ScopedSessions(_LiveRefreshAware):
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
