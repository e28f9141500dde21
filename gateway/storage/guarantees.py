"""`GuaranteeBook` on the database (gateway.billing.guarantee_ports): offers of a guarantee as
security for an application's payment, and the secured release (issue 20 item 3)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.billing.guarantee_ports import GuaranteeConflict, Offer, RecordedGuarantee
from gateway.storage.guarantee_releases import queue_release
from gateway.storage.guarantee_steps import note_of
from gateway.storage.models import ApplicationRow
from gateway.storage.payment_models import GuaranteeRow
from gateway.storage.payments import PaymentStore, lock_order_of
from gateway.storage.repository import utc
from gateway.trail.messages import Message


class GuaranteeStore(PaymentStore):
    """Shares the payment store's release (permit write-offs, the signed released decision)."""

    def secure(self, offer: Offer, messages: Sequence[Message]) -> str:
        with self.transaction() as s:
            now = self.clock()
            # The order's lock first, then the application's: the order a settlement takes.
            order = lock_order_of(s, offer.application_id)
            app = s.get(ApplicationRow, offer.application_id, with_for_update=True)
            if app is None or order is None:
                raise GuaranteeConflict("unknown")
            if app.status == "withdrawn":
                raise GuaranteeConflict("withdrawn")
            if app.released_at is not None or order.status == "paid":
                raise GuaranteeConflict("released")
            row = _row(offer, "accepted", None, None, now)
            s.add(row)
            s.flush()
            for m in messages:
                self._add_message(s, offer.application_id, m)
            note = note_of(row)
            if self.release_decision is None or not self._write_off_permits(
                s, app, now, guarantee=note
            ):
                return "held"  # secured, but held for a permit: not released (a held decision)
            self._sign_release(s, app, now, guarantee=note)
            return "released"

    def refuse(self, offer: Offer, code: str, detail: str, messages: Sequence[Message]) -> None:
        with self.transaction() as s:
            s.add(_row(offer, "refused", code, detail, self.clock()))
            for m in messages:
                self._add_message(s, offer.application_id, m)

    def refuse_reserved(
        self, offer: Offer, reason: str, detail: str, messages: Sequence[Message]
    ) -> None:
        with self.transaction() as s:
            now = self.clock()
            if s.get(ApplicationRow, offer.application_id) is None:  # pragma: no cover
                raise AssertionError("an offer was checked for an application that is gone")
            row = _row(offer, "refused", "not-needed", detail, now)
            s.add(row)
            s.flush()
            self._add_messages(s, offer.application_id, messages)
            queue_release(s, row, reason, now)

    def record(self, application_id: str, messages: Sequence[Message]) -> None:
        with self.transaction() as s:
            known = s.get(ApplicationRow, application_id) is not None
            for m in messages:
                self._add_message(s, application_id if known else None, m)

    def of(self, application_id: str) -> list[RecordedGuarantee]:
        with self.reading() as s:
            return [_recorded(r) for r in _offers(s, application_id)]


def _offers(s: Session, application_id: str) -> Sequence[GuaranteeRow]:
    return s.scalars(
        select(GuaranteeRow)
        .where(GuaranteeRow.application_id == application_id)
        .order_by(GuaranteeRow.offered_at, GuaranteeRow.id)
    ).all()


def _row(
    offer: Offer, outcome: str, code: str | None, detail: str | None, now: dt.datetime
) -> GuaranteeRow:
    return GuaranteeRow(
        application_id=offer.application_id,
        reference=offer.reference,
        guarantor_bin=offer.guarantor_bin,
        amount_minor=offer.amount_minor,
        currency=offer.currency,
        valid_until=offer.valid_until,
        owed_minor=offer.owed_minor,
        outcome=outcome,
        reason_code=code,
        detail=detail,
        offered_at=now,
    )


def _recorded(r: GuaranteeRow) -> RecordedGuarantee:
    return RecordedGuarantee(
        reference=r.reference,
        guarantor_bin=r.guarantor_bin,
        amount_minor=r.amount_minor,
        currency=r.currency,
        valid_until=r.valid_until,
        owed_minor=r.owed_minor,
        outcome=r.outcome,
        reason_code=r.reason_code,
        detail=r.detail,
        offered_at=utc(r.offered_at) or r.offered_at,
        discharged_at=utc(r.discharged_at),
        released_at=utc(r.released_at),
    )
