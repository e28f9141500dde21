"""Mounts the portal on the gateway's Flask app (called by `gateway.app.create_app`, after the
OMC, whose NSW_SECRET_KEY also signs the portal's own cookie).

Without a session key the portal is not served — a page under /portal then says why, with
status 503. Without NSW_PORTAL_CLIENT_CERT_HEADER it is served but no one can sign in, and its
sign-in page says so."""

from __future__ import annotations

from flask import Blueprint, Flask, Response, g, redirect, render_template, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from gateway.config import Config
from gateway.errors import GatewayError
from gateway.i18n import Text
from gateway.i18n.labels import label
from gateway.portal import (  # noqa: F401 - the view modules add their routes to the blueprint
    documents,
    language,
    lifecycle,
    notify_url,
    payments,
    permits,
    upload,
    views,
)
from gateway.portal.auth import EXTENSION, certificate_judge
from gateway.portal.blueprint import PREFIX, bp
from gateway.portal.errors import NotSignedIn, PortalNotConfigured
from gateway.portal.session import ScopedSessions
from gateway.web.body import default_limit
from gateway.web.csrf import csrf_token
from gateway.web.problems import localized_problem, problem_response

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def init_portal(app: Flask, config: Config) -> None:
    if not app.secret_key:
        app.register_blueprint(_not_configured())
        return
    # The OMC set the cookie flags (Secure, HttpOnly, SameSite=Strict) and the lifetime; the
    # portal's cookie differs in name, path and salt only.
    app.session_interface = ScopedSessions()
    app.extensions[EXTENSION] = certificate_judge(config)
    app.register_blueprint(bp)


def _not_configured() -> Blueprint:
    stub = Blueprint("portal_off", __name__, url_prefix=PREFIX)

    @stub.route("/", defaults={"rest": ""})
    @stub.route("/<path:rest>")
    def off(rest: str) -> Response:
        raise PortalNotConfigured(
            Text("The portal needs a session key: set NSW_SECRET_KEY (the same on every web node).")
        )

    return stub


@bp.app_context_processor
def _template_helpers() -> dict[str, object]:
    return {"csrf_token": csrf_token, "trader": g.get("trader"), "label": label}


@bp.after_request
def _security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    return response  # nosniff and no-store: gateway.web.headers, for every answer


def _wants_html() -> bool:
    """A browser's page; a script asking for data (the live stream) gets the problem as JSON."""
    return request.endpoint != "portal.events"


@bp.errorhandler(GatewayError)
def _error_page(error: GatewayError) -> tuple[str, int] | Response:
    if not _wants_html():
        return problem_response(error)  # the stream's 401 stops the browser reconnecting
    if isinstance(error, NotSignedIn) and request.method == "GET":
        return redirect(url_for("portal.login"))  # type: ignore[return-value]
    page = render_template("portal/error.html", problem=localized_problem(error, request.path))
    return page, error.status


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_error: RequestEntityTooLarge) -> tuple[str, int] | Response:
    problem = upload.too_large(default_limit())
    if request.endpoint == "portal.upload":  # the form again, with the API's problem on it
        page = render_template(
            "portal/upload.html", problem=localized_problem(problem, request.path)
        )
        return page, problem.status
    return _error_page(problem)
