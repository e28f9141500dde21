"""Payment orders and treasury settlements between their rows and the domain's values (issue
20), for the payment store's modules (`payments`, `payment_orders`, `payment_settlement`)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from gateway.billing.ports import IssuedOrder, RecordedSettlement
from gateway.domain.identifiers import Bin
from gateway.payments.charges import ChargeKind, ChargeLine
from gateway.payments.check_digits import Iban, PaymentReference
from gateway.payments.money import Money
from gateway.payments.order import PaymentOrder
from gateway.payments.settlement import Confirmation, Outcome, Settlement
from gateway.storage.payment_models import (
    PaymentConfirmationRow,
    PaymentOrderLineRow,
    PaymentOrderRow,
)
from gateway.storage.repository import utc

# --- values -> rows -----------------------------------------------------------------------------


def order_row(order: PaymentOrder, signature: str, now: dt.datetime) -> PaymentOrderRow:
    return PaymentOrderRow(
        reference=str(order.reference),
        application_id=order.application_id,
        payer_bin=str(order.payer),
        currency=order.currency,
        total_minor=order.total.minor,
        due=order.due,
        issued_on=order.issued_on,
        payee_account=str(order.payee_account),
        canonical=order.canonical_bytes(),
        signature=signature,
        status="open",
        received_minor=0,
        issued_at=now,
        supersedes=str(order.supersedes) if order.supersedes else None,
        credited_minor=order.credited,
    )


def add_order(s: Session, row: PaymentOrderRow, order: PaymentOrder) -> None:
    s.add(row)
    s.flush()
    for number, line in enumerate(order.lines, start=1):
        s.add(
            PaymentOrderLineRow(
                reference=row.reference,
                line_no=number,
                kind=line.kind.value,
                amount_minor=line.amount.minor,
                kbk=line.kbk,
                legal_basis=line.legal_basis,
                due=line.due,
                beneficiary=line.beneficiary,
            )
        )


# --- rows -> values -----------------------------------------------------------------------------


def in_force(application_id: str) -> Select[PaymentOrderRow]:
    """The application's order in force: the one no re-assessment superseded (at most one)."""
    return select(PaymentOrderRow).where(
        PaymentOrderRow.application_id == application_id,
        PaymentOrderRow.status != "superseded",
    )


def order_of(s: Session, row: PaymentOrderRow) -> PaymentOrder:
    lines = s.scalars(
        select(PaymentOrderLineRow)
        .where(PaymentOrderLineRow.reference == row.reference)
        .order_by(PaymentOrderLineRow.line_no)
    )
    return PaymentOrder(
        reference=PaymentReference(row.reference),
        application_id=row.application_id,
        payer=Bin(row.payer_bin),
        issued_on=row.issued_on,
        payee_account=Iban(row.payee_account),
        lines=tuple(
            ChargeLine(
                kind=ChargeKind(line.kind),
                amount=Money(line.amount_minor, row.currency),
                legal_basis=line.legal_basis,
                due=line.due,
                beneficiary=line.beneficiary,
                kbk=line.kbk,
            )
            for line in lines
        ),
        supersedes=PaymentReference(row.supersedes) if row.supersedes else None,
        credited=row.credited_minor,
    )


def issued(s: Session, row: PaymentOrderRow) -> IssuedOrder:
    return IssuedOrder(
        order=order_of(s, row),
        signature=row.signature,
        status=row.status,
        received_minor=row.received_minor,
        issued_at=utc(row.issued_at) or row.issued_at,
        paid_at=utc(row.paid_at),
    )


def confirmation(row: PaymentConfirmationRow) -> Confirmation:
    return Confirmation(
        payment_id=row.payment_id,
        reference=row.reference,
        amount=Money(row.amount_minor, row.currency),
        payer=row.payer,
        paid_on=row.paid_on,
    )


def settlement_of(s: Session, row: PaymentConfirmationRow) -> Settlement:
    order_currency = s.scalar(
        select(PaymentOrderRow.currency).where(PaymentOrderRow.reference == row.reference)
    )
    currency = order_currency or row.currency
    return Settlement(
        confirmation=confirmation(row),
        outcome=Outcome(row.outcome),
        reason=row.reason,
        counted=row.counted,
        duplicate=False,
        received=Money(row.received_minor, currency),
        outstanding=Money(row.outstanding_minor, currency),
        refund_owed=Money(row.refund_owed_minor, row.currency),
        detail=row.detail,
    )


def recorded(s: Session, row: PaymentConfirmationRow) -> RecordedSettlement:
    return RecordedSettlement(settlement_of(s, row), utc(row.received_at) or row.received_at)
