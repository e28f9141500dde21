"""Signing in and out, and the role check every OMC page and action goes through.

The session (Flask's signed cookie: Secure, HttpOnly, SameSite=Strict) holds only the user name, how
they signed in, a session id, the account's session generation and the CSRF token; the account is
read again on every request, and a session whose generation is no longer the account's is refused:
sign-out, a new password, disabling, a role change and a lockout raise it, so they end every session
of the account at once — a cookie copied before is worthless after. Sign-in starts a new session
with a new id and a new CSRF token (no session fixation). Optional: sign-in by a client certificate from the PKI,
passed on by a trusted TLS proxy (`gateway.omc.client_cert`); the login page says why a certificate
was refused. Sign-ins, refusals of an existing account and sign-outs are recorded in the trail
(`Accounts`).
"""

from __future__ import annotations

import functools
import secrets
import urllib.parse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from flask import current_app, g, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from gateway.i18n import Text
from gateway.omc.accounts import Accounts
from gateway.omc.blueprint import bp
from gateway.omc.client_cert import CertificateSignIn
from gateway.omc.csrf import check_csrf
from gateway.omc.errors import CertificateRefused, LoginRefused, NotSignedIn, RoleForbidden
from gateway.omc.roles import Officer, Perm

if TYPE_CHECKING:
    from gateway.bootstrap import Services

F = TypeVar("F", bound=Callable[..., Any])
# What each permission lets one do, as a person reads it in a refusal.
PERM_TEXT = {
    Perm.VIEW_OPS: Text("view operations"), Perm.VIEW_AGENCIES: Text("view agencies"),
    Perm.RETRY_CASE: Text("retry a case"), Perm.ACK_ALERT: Text("acknowledge an alert"),
    Perm.RECORD_INSPECTION: Text("record an inspection"), Perm.CLEAR_VEHICLE: Text("clear a vehicle"),
    Perm.AUDIT: Text("audit"), Perm.ADMINISTER: Text("administer"),
    Perm.VIEW_PAYMENTS: Text("view payments"), Perm.VIEW_PERMITS: Text("view permits"),
}  # fmt: skip
PUBLIC_ENDPOINTS = frozenset({"omc.login", "omc.static", "omc.set_language"})


def services() -> Services:
    svc: Services = current_app.extensions["nsw"]
    return svc


def accounts() -> Accounts:
    found: Accounts = current_app.extensions["nsw-omc-accounts"]
    return found


def officer() -> Officer:
    """The signed-in officer of this request (set by `load_officer`)."""
    found: Officer | None = g.get("officer")
    if found is None:
        raise NotSignedIn(Text("Sign in to the OMC first."))
    return found


def requires(perm: Perm) -> Callable[[F], F]:
    """Refuse the view unless the signed-in officer's role grants `perm` (checked on the server)."""

    def wrap(view: F) -> F:
        @functools.wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            if not officer().may(perm):
                raise RoleForbidden(
                    Text("The role %(role)s may not %(action)s.", role=officer().role.value,
                         action=PERM_TEXT.get(perm, perm.value.replace("-", " ")))
                )  # fmt: skip
            return view(*args, **kwargs)

        checked.omc_permission = perm  # type: ignore[attr-defined]
        return checked  # type: ignore[return-value]

    return wrap


@bp.before_request
def load_officer() -> WerkzeugResponse | None:
    """CSRF on every unsafe request (the login form included), then who is signed in."""
    check_csrf()
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    username, generation = session.get("user"), session.get("generation")
    found = (
        accounts().officer(username, generation)
        if isinstance(username, str) and isinstance(generation, int)
        else None
    )
    if found is None:
        session.clear()
        if request.method == "GET" and request.endpoint != "omc.events":
            return redirect(url_for("omc.login", next=request.full_path))
        raise NotSignedIn(Text("Your session has ended: sign in again."))
    g.officer = found
    return None


def _safe_next(target: str | None) -> str:
    """Only a path inside the OMC (no scheme, no host): a login never redirects elsewhere."""
    parts = urllib.parse.urlsplit(target or "")
    if parts.scheme or parts.netloc or not parts.path.startswith("/omc/"):
        return url_for("omc.home")
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _start_session(who: Officer, method: str) -> WerkzeugResponse:
    # A fresh session at sign-in: nothing from before carries over, the CSRF token included — one
    # planted before sign-in (session fixation) is worth nothing after. The next page makes a new one.
    session.clear()
    session.permanent = True
    session["sid"] = secrets.token_urlsafe(16)  # a new session id, so a new cookie value
    session["user"] = who.username
    session["generation"] = who.generation
    session["method"] = method  # password | certificate, for the sign-out's trail entry
    return redirect(_safe_next(request.args.get("next")))


@bp.route("/login", methods=["GET", "POST"])
def login() -> WerkzeugResponse | tuple[str, int] | str:
    error = None
    try:
        if request.method == "POST":
            who = accounts().authenticate(
                request.form.get("username", ""),
                request.form.get("password", ""),
                address=request.remote_addr,
            )
            return _start_session(who, "password")
        if (who_by_cert := _certificate_officer()) is not None:
            return _start_session(who_by_cert, "certificate")
    except (LoginRefused, CertificateRefused) as exc:
        error = exc.detail
    page = render_template("omc/login.html", error=error)
    return (page, 401) if error else page


@bp.post("/logout")
def logout() -> WerkzeugResponse:
    method = session.get("method")
    accounts().sign_out(
        officer().username, method if isinstance(method, str) else None, address=request.remote_addr
    )
    session.clear()
    return redirect(url_for("omc.login"))


def _certificate_officer() -> Officer | None:
    """The officer of the client certificate a trusted proxy passed on, None if none came, or
    `CertificateRefused` saying why it was not believed."""
    sign_in: CertificateSignIn | None = current_app.extensions.get("nsw-omc-cert-sign-in")
    if sign_in is None:
        return None
    # remote_addr is the TCP peer: the gateway applies no X-Forwarded-For rewriting (no ProxyFix).
    return sign_in.officer(
        request.headers.get(sign_in.header, ""), request.remote_addr, services().trust, accounts()
    )
