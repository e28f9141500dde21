"""The OMC's payments page on the database (gateway.omc.money_ports.MoneyViews)."""

from __future__ import annotations

from sqlalchemy import select

from gateway.billing.guarantee_ports import guarantee_state
from gateway.omc.money_ports import GuaranteeLine, OrderLine, RefundLine
from gateway.storage.models import ApplicationRow
from gateway.storage.payment_models import GuaranteeRow, PaymentConfirmationRow, PaymentOrderRow
from gateway.storage.repository import Store, utc


class StoredMoneyViews(Store):
    def orders(self, limit: int = 200) -> list[OrderLine]:
        with self.reading() as s:
            rows = s.execute(
                select(PaymentOrderRow, ApplicationRow.released_at)
                .join(ApplicationRow, ApplicationRow.id == PaymentOrderRow.application_id)
                .order_by(PaymentOrderRow.issued_at.desc(), PaymentOrderRow.reference)
                .limit(limit)
            )
            return [
                OrderLine(
                    reference=o.reference,
                    application_id=o.application_id,
                    payer_bin=o.payer_bin,
                    currency=o.currency,
                    total_minor=o.total_minor,
                    received_minor=o.received_minor,
                    status=o.status,
                    issued_at=utc(o.issued_at) or o.issued_at,
                    paid_at=utc(o.paid_at),
                    released=released_at is not None,
                )
                for o, released_at in rows
            ]

    def refunds_owed(self) -> list[RefundLine]:
        with self.reading() as s:
            rows = s.scalars(
                select(PaymentConfirmationRow)
                .where(PaymentConfirmationRow.refund_owed_minor > 0)
                .order_by(PaymentConfirmationRow.received_at, PaymentConfirmationRow.payment_id)
            )
            return [
                RefundLine(
                    r.payment_id,
                    r.reference,
                    r.refund_owed_minor,
                    r.currency,
                    r.reason,
                    utc(r.received_at) or r.received_at,
                )
                for r in rows
            ]

    def guarantees(self, limit: int = 200) -> list[GuaranteeLine]:
        with self.reading() as s:
            rows = s.scalars(
                select(GuaranteeRow)
                .order_by(GuaranteeRow.offered_at.desc(), GuaranteeRow.id.desc())
                .limit(limit)
            )
            return [
                GuaranteeLine(
                    application_id=r.application_id,
                    reference=r.reference,
                    guarantor_bin=r.guarantor_bin,
                    amount_minor=r.amount_minor,
                    currency=r.currency,
                    valid_until=r.valid_until,
                    state=guarantee_state(r.outcome, r.discharged_at, r.released_at),
                    reason_code=r.reason_code,
                    offered_at=utc(r.offered_at) or r.offered_at,
                    released_at=utc(r.released_at),
                )
                for r in rows
            ]
