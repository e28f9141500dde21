"""Issuing an application's payment order, and superseding it after a re-assessment (issue 20):
each one transaction with its trail entries, the day's reference serial incremented in it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.billing.ports import IssuedOrder, MakeOrder, MakeSuperseding, OrderMessages
from gateway.i18n.text import Text
from gateway.payments.check_digits import PaymentReference
from gateway.payments.settlement import SUPERSEDED
from gateway.storage.models import ApplicationRow
from gateway.storage.payment_models import (
    PaymentConfirmationRow,
    PaymentOrderRow,
    PaymentSerialRow,
)
from gateway.storage.payment_release import PaymentRelease
from gateway.storage.payment_rows import add_order, in_force, issued, order_row


class PaymentOrderWrites(PaymentRelease):
    """`PaymentOrders.issue` and `supersede`; a credit that pays a new order in full releases
    the application as a payment would (`PaymentRelease`)."""

    def issue(
        self, application_id: str, day: dt.date, make: MakeOrder, messages: OrderMessages
    ) -> IssuedOrder:
        return self._twice(lambda s: self._issue(s, application_id, day, make, messages))

    def _issue(
        self,
        s: Session,
        application_id: str,
        day: dt.date,
        make: MakeOrder,
        messages: OrderMessages,
    ) -> IssuedOrder:
        now = self.clock()
        # Lock the application: two readers asking for the first order make one.
        s.execute(
            update(ApplicationRow)
            .where(ApplicationRow.id == application_id)
            .values(updated_at=ApplicationRow.updated_at)
        )
        existing = s.scalars(in_force(application_id)).first()
        if existing is not None:
            return issued(s, existing)
        serial = next_serial(s, day)
        order, signature = make(PaymentReference.issue(day, serial))
        row = order_row(order, signature, now)
        add_order(s, row, order)
        for m in messages(order, signature):
            self._add_message(s, application_id, m)
        s.flush()
        return issued(s, row)

    def supersede(
        self,
        application_id: str,
        reference: str,
        day: dt.date,
        make: MakeSuperseding,
        messages: OrderMessages,
    ) -> IssuedOrder:
        return self._twice(
            lambda s: self._supersede(s, application_id, reference, day, make, messages)
        )

    def _twice(self, work: Callable[[Session], IssuedOrder]) -> IssuedOrder:
        """`work` in a transaction, and once more when a concurrent transaction took the day's
        first serial (the serial row's primary key) before it."""
        try:
            with self.transaction() as s:
                return work(s)
        except IntegrityError:
            with self.transaction() as s:
                return work(s)

    def _supersede(
        self,
        s: Session,
        application_id: str,
        reference: str,
        day: dt.date,
        make: MakeSuperseding,
        messages: OrderMessages,
    ) -> IssuedOrder:
        now = self.clock()
        # Step 1: the order first, then the application, in the order a settlement takes them;
        # a settlement of the old reference waits, then finds it superseded.
        old = s.scalars(
            select(PaymentOrderRow).where(PaymentOrderRow.reference == reference).with_for_update()
        ).first()
        app = s.get(ApplicationRow, application_id, with_for_update=True)
        if old is None or app is None or old.status == "superseded":
            current = s.scalars(in_force(application_id)).first()
            if current is None:
                raise AssertionError("supersede() was given no order in force")
            return issued(s, current)  # superseded concurrently: the one in force now
        # Step 2: the new reference, the order made with what the old one received.
        serial = next_serial(s, day)
        order, signature = make(PaymentReference.issue(day, serial), old.received_minor)
        old.status, old.superseded_by = "superseded", str(order.reference)
        s.flush()  # out of the unique index of orders in force before the new one enters it
        paid = order.balance_due.minor == 0
        row = order_row(order, signature, now)
        row.received_minor, row.credited_minor = order.credited, order.credited
        row.status, row.paid_at = ("paid", now) if paid else ("open", None)
        add_order(s, row, order)
        # Step 3: a credit beyond the new total is owed back, from the latest payments first.
        excess = old.received_minor - order.credited
        if excess > 0:
            _owe_back(s, reference, excess, str(order.reference))
        for m in messages(order, signature):
            self._add_message(s, application_id, m)
        s.flush()
        # Step 4: the credit pays the new order in full: released as a payment would release it.
        if paid and app.released_at is None and app.verdict == "granted" and self.release_decision:
            self._release(s, app, row, now)
        return issued(s, row)


def next_serial(s: Session, day: dt.date) -> int:
    """The next reference serial of `day`, taken under the serial row's lock in the issuing
    transaction (the day's first makes the row: a concurrent first fails on its key)."""
    serial = s.get(PaymentSerialRow, day, with_for_update=True)
    if serial is None:
        serial = PaymentSerialRow(day=day, last=0)
        s.add(serial)
    serial.last += 1
    s.flush()
    return serial.last


def _owe_back(s: Session, reference: str, excess: int, new_reference: str) -> None:
    """`excess` minor units received on `reference` are owed back: added to the refund owed of
    its counted payments, the latest first, each up to its amount."""
    rows = s.scalars(
        select(PaymentConfirmationRow)
        .where(
            PaymentConfirmationRow.reference == reference,
            PaymentConfirmationRow.counted.is_(True),
            PaymentConfirmationRow.refund_owed_minor < PaymentConfirmationRow.amount_minor,
        )
        .order_by(
            PaymentConfirmationRow.received_at.desc(), PaymentConfirmationRow.payment_id.desc()
        )
    )
    for row in rows:
        if excess <= 0:
            break
        more = min(excess, row.amount_minor - row.refund_owed_minor)
        row.refund_owed_minor += more
        excess -= more
        row.reason = SUPERSEDED
        row.detail = Text(
            "Order %(reference)s was superseded by %(new_reference)s after a re-assessment that "
            "costs less than was paid: the difference is owed back.",
            reference=str(reference),
            new_reference=str(new_reference),
        )
