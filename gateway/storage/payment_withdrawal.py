"""What a withdrawal does to an application's money (issue 19), inside the withdrawal's
transaction (`VersionStore.withdraw`): the order locked first, then every payment it received
owed back in full."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.i18n.text import Text
from gateway.payments.order import canonical_json
from gateway.payments.settlement import WITHDRAWN
from gateway.storage.models import ApplicationRow
from gateway.storage.payment_models import PaymentConfirmationRow, PaymentOrderRow
from gateway.storage.payment_rows import in_force
from gateway.storage.repository import Store
from gateway.trail.messages import Message


def lock_order_of(s: Session, application_id: str) -> PaymentOrderRow | None:
    """The application's order under its row lock (SQLite: the write lock), or None. A
    withdrawal takes it before the application's row, in the order a settlement takes them
    (order, then the application it releases), so the two never deadlock; a settlement of the
    same order waits for the withdrawal and then sees the application withdrawn."""
    return s.scalars(in_force(application_id).with_for_update()).first()


def owe_back_on_withdrawal(
    s: Session, app: ApplicationRow, order: PaymentOrderRow | None, store: Store
) -> int:
    """Inside the withdrawal's transaction, `order` locked (`lock_order_of`): every payment
    already received on the application's order is owed back in full (as one arriving after
    the withdrawal is: `settle`), so `refunds_owed` lists it; the row keeps its outcome, its
    reason and detail say why the refund grew. One `payment-refund-owed` trail entry states
    what is owed. Returns the minor units newly owed (0 when nothing was paid, or no order was
    issued)."""
    if order is None:
        return 0
    rows = list(
        s.scalars(
            select(PaymentConfirmationRow)
            .where(
                # The orders it superseded too: what they received was credited to this one.
                PaymentConfirmationRow.reference.in_(
                    select(PaymentOrderRow.reference).where(
                        PaymentOrderRow.application_id == app.id
                    )
                ),
                PaymentConfirmationRow.refund_owed_minor < PaymentConfirmationRow.amount_minor,
                PaymentConfirmationRow.counted.is_(True),
            )
            .order_by(PaymentConfirmationRow.received_at, PaymentConfirmationRow.payment_id)
        )
    )
    if not rows:
        return 0
    added = 0
    payments = []
    for row in rows:
        added += row.amount_minor - row.refund_owed_minor
        payments.append({"paymentId": row.payment_id, "amountMinor": row.amount_minor,
                         "currency": row.currency, "earlier": row.reason})  # fmt: skip
        row.refund_owed_minor = row.amount_minor
        row.reason = WITHDRAWN
        row.detail = Text(
            "Application %(application_id)s was withdrawn after this payment: the whole amount "
            "is owed back.", application_id=app.id,
        )  # fmt: skip
    value = {"applicationId": app.id, "reference": order.reference, "payments": payments,
             "refundOwedMinor": added, "currency": order.currency}  # fmt: skip
    store._add_message(
        s,
        app.id,
        Message("payment-refund-owed", "out", f"trader:{app.declarant_bin}", "application/json",
                canonical_json(value)),
    )  # fmt: skip
    return added
