"""The payment and permit errors: each a `GatewayError` with its own stable problem type.

A refused payment confirmation is not an error (it is an outcome, `gateway.payments.settlement`);
these are what a caller did that cannot be done: an amount that is not money, a check digit that
fails, two confirmations under one payment id that disagree, a write-off beyond a permit's balance.
"""

from __future__ import annotations

from gateway.errors import GatewayError


class InvalidMoney(GatewayError):
    code, status, title = "invalid-money", 422, "The amount is not valid money"


class CurrencyMismatch(GatewayError):
    code, status, title = "currency-mismatch", 422, "The amounts are in different currencies"


class InvalidIban(GatewayError):
    code, status, title = "invalid-iban", 422, "The account number (IBAN) is not valid"


class InvalidPaymentReference(GatewayError):
    code, status, title = "invalid-payment-reference", 422, "The payment reference is not valid"


class InvalidCharge(GatewayError):
    code, status, title = "invalid-charge", 422, "A charge line is not valid"


class InvalidPaymentOrder(GatewayError):
    code, status, title = "invalid-payment-order", 422, "The payment order is not valid"


class ConflictingConfirmation(GatewayError):
    code, status, title = (
        "payment-confirmation-conflict",
        409,
        "A payment confirmation contradicts an earlier one",
    )


class InvalidStatement(GatewayError):
    code, status, title = "invalid-statement", 422, "The treasury statement is not valid"


# --- permits ------------------------------------------------------------------------------------


class InvalidQuantity(GatewayError):
    code, status, title = "invalid-quantity", 422, "The quantity is not valid"


class PermitOfAnotherHolder(GatewayError):
    code, status, title = "permit-other-holder", 403, "The permit belongs to another holder"


class PermitNotValidYet(GatewayError):
    code, status, title = "permit-not-valid-yet", 409, "The permit is not valid yet"


class PermitExpired(GatewayError):
    code, status, title = "permit-expired", 409, "The permit has expired"


class PermitSuspended(GatewayError):
    code, status, title = "permit-suspended", 409, "The permit is suspended"


class PermitRevoked(GatewayError):
    code, status, title = "permit-revoked", 409, "The permit is revoked"


class PermitUnitMismatch(GatewayError):
    code, status, title = "permit-unit-mismatch", 422, "The quantity is in another unit"


class PermitBalanceExceeded(GatewayError):
    code, status, title = (
        "permit-balance-exceeded",
        409,
        "The permit's balance does not cover the quantity",
    )


class PermitWriteOffConflict(GatewayError):
    code, status, title = (
        "permit-write-off-conflict",
        409,
        "The application already wrote off another quantity",
    )


class NothingToCreditBack(GatewayError):
    code, status, title = (
        "permit-nothing-to-credit-back",
        409,
        "The application wrote nothing off this permit",
    )


class PermitTransitionRefused(GatewayError):
    code, status, title = "permit-transition-refused", 409, "The permit cannot change so"
