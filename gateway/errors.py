"""One exception tree for the whole gateway.

Every failure a user can meet is a `GatewayError` subclass carrying a stable `code` (the last part of
the RFC 9457 problem `type` URI), an HTTP status, a short title and a sentence the user can act on.
One Flask error handler turns them into problem documents; the SOAP service turns them into Faults.
"""

from __future__ import annotations

from typing import Any

PROBLEM_BASE = "urn:kz:nsw:problem:"


class GatewayError(Exception):
    """Base of every error the gateway reports to a user."""

    code = "gateway-error"
    status = 500
    title = "Gateway error"

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions

    @property
    def type_uri(self) -> str:
        return PROBLEM_BASE + self.code

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        """The RFC 9457 problem document for this error."""
        doc: dict[str, Any] = {
            "type": self.type_uri,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            doc["instance"] = instance
        doc.update(self.extensions)
        return doc


# --- intake: the bytes themselves ---------------------------------------------------------------


class MalformedXml(GatewayError):
    code, status, title = "malformed-xml", 400, "The document is not well-formed XML"


class ForbiddenXmlConstruct(GatewayError):
    code, status, title = (
        "forbidden-xml-construct",
        400,
        "The document uses a forbidden XML construct",
    )


class TooLarge(GatewayError):
    code, status, title = "too-large", 413, "The body is too large"


class BodyTooLarge(TooLarge):
    """A request body over its endpoint's limit, refused whole (never cut), however it was sent."""

    code, status, title = "body-too-large", 413, "The body is too large"


class InvalidParameter(GatewayError):
    """A query, path or header value that cannot be what it names (too long, out of range, wrong
    characters): refused at the edge, before it reaches a query or a column."""

    code, status, title = "invalid-parameter", 400, "A request parameter is not valid"


class UnsupportedMediaType(GatewayError):
    code, status, title = "unsupported-media-type", 415, "Wrong media type"


class SchemaViolation(GatewayError):
    code, status, title = "schema-violation", 422, "The document does not match the schema"


class InvalidValue(GatewayError):
    code, status, title = "invalid-value", 422, "A value in the document is not valid"


# --- intake: signature and signer ---------------------------------------------------------------


class BadSignature(GatewayError):
    code, status, title = "bad-signature", 422, "The XML signature does not verify"


class UntrustedCertificate(GatewayError):
    code, status, title = "untrusted-certificate", 422, "The signing certificate is not trusted"


class UnreadableCertificate(UntrustedCertificate):
    """A certificate (or a part of it: key, algorithm, version, extensions) cannot be parsed."""

    code, status, title = "unreadable-certificate", 422, "The certificate cannot be read"


class ExpiredCertificate(GatewayError):
    code, status, title = "expired-certificate", 422, "The signing certificate is not valid now"


class RevokedCertificate(GatewayError):
    code, status, title = "revoked-certificate", 422, "The signing certificate is revoked"


class StaleRevocationList(GatewayError):
    code, status, title = "stale-crl", 503, "Revocation status cannot be checked"


class CertificateNotForSigning(GatewayError):
    code, status, title = "certificate-usage", 422, "The certificate may not sign documents"


class CertificateNotForClientAuth(GatewayError):
    code, status, title = (
        "certificate-client-auth-usage",
        422,
        "The certificate is not for TLS client authentication",
    )


class SignerNotDeclarant(GatewayError):
    code, status, title = "signer-not-declarant", 403, "The signer may not act for the declarant"


class ReferenceConflict(GatewayError):
    code, status, title = "reference-conflict", 409, "The trader reference is already used"


# --- reading -----------------------------------------------------------------------------------


class NotFound(GatewayError):
    code, status, title = "not-found", 404, "Not found"


class DecisionNotReady(GatewayError):
    code, status, title = "decision-not-ready", 409, "No decision yet"


class Unauthenticated(GatewayError):
    code, status, title = "unauthenticated", 401, "Sign the request to prove who you are"


class ReplayedRequest(GatewayError):
    code, status, title = "replayed-request", 401, "This signed request was already used"


class NotYourApplication(GatewayError):
    code, status, title = "not-your-application", 403, "The application belongs to another trader"


class CallbackUrlRefused(GatewayError):
    code, status, title = "callback-url-refused", 422, "The notification URL is not acceptable"


# --- the gateway itself ----------------------------------------------------------------------


class ServiceUnavailable(GatewayError):
    """A passing condition (the database connection was lost): the client should send the same
    request again after `retry_after_s` seconds (sent as `Retry-After`, RFC 9110 §10.2.3)."""

    code, status, title = "service-unavailable", 503, "The gateway is briefly unavailable"
    retry_after_s = 1


class DatabaseUnavailable(ServiceUnavailable):
    """The database connection was lost (a restart, a failover, a killed backend). The
    transaction did not commit, or committed without our knowing: whoever retries must be
    idempotent (`Store.retry_once_on_disconnect`). Storage raises it, chained to the driver's
    error, for every lost connection; the web answers it with 503 and Retry-After, and the
    background loops log it as one line and carry on."""

    @property
    def reason(self) -> str:
        """The driver's own words for the lost connection, on one line (for one log line)."""
        cause = self.__cause__ or self
        words = str(getattr(cause, "orig", None) or cause).strip()
        return words.splitlines()[0] if words else type(cause).__name__


class ConfigurationError(GatewayError):
    code, status, title = "configuration-error", 500, "The gateway is not configured correctly"


class UnusableKey(GatewayError):
    code, status, title = "unusable-key", 400, "The key or certificate cannot be used"
