"""The language switch on every OMC page (the sign-in page too): kk, ru or en.

The choice is kept on the officer's account when one is signed in (it follows the officer to any
workstation, and the next officer on a shared one gets their own), and in the language cookie
(the sign-in page, before anyone is known). A language we do not speak is refused with a sentence.
"""

from __future__ import annotations

import urllib.parse

from flask import current_app, redirect, request, session, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from gateway.bootstrap import Services
from gateway.errors import InvalidParameter
from gateway.i18n import SUPPORTED, Text, supported
from gateway.i18n.web import remember
from gateway.omc.auth import accounts
from gateway.omc.blueprint import bp


@bp.post("/language")
def set_language() -> WerkzeugResponse:
    chosen = request.form.get("lang", "")
    locale = supported(chosen)
    if locale is None or locale != chosen:
        raise InvalidParameter(
            Text("The language must be one of %(languages)s.", languages=", ".join(SUPPORTED)),
            parameter="lang",
        )
    username, generation = session.get("user"), session.get("generation")
    signed_in = isinstance(username, str) and isinstance(generation, int)
    if signed_in and accounts().officer(username, generation) is not None:  # type: ignore[arg-type]
        accounts().set_locale(username, locale)  # type: ignore[arg-type]
    response = redirect(_back())
    services: Services = current_app.extensions["nsw"]
    remember(response, locale, secure=services.config.session_cookie_secure)
    return response


def _back() -> str:
    """Only a path inside the OMC (no scheme, no host): the switch never redirects elsewhere."""
    target = urllib.parse.urlsplit(request.form.get("next", ""))
    if target.scheme or target.netloc or not target.path.startswith("/omc/"):
        return url_for("omc.home")
    return target.path + (f"?{target.query}" if target.query else "")
