"""Who the trader is: signing in with a client certificate, and the check every portal page goes
through.

A trader signs in only with its certificate, passed on by the TLS proxy in the header
NSW_PORTAL_CLIENT_CERT_HEADER and believed only from NSW_PORTAL_TRUSTED_PROXIES. The shared judge
(`gateway.web.client_cert`) does steps 1-3 (trusted proxy, readable PEM, trust store with
clientAuth); the portal adds

4. the certificate names a company: a valid BIN in its subject (OU "BIN…"). That BIN is the
   trader's identity; it may also act for the companies it is registered to represent.

The session (a signed cookie of its own, `gateway.portal.session`: Secure, HttpOnly,
SameSite=Strict, path /portal) holds the BIN, the certificate's fingerprint, a session id and
the CSRF token. The certificate is the session's generation: every request must come through
the proxy with that same certificate, judged again (so a revoked or expired certificate ends
its sessions at once, and a copied cookie is worthless without the private key the TLS
handshake proves). Sign-in starts a new session with a new id and CSRF token; sign-out clears it.
"""

from __future__ import annotations

import secrets
import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import current_app, g, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from gateway.config import Config
from gateway.i18n import Text
from gateway.portal.blueprint import bp
from gateway.portal.errors import CertificateRefused, CsrfRejected, NotSignedIn
from gateway.trust.certificates import TrustedSigner
from gateway.web.client_cert import ProxiedCertificate, trusted_proxies
from gateway.web.csrf import check_csrf

if TYPE_CHECKING:
    from gateway.bootstrap import Services

PUBLIC_ENDPOINTS = frozenset({"portal.login", "portal.static", "portal.set_language"})
EXTENSION = "nsw-portal-cert-sign-in"
# The forms that upload a signed XML document: the API's body limit applies to their file.
SIGNED_XML_FORMS = frozenset({"portal.upload", "portal.amend", "portal.withdraw"})


@dataclass(frozen=True)
class Trader:
    """The signed-in trader: its company's BIN and the certificate it presented."""

    bin: str
    subject: str
    fingerprint: str

    def may_act_for(self, declarant_bin: str | None) -> bool:
        """Whether this trader is the declarant or its registered representative, read afresh
        (a revoked registration counts at once). Another company's BIN costs the same look-up
        whether or not it exists."""
        if declarant_bin == self.bin:
            return True
        return services().representatives.may_act_for(self.bin, declarant_bin or "") is not None

    def companies(self) -> list[tuple[str, str]]:
        """(BIN, role) of every company this trader may act for, its own first."""
        own = [(self.bin, "own-company")]  # a code, shown through label()
        registrations = services().representatives.list(self.bin)
        return own + sorted(
            {(r.principal, r.role.value) for r in registrations if r.representative == self.bin}
        )


def services() -> Services:
    svc: Services = current_app.extensions["nsw"]
    return svc


def trader() -> Trader:
    """The signed-in trader of this request (set by `load_trader`)."""
    found: Trader | None = g.get("trader")
    if found is None:
        raise NotSignedIn(Text("Sign in to the portal with your certificate first."))
    return found


def certificate_judge(config: Config) -> ProxiedCertificate | None:
    """None when no certificate header is configured: then no one can sign in."""
    if not config.portal_client_cert_header:
        return None
    proxies = trusted_proxies(
        "NSW_PORTAL_CLIENT_CERT_HEADER", "NSW_PORTAL_TRUSTED_PROXIES", config.portal_trusted_proxies
    )
    return ProxiedCertificate(
        config.portal_client_cert_header,
        proxies,
        "NSW_PORTAL_TRUSTED_PROXIES",
        CertificateRefused,
        otherwise=Text(
            "Open the portal through the address your company was given, with your certificate."
        ),
        audience="portal",
    )


def presented() -> TrustedSigner | None:
    """The company certificate that came with this request (steps 1-4), None if none came."""
    judge: ProxiedCertificate | None = current_app.extensions.get(EXTENSION)
    if judge is None:
        return None
    # remote_addr is the TCP peer: the gateway applies no X-Forwarded-For rewriting (no ProxyFix).
    trusted = judge.judge(
        request.headers.get(judge.header, ""), request.remote_addr, services().trust
    )
    if trusted is None:
        return None
    # Step 4: the certificate names a company.
    if trusted.bin is None:
        raise CertificateRefused(
            Text(
                "The certificate '%(subject)s' is valid but names no company (no valid BIN in "
                'its subject, OU "BIN…"). Sign in with your company\'s certificate.',
                subject=trusted.subject,
            )
        )
    return trusted


@bp.before_request
def load_trader() -> WerkzeugResponse | None:
    """CSRF on every unsafe request, then who is signed in, with the very same certificate."""
    if request.endpoint in SIGNED_XML_FORMS:
        from gateway.portal.upload_limit import allow_upload_size

        allow_upload_size()  # before the form is parsed, by the CSRF check first of all
    elif request.endpoint == "portal.upload_document":
        from gateway.portal.upload_limit import allow_document_size

        allow_document_size()
    check_csrf(
        CsrfRejected(
            Text(
                "This form was not sent from a portal page of this session (no or wrong CSRF "
                "token). Reload the page and try again."
            )
        )
    )
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    bin_, fingerprint = session.get("bin"), session.get("fingerprint")
    try:
        signer = presented() if isinstance(bin_, str) and isinstance(fingerprint, str) else None
    except CertificateRefused:
        signer = None  # the login page says why
    if signer is None or signer.fingerprint_sha256 != fingerprint or signer.bin != bin_:
        session.clear()
        if request.method == "GET" and request.endpoint != "portal.events":
            return redirect(url_for("portal.login", next=request.full_path))
        raise NotSignedIn(Text("Your session has ended: sign in again with your certificate."))
    assert signer.bin is not None
    g.trader = Trader(signer.bin, signer.subject, signer.fingerprint_sha256)
    return None


def _safe_next(target: str | None) -> str:
    """Only a path inside the portal (no scheme, no host): a sign-in never redirects elsewhere."""
    parts = urllib.parse.urlsplit(target or "")
    if parts.scheme or parts.netloc or not parts.path.startswith("/portal/"):
        return url_for("portal.applications")
    return parts.path + (f"?{parts.query}" if parts.query else "")


@bp.route("/login", methods=["GET", "POST"])
def login() -> WerkzeugResponse | tuple[str, int] | str:
    error, signer = None, None
    configured = current_app.extensions.get(EXTENSION) is not None
    try:
        signer = presented()
    except CertificateRefused as exc:
        error = exc.detail
    if request.method == "POST" and signer is not None:
        # A fresh session: nothing from before carries over, the CSRF token included (no
        # session fixation). The next page makes a new token.
        session.clear()
        session.permanent = True
        session["sid"] = secrets.token_urlsafe(16)
        session["bin"] = signer.bin
        session["fingerprint"] = signer.fingerprint_sha256
        return redirect(_safe_next(request.args.get("next")))
    page = render_template("portal/login.html", error=error, signer=signer, configured=configured)
    return (page, 401) if error else page


@bp.post("/logout")
def logout() -> WerkzeugResponse:
    session.clear()
    return redirect(url_for("portal.login"))
