"""What a refused callback is told: one `GatewayError` per reason, each with a stable problem type
(urn:kz:nsw:problem:<code>, REST) and a stable SOAP faultcode (nsw:<Name>, wsdl/gateway)."""

from __future__ import annotations

from gateway.errors import GatewayError

GATEWAY_NS = "urn:kz:nsw:gateway:1"


class CallbackRefused(GatewayError):
    fault = "nsw:InvalidRequest"


class CallbackSignatureInvalid(CallbackRefused):
    code, status, title = (
        "bad-callback-signature",
        401,
        "The callback is not signed by a known agency",
    )
    fault = "nsw:BadSignature"


class InvalidCallback(CallbackRefused):
    code, status, title = "invalid-callback", 400, "The callback is not a valid answer submission"
    fault = "nsw:InvalidRequest"


class VersionMismatch(InvalidCallback):
    """The root is not the SOAP 1.1 Envelope: answered with soap:VersionMismatch (SOAP 1.1
    §4.4.1), not an nsw: code, so a SOAP 1.2 client learns which version to speak."""

    fault = "soap:VersionMismatch"


class UnknownCase(CallbackRefused):
    code, status, title = "unknown-case", 404, "No such case"
    fault = "nsw:UnknownCase"


class NotYourCase(CallbackRefused):
    code, status, title = "not-your-case", 403, "The case belongs to another agency"
    fault = "nsw:NotYourCase"


class LateAnswer(CallbackRefused):
    code, status, title = "late-answer", 409, "The case is already settled with another answer"
    fault = "nsw:LateAnswer"


class MalformedCallbackAnswer(CallbackRefused):
    code, status, title = "malformed-answer", 422, "The answer breaks the agency's contract"
    fault = "nsw:MalformedAnswer"
