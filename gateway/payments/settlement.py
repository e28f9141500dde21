"""What a payment confirmation from the treasury does to a payment order.

`settle(order, state, earlier, new)` is the one rule, a pure function of the order, the state of its
application, the settlements already recorded for the reference and the new confirmation:

1. duplicate: a payment id already recorded with the same content gets the settlement it got the
   first time, marked `duplicate=True` (the caller records nothing); with other content it is
   refused whole (`ConflictingConfirmation`): one treasury payment cannot have two amounts.
2. unknown reference (no order): refused, the amount is owed back (reason payment-unknown-reference).
3. withdrawn application: refused, the amount is owed back (payment-application-withdrawn).
   An order superseded by a re-assessment takes no more payments either: refused, the amount is
   owed back (payment-order-superseded); what it received before is credited to the new order.
4. other currency than the order's: refused, the amount is owed back (payment-wrong-currency).
5. otherwise the payment counts: with everything received before it (and the credit a
   superseding order carries), exactly the total -> paid;
   less -> held with the outstanding amount (payment-partial); more -> paid, and what this payment
   added beyond the total is owed back (payment-overpaid).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from gateway.i18n.text import Text
from gateway.payments.errors import ConflictingConfirmation
from gateway.payments.money import Money, total
from gateway.payments.order import PaymentOrder


class ApplicationState(StrEnum):
    OPEN = "open"  # lodged, being decided, decided or released: it takes payments
    WITHDRAWN = "withdrawn"
    # The order's reference was superseded by a re-assessment's new order (an amendment changed
    # the charges): the application goes on, but this reference takes no more payments.
    SUPERSEDED = "superseded"


class Outcome(StrEnum):
    PAID = "paid"
    HELD = "held"
    REFUSED = "refused"


# Reason codes: stable (problem types and trail entries use them), never translated.
PAID_EXACTLY = "payment-paid"
PARTIAL = "payment-partial"
OVERPAID = "payment-overpaid"
UNKNOWN_REFERENCE = "payment-unknown-reference"
WITHDRAWN = "payment-application-withdrawn"
WRONG_CURRENCY = "payment-wrong-currency"
SUPERSEDED = "payment-order-superseded"


@dataclass(frozen=True)
class Confirmation:
    """One payment as the treasury reports it: its own `payment_id` (unique at the treasury), the
    `reference` it was made for, the amount, the payer's BIN/IIN and the day it was debited."""

    payment_id: str
    reference: str
    amount: Money
    payer: str
    paid_on: dt.date


@dataclass(frozen=True)
class Settlement:
    """The outcome for one `confirmation`. `counted`: it is part of `received`. `outstanding` and
    `received` are in the order's currency (zero of the payment's currency without an order);
    `refund_owed` is what goes back because of this confirmation (the payment's currency)."""

    confirmation: Confirmation
    outcome: Outcome
    reason: str
    counted: bool
    duplicate: bool
    received: Money
    outstanding: Money
    refund_owed: Money
    detail: str


