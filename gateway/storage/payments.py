"""`PaymentOrders` on the database (gateway.billing.ports): payment orders, settlements of
treasury payments, reconciliations. Each write is one transaction with its trail entries.

The store is put together from modules named for what they hold: `payment_orders` (issuing and
superseding orders), `payment_settlement` (treasury confirmations, reconciliations),
`payment_release` (the release a payment or a guarantee brings), `payment_rows` (rows and
values) and `payment_withdrawal` (what a withdrawal owes back); the reads are here."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select

from gateway.billing.ports import IssuedOrder, PayableApplication, RecordedSettlement
from gateway.payments.settlement import Confirmation
from gateway.storage.models import ApplicationRow
from gateway.storage.payment_models import PaymentConfirmationRow, PaymentOrderRow
from gateway.storage.payment_orders import PaymentOrderWrites
from gateway.storage.payment_rows import confirmation, in_force, issued, recorded
from gateway.storage.payment_settlement import PaymentSettling
from gateway.storage.payment_withdrawal import lock_order_of, owe_back_on_withdrawal
from gateway.storage.repository import utc

__all__ = ["PaymentStore", "in_force", "lock_order_of", "owe_back_on_withdrawal"]


class PaymentStore(PaymentOrderWrites, PaymentSettling):
    """The database implementation of `PaymentOrders`. `release_decision` signs the released
    decision of an application paid in full (set by the composition root); without it an order
    paid in full releases nothing."""

    # --- reads ----------------------------------------------------------------------------------

    def payable_application(self, application_id: str) -> PayableApplication | None:
        with self.reading() as s:
            row = s.get(ApplicationRow, application_id)
            if row is None:
                return None
            return PayableApplication(
                id=row.id,
                declarant_bin=row.declarant_bin,
                verdict=row.verdict,
                decided_at=utc(row.decided_at),
                released_at=utc(row.released_at),
                charges=tuple((c.agency, tuple(json.loads(c.charges or "[]"))) for c in row.cases),
            )

    def order_for(self, application_id: str) -> IssuedOrder | None:
        with self.reading() as s:
            row = s.scalars(in_force(application_id)).first()
            return issued(s, row) if row else None

    def get(self, reference: str) -> IssuedOrder | None:
        with self.reading() as s:
            row = s.get(PaymentOrderRow, reference)
            return issued(s, row) if row else None

    def settlements(self, reference: str) -> list[RecordedSettlement]:
        with self.reading() as s:
            rows = s.scalars(
                select(PaymentConfirmationRow)
                .where(PaymentConfirmationRow.reference == reference)
                .order_by(PaymentConfirmationRow.received_at, PaymentConfirmationRow.payment_id)
            )
            return [recorded(s, r) for r in rows]

    def refunds_owed(self) -> list[RecordedSettlement]:
        with self.reading() as s:
            rows = s.scalars(
                select(PaymentConfirmationRow)
                .where(PaymentConfirmationRow.refund_owed_minor > 0)
                .order_by(PaymentConfirmationRow.received_at, PaymentConfirmationRow.payment_id)
            )
            return [recorded(s, r) for r in rows]

    def recorded_on(self, day: dt.date) -> list[Confirmation]:
        with self.reading() as s:
            rows = s.scalars(
                select(PaymentConfirmationRow).where(PaymentConfirmationRow.paid_on == day)
            )
            return [confirmation(r) for r in rows]

    def references(self) -> set[str]:
        with self.reading() as s:
            return set(s.scalars(select(PaymentOrderRow.reference)))
