"""Mounts the OMC on the gateway's Flask app (called by `gateway.app.create_app`).

Without NSW_SECRET_KEY the OMC is not served — a page under /omc then says why, with status 503 —
unless NSW_OMC_INSECURE_DEV_KEY=1 asks for a random key for this process (sessions then end with
the process and are not shared between processes)."""

from __future__ import annotations

import datetime as dt
import logging
import secrets

from flask import Blueprint, Flask, Response, current_app, g, render_template

from gateway.bootstrap import Services
from gateway.config import Config
from gateway.errors import GatewayError
from gateway.fanout.agencies import missing_endpoints
from gateway.i18n.text import Text
from gateway.omc import (  # noqa: F401 - the view modules add their routes to the blueprint
    events,
    views_actions,
    views_admin,
    views_agencies,
    views_applications,
    views_audit,
    views_charts,
    views_documents,
    views_floor,
    views_language,
    views_money,
)
from gateway.omc.accounts import Accounts, password_hasher
from gateway.omc.blueprint import bp
from gateway.omc.client_cert import CertificateSignIn
from gateway.omc.csrf import csrf_token
from gateway.omc.errors import NotSignedIn, OmcNotConfigured
from gateway.omc.labels import agency_name, agency_officer, label
from gateway.omc.roles import Perm

log = logging.getLogger(__name__)
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def init_omc(app: Flask, config: Config, services: Services) -> None:
    key = config.secret_key
    if not key and config.omc_insecure_dev_key:
        key = secrets.token_urlsafe(32)
        log.warning("OMC: NSW_OMC_INSECURE_DEV_KEY is set: a random session key for this process")
    if not key:
        log.error(
            "OMC not served: set NSW_SECRET_KEY (or NSW_OMC_INSECURE_DEV_KEY=1 for development)"
        )
        app.register_blueprint(_not_configured())
        return
    app.secret_key = key
    app.config.update(
        SESSION_COOKIE_NAME="nsw_omc",
        SESSION_COOKIE_SECURE=config.session_cookie_secure,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_PATH="/omc",
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=8),
    )
    app.extensions["nsw-omc-cert-sign-in"] = CertificateSignIn.from_config(config)
    app.extensions["nsw-omc-accounts"] = Accounts(
        services.omc.accounts,
        services.clock,
        agencies=frozenset(services.specs),
        max_failures=config.login_max_failures,
        lockout_s=config.login_lockout_s,
        hasher=password_hasher(cheap_for_tests=config.cheap_password_hashes_for_tests),
    )
    app.register_blueprint(bp)


def _not_configured() -> Blueprint:
    stub = Blueprint("omc_off", __name__, url_prefix="/omc")

    @stub.route("/", defaults={"rest": ""})
    @stub.route("/<path:rest>")
    def off(rest: str) -> Response:
        raise OmcNotConfigured(
            Text("The OMC needs a session key: set NSW_SECRET_KEY (the same on every web node).")
        )

    return stub


@bp.app_context_processor
def _template_helpers() -> dict[str, object]:
    services: Services = current_app.extensions["nsw"]
    missing = missing_endpoints(services.specs)
    return {
        "csrf_token": csrf_token,
        "Perm": Perm,
        "who": g.get("officer"),
        "missing_agencies": missing,
        "missing_variables": [f"NSW_AGENCY_{code.upper()}_URL" for code in missing],
        "label": label,
        "agency_name": agency_name,
        "agency_officer": agency_officer,
    }


@bp.after_request
def _security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    return response  # nosniff and no-store: gateway.web.headers, for every answer


@bp.errorhandler(GatewayError)
def _error_page(error: GatewayError) -> tuple[str, int] | Response:
    if isinstance(error, NotSignedIn):
        from flask import redirect, request, url_for

        if request.method == "GET":
            return redirect(url_for("omc.login"))  # type: ignore[return-value]
    who = g.get("officer")
    return render_template("omc/error.html", error=error, who=who), error.status
