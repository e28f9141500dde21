"""The portal's own errors: part of the gateway's one exception tree, shown as HTML pages. Every
other failure (a refused upload, an unknown application) keeps the API's problem type."""

from __future__ import annotations

from gateway.errors import GatewayError


class NotSignedIn(GatewayError):
    code, status, title = "portal-not-signed-in", 401, "Sign in to the portal first"


class CsrfRejected(GatewayError):
    code, status, title = "portal-csrf-rejected", 403, "The form is missing its CSRF token"


class CertificateRefused(GatewayError):
    code, status, title = "portal-certificate-refused", 401, "Certificate sign-in refused"


class PortalNotConfigured(GatewayError):
    code, status, title = "portal-not-configured", 503, "The portal is not configured"