def settle(
    order: PaymentOrder | None,
    state: ApplicationState,
    earlier: Sequence[Settlement],
    new: Confirmation,
) -> Settlement:
    """The settlement of `new` (see the module docstring). `earlier` are the settlements already
    recorded for the same reference, counted or not."""
    # Step 1: a payment id seen before.
    for first in earlier:
        seen = first.confirmation
        if seen.payment_id != new.payment_id:
            continue
        if seen != new:
            raise ConflictingConfirmation(
                Text(
                    "Payment %(payment_id)s was confirmed before as %(amount)s for %(reference)s "
                    "on %(paid_on)s; a confirmation saying otherwise is refused and nothing is "
                    "changed. Ask the treasury which is right.",
                    payment_id=new.payment_id,
                    amount=seen.amount,
                    reference=seen.reference,
                    paid_on=seen.paid_on,
                ),
                paymentId=new.payment_id,
            )
        return replace(first, duplicate=True)
    if order is not None and str(order.reference) != new.reference:
        raise ValueError("settle() was given the order of another reference")
    zero = Money.zero(order.currency if order else new.amount.currency)
    # Step 2: no order for the reference.
    if order is None:
        return _refused(
            UNKNOWN_REFERENCE,
            new,
            zero,
            zero,
            Text(
                "No payment order has the reference %(reference)s; %(amount)s is owed back to "
                "the payer.",
                reference=new.reference,
                amount=str(new.amount),
            ),
        )
    counted_before = [s.confirmation.amount for s in earlier if s.counted]
    received = total([order.credit, *counted_before], order.currency)
    outstanding = max(order.total - received, zero)
    # Step 3: the application was withdrawn.
    if state is ApplicationState.WITHDRAWN:
        return _refused(
            WITHDRAWN,
            new,
            received,
            outstanding,
            Text(
                "Application %(application_id)s was withdrawn; %(amount)s is owed back to the "
                "payer.",
                application_id=order.application_id,
                amount=str(new.amount),
            ),
        )
    if state is ApplicationState.SUPERSEDED:
        return _refused(
            SUPERSEDED,
            new,
            received,
            outstanding,
            Text(
                "Order %(reference)s was superseded by a new order after the application was "
                "re-assessed; %(amount)s is owed back to the payer: pay the new order.",
                reference=str(order.reference),
                amount=str(new.amount),
            ),
        )
    # Step 4: paid in another currency.
    if new.amount.currency != order.currency:
        return _refused(
            WRONG_CURRENCY,
            new,
            received,
            outstanding,
            Text(
                "Order %(reference)s is payable in %(currency)s; the payment of %(amount)s does "
                "not count and is owed back.",
                reference=str(order.reference),
                currency=order.currency,
                amount=str(new.amount),
            ),
        )
    # Step 5: it counts.
    before, received = received, received + new.amount
    if received < order.total:
        outstanding = order.total - received
        return _counted(
            Outcome.HELD,
            PARTIAL,
            new,
            received,
            outstanding,
            zero,
            Text(
                "%(received)s of %(total)s received; %(outstanding)s is outstanding, and the "
                "goods are held until it is paid.",
                received=str(received),
                total=str(order.total),
                outstanding=str(outstanding),
            ),
        )
    # Only what this payment adds beyond the total is owed back because of it (an earlier excess
    # was owed back with the payment that made it).
    excess = received - max(order.total, before)
    if excess.minor == 0:
        return _counted(
            Outcome.PAID,
            PAID_EXACTLY,
            new,
            received,
            zero,
            zero,
            Text(
                "Order %(reference)s is paid in full (%(total)s).",
                reference=str(order.reference),
                total=str(order.total),
            ),
        )
    return _counted(
        Outcome.PAID,
        OVERPAID,
        new,
        received,
        zero,
        excess,
        Text(
            "Order %(reference)s is paid (%(total)s); %(excess)s was paid in excess and is owed "
            "back to the payer.",
            reference=str(order.reference),
            total=str(order.total),
            excess=str(excess),
        ),
    )


def _counted(
    outcome: Outcome,
    reason: str,
    new: Confirmation,
    received: Money,
    outstanding: Money,
    refund_owed: Money,
    detail: str,
) -> Settlement:
    return Settlement(
        confirmation=new,
        outcome=outcome,
        reason=reason,
        counted=True,
        duplicate=False,
        received=received,
        outstanding=outstanding,
        refund_owed=refund_owed,
        detail=detail,
    )


def _refused(
    reason: str, new: Confirmation, received: Money, outstanding: Money, detail: str
) -> Settlement:
    return Settlement(
        confirmation=new,
        outcome=Outcome.REFUSED,
        reason=reason,
        counted=False,
        duplicate=False,
        received=received,
        outstanding=outstanding,
        refund_owed=new.amount,
        detail=detail,
    )
