"""Refusals of the payment edges, each with its own stable problem type (RFC 9457)."""

from __future__ import annotations

from gateway.errors import GatewayError


class PaymentOrderNotReady(GatewayError):
    code, status, title = "payment-order-not-ready", 409, "There is no payment order yet"


class NothingToPay(GatewayError):
    code, status, title = "nothing-to-pay", 409, "Nothing is owed for this application"


class AssessmentNotPayable(GatewayError):
    code, status, title = (
        "assessment-not-payable",
        409,
        "The assessed charges cannot be put on a payment order",
    )


class PaymentsNotConfigured(GatewayError):
    code, status, title = "payments-not-configured", 503, "Payments are not configured"


class PaymentCallbackSignatureInvalid(GatewayError):
    code, status, title = (
        "payment-callback-signature-invalid",
        401,
        "The payment confirmation is not signed by the treasury",
    )


class InvalidPaymentCallback(GatewayError):
    code, status, title = "invalid-payment-callback", 422, "The payment confirmation is not valid"


class TreasuryUnavailable(GatewayError):
    code, status, title = "treasury-unavailable", 502, "The treasury did not answer as agreed"


class PermitStandingSignatureInvalid(GatewayError):
    code, status, title = (
        "permit-standing-signature-invalid",
        401,
        "The permit change is not signed by the issuing agency",
    )


class InvalidPermitStanding(GatewayError):
    code, status, title = "invalid-permit-standing", 422, "The permit change is not valid"


class NotYourPermit(GatewayError):
    code, status, title = "not-your-permit", 403, "The permit is not yours to read or change"


# --- guarantees (issue 20 item 3): each refusal its own problem type ---------------------------


class GuaranteeUnknown(GatewayError):
    code, status, title = "guarantee-unknown", 422, "Customs does not know this guarantee"


class GuaranteeInsufficient(GatewayError):
    code, status, title = (
        "guarantee-insufficient",
        422,
        "The guarantee does not cover what the application owes",
    )


class GuaranteeExpired(GatewayError):
    code, status, title = "guarantee-expired", 422, "The guarantee has expired"


class GuaranteeAlreadyUsed(GatewayError):
    code, status, title = (
        "guarantee-already-used",
        409,
        "The guarantee already secures another application",
    )


class GuaranteeNotNeeded(GatewayError):
    code, status, title = (
        "guarantee-not-needed",
        409,
        "The application is already released or paid",
    )


class GuaranteeNotAllowed(GatewayError):
    code, status, title = (
        "guarantee-not-allowed",
        403,
        "The signer may not act for the application's declarant",
    )


class GuaranteeCheckUnavailable(GatewayError):
    code, status, title = (
        "guarantee-check-unavailable",
        502,
        "Customs did not answer about the guarantee",
    )
