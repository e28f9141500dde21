"""The OMC's errors: part of the gateway's one exception tree, shown as HTML pages in the OMC."""

from __future__ import annotations

from gateway.errors import GatewayError


class NotSignedIn(GatewayError):
    code, status, title = "omc-not-signed-in", 401, "Sign in to the OMC first"


class RoleForbidden(GatewayError):
    code, status, title = "omc-role-forbidden", 403, "Your role does not allow this"


class CsrfRejected(GatewayError):
    code, status, title = "omc-csrf-rejected", 403, "The form is missing its CSRF token"


class LoginRefused(GatewayError):
    code, status, title = "omc-login-refused", 401, "Sign-in refused"


class CertificateRefused(GatewayError):
    code, status, title = "omc-certificate-refused", 401, "Certificate sign-in refused"


class ActionRefused(GatewayError):
    code, status, title = "omc-action-refused", 409, "The action cannot be done now"


class BadAccount(GatewayError):
    code, status, title = "omc-bad-account", 422, "The account details are not valid"


class OmcNotConfigured(GatewayError):
    code, status, title = "omc-not-configured", 503, "The OMC is not configured"
