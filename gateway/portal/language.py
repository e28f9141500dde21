"""The language switch on every portal page (the sign-in page too): kk, ru or en.

Traders have no stored account row (a trader is a certificate, gateway.portal.auth), so the choice
is kept in the language cookie only (`nsw_lang`, path /, shared with the OMC's switch). A language
we do not speak is refused with a sentence, as the OMC refuses it.
"""

from __future__ import annotations

import urllib.parse

from flask import redirect, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from gateway.errors import InvalidParameter
from gateway.i18n import SUPPORTED, Text, supported
from gateway.i18n.web import remember
from gateway.portal.auth import services
from gateway.portal.blueprint import bp


@bp.post("/language")
def set_language() -> WerkzeugResponse:
    chosen = request.form.get("lang", "")
    locale = supported(chosen)
    if locale is None or locale != chosen:
        raise InvalidParameter(
            Text("The language must be one of %(languages)s.", languages=", ".join(SUPPORTED)),
            parameter="lang",
        )
    response = redirect(_back())
    remember(response, locale, secure=services().config.session_cookie_secure)
    return response


def _back() -> str:
    """Only a path inside the portal (no scheme, no host): the switch never redirects elsewhere."""
    target = urllib.parse.urlsplit(request.form.get("next", ""))
    if target.scheme or target.netloc or not target.path.startswith("/portal/"):
        return url_for("portal.login")
    return target.path + (f"?{target.query}" if target.query else "")
