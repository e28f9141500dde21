"""Live refresh: requests a page makes beside its own, and the session cookie they must not set.

A page of the portal or the OMC keeps itself current with requests made beside the page's own
(its parts fetched again on each event of its stream, the stream itself, its charts' data), each
carrying the cookie the page had when it started. A signed-in session is permanent, so Flask sends
the cookie again with every answer; a live refresh that started before a page consumed a flash
message would then put the message back, and the next page showed it again beside its own. Views
marked `live_refresh` therefore answer with the session cookie only if they changed the session,
whichever cookie (the portal's or the OMC's) the request carries.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface, SessionMixin

_LIVE = "nsw_live_refresh"
View = TypeVar("View", bound=Callable[..., object])


def live_refresh(view: View) -> View:
    """Mark a view as part of a page's live refresh. Its answer sets the session cookie only if it
    changed the session. Put it under the route decorator, so the view it marks is the one
    registered."""
    setattr(view, _LIVE, True)
    return view


def is_live_refresh(app: Flask) -> bool:
    """Whether the request being handled is routed to a view marked `live_refresh`."""
    view = app.view_functions.get(request.endpoint or "")
    return getattr(view, _LIVE, False) is True


class LiveRefreshAware(SecureCookieSessionInterface):
    """A cookie session interface that follows the live refresh's rule; the base of the app's."""

    def should_set_cookie(self, app: Flask, session: SessionMixin) -> bool:
        if is_live_refresh(app):
            return session.modified
        return super().should_set_cookie(app, session)
