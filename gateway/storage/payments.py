"""`PaymentOrders` on the database (gateway.billing.ports): payment orders, settlements of
treasury payments, reconciliations. Each write is one transaction with its trail entries."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.billing.permit_ports import StepMessages
from gateway.billing.ports import (
    IssuedOrder,
    MakeOrder,
    MakeSuperseding,
    OrderMessages,
    PaidApplication,
    PayableApplication,
    RecordedSettlement,
    ReleaseDecision,
    SettleRule,
)
from gateway.decision.document import GuaranteeNote, PaymentNote
from gateway.domain.identifiers import Bin
from gateway.errors import GatewayError
from gateway.i18n.text import Text
from gateway.payments.charges import ChargeKind, ChargeLine
from gateway.payments.check_digits import Iban, PaymentReference
from gateway.payments.money import Money
from gateway.payments.order import PaymentOrder, canonical_json
from gateway.payments.settlement import (
    SUPERSEDED,
    WITHDRAWN,
    ApplicationState,
    Confirmation,
    Outcome,
    Settlement,
)
from gateway.storage.guarantee_steps import accepted_guarantee, discharge, note_of
from gateway.storage.models import ApplicationRow
from gateway.storage.notifications import enqueue_decision
from gateway.storage.payment_models import (
    PaymentConfirmationRow,
    PaymentOrderLineRow,
    PaymentOrderRow,
    PaymentSerialRow,
    ReconciliationRow,
)
from gateway.storage.permit_steps import hold_in, release_day, write_off_in
from gateway.storage.repository import Store, case_result, utc
from gateway.trail.messages import Message


class PaymentStore(Store):
    """The database implementation of `PaymentOrders`. `release_decision` signs the released
    decision of an application paid in full (set by the composition root); without it an order
    paid in full releases nothing."""

    release_decision: ReleaseDecision | None = None
    # The trail entries of permit write-offs at release (set by the composition root); without
    # it nothing is written off.
    permit_steps: StepMessages | None = None

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
            return _issued(s, row) if row else None

    def get(self, reference: str) -> IssuedOrder | None:
        with self.reading() as s:
            row = s.get(PaymentOrderRow, reference)
            return _issued(s, row) if row else None

    def settlements(self, reference: str) -> list[RecordedSettlement]:
        with self.reading() as s:
            rows = s.scalars(
                select(PaymentConfirmationRow)
                .where(PaymentConfirmationRow.reference == reference)
                .order_by(PaymentConfirmationRow.received_at, PaymentConfirmationRow.payment_id)
            )
            return [_recorded(s, r) for r in rows]

    def refunds_owed(self) -> list[RecordedSettlement]:
        with self.reading() as s:
            rows = s.scalars(
                select(PaymentConfirmationRow)
                .where(PaymentConfirmationRow.refund_owed_minor > 0)
                .order_by(PaymentConfirmationRow.received_at, PaymentConfirmationRow.payment_id)
            )
            return [_recorded(s, r) for r in rows]

    def recorded_on(self, day: dt.date) -> list[Confirmation]:
        with self.reading() as s:
            rows = s.scalars(
                select(PaymentConfirmationRow).where(PaymentConfirmationRow.paid_on == day)
            )
            return [_confirmation(r) for r in rows]

    def references(self) -> set[str]:
        with self.reading() as s:
            return set(s.scalars(select(PaymentOrderRow.reference)))

    # --- writes ---------------------------------------------------------------------------------

    def issue(
        self, application_id: str, day: dt.date, make: MakeOrder, messages: OrderMessages
    ) -> IssuedOrder:
        for attempt in range(2):  # a concurrent first serial of the day: once more
            try:
                with self.transaction() as s:
                    return self._issue(s, application_id, day, make, messages)
            except IntegrityError:
                if attempt:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

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
            return _issued(s, existing)
        serial = s.get(PaymentSerialRow, day, with_for_update=True)
        if serial is None:
            serial = PaymentSerialRow(day=day, last=0)
            s.add(serial)
        serial.last += 1
        s.flush()
        order, signature = make(PaymentReference.issue(day, serial.last))
        row = _order_row(order, signature, now)
        _add_order(s, row, order)
        for m in messages(order, signature):
            self._add_message(s, application_id, m)
        s.flush()
        return _issued(s, row)

    def supersede(
        self,
        application_id: str,
        reference: str,
        day: dt.date,
        make: MakeSuperseding,
        messages: OrderMessages,
    ) -> IssuedOrder:
        for attempt in range(2):  # a concurrent first serial of the day: once more
            try:
                with self.transaction() as s:
                    return self._supersede(s, application_id, reference, day, make, messages)
            except IntegrityError:
                if attempt:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

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
            return _issued(s, current)  # superseded concurrently: the one in force now
        # Step 2: the new reference, the order made with what the old one received.
        serial = s.get(PaymentSerialRow, day, with_for_update=True)
        if serial is None:
            serial = PaymentSerialRow(day=day, last=0)
            s.add(serial)
        serial.last += 1
        s.flush()
        order, signature = make(PaymentReference.issue(day, serial.last), old.received_minor)
        old.status, old.superseded_by = "superseded", str(order.reference)
        s.flush()  # out of the unique index of orders in force before the new one enters it
        paid = order.balance_due.minor == 0
        row = _order_row(order, signature, now)
        row.received_minor, row.credited_minor = order.credited, order.credited
        row.status, row.paid_at = ("paid", now) if paid else ("open", None)
        _add_order(s, row, order)
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
        return _issued(s, row)

    def settle_payment(
        self,
        confirmation: Confirmation,
        rule: SettleRule,
        messages: Callable[[Settlement], Sequence[Message]],
    ) -> Settlement:
        try:
            with self.transaction() as s:
                return self._settle(s, confirmation, rule, messages)
        except IntegrityError:
            # The same payment id settled concurrently: the rule now sees it as a duplicate.
            with self.transaction() as s:
                return self._settle(s, confirmation, rule, messages)

    def _settle(
        self,
        s: Session,
        new: Confirmation,
        rule: SettleRule,
        messages: Callable[[Settlement], Sequence[Message]],
    ) -> Settlement:
        now = self.clock()
        # Step 1: lock the order (settlements of one reference queue here), then read it.
        s.execute(
            update(PaymentOrderRow)
            .where(PaymentOrderRow.reference == new.reference)
            .values(status=PaymentOrderRow.status)
        )
        order_row = s.get(PaymentOrderRow, new.reference)
        order = _order(s, order_row) if order_row else None
        app = s.get(ApplicationRow, order_row.application_id) if order_row else None
        state = (
            ApplicationState.WITHDRAWN
            if app is not None and app.status == "withdrawn"
            else ApplicationState.SUPERSEDED
            if order_row is not None and order_row.status == "superseded"
            else ApplicationState.OPEN
        )
        # Step 2: the earlier settlements of the reference, and this payment id if seen before.
        rows = list(
            s.scalars(
                select(PaymentConfirmationRow).where(
                    PaymentConfirmationRow.reference == new.reference
                )
            )
        )
        seen = s.get(PaymentConfirmationRow, new.payment_id)
        if seen is not None and seen not in rows:
            rows.append(seen)
        earlier = [_settlement(s, r) for r in rows]
        # Step 3: the rule.
        result = rule(order, state, earlier, new)
        if result.duplicate:
            return result
        # Step 4: record it; the order and the application follow.
        s.add(
            PaymentConfirmationRow(
                payment_id=new.payment_id,
                reference=new.reference,
                amount_minor=new.amount.minor,
                currency=new.amount.currency,
                payer=new.payer[:12],
                paid_on=new.paid_on,
                outcome=result.outcome.value,
                reason=result.reason,
                counted=result.counted,
                received_minor=result.received.minor,
                outstanding_minor=result.outstanding.minor,
                refund_owed_minor=result.refund_owed.minor,
                detail=result.detail,
                received_at=now,
            )
        )
        s.flush()
        if order_row is not None and result.counted:
            order_row.received_minor = result.received.minor
            if result.outcome is Outcome.PAID and order_row.status != "paid":
                order_row.status, order_row.paid_at = "paid", now
                if app is not None and app.released_at is None and self.release_decision:
                    self._release(s, app, order_row, now)
                elif app is not None and self.release_decision:
                    self._discharge(s, app, order_row, now)
        application_id = order_row.application_id if order_row else None
        for m in messages(result):
            self._add_message(s, application_id, m)
        return result

    def release_if_paid(self, application_id: str) -> bool:
        """Release an application whose order is paid, or secured by an accepted guarantee, but
        which is not released (it was held for a permit and the hold has cleared): its
        write-offs are tried again in the same transaction. True when it is released now."""
        with self.transaction() as s:
            now = self.clock()
            app = s.get(ApplicationRow, application_id)
            order = s.scalars(in_force(application_id).with_for_update()).first()
            if app is None or order is None or app.released_at or self.release_decision is None:
                return False
            if order.status == "paid":
                self._release(s, app, order, now)
                return app.released_at is not None
            # Secured by a guarantee customs accepted (issue 20), held for a permit since.
            guarantee = accepted_guarantee(s, application_id)
            if guarantee is None or guarantee.discharged_at is not None:
                return False
            note = note_of(guarantee)
            if self._write_off_permits(s, app, now, guarantee=note):
                self._sign_release(s, app, now, guarantee=note)
            return app.released_at is not None

    def _release(
        self, s: Session, app: ApplicationRow, order: PaymentOrderRow, now: dt.datetime
    ) -> None:
        """Paid in full: the application is released, with a new signed decision that names the
        paid order, kept in the trail and sent to the trader like the first one."""
        assert self.release_decision is not None
        payment = PaymentNote(order.reference, order.total_minor, order.currency, now)
        if not self._write_off_permits(s, app, now, payment=payment):
            return  # paid, but held for a permit: not released (docs/payments.md)
        self._sign_release(s, app, now, payment=payment)

    def _sign_release(
        self,
        s: Session,
        app: ApplicationRow,
        now: dt.datetime,
        *,
        payment: PaymentNote | None = None,
        guarantee: GuaranteeNote | None = None,
        held: tuple[str, str] | None = None,
    ) -> None:
        """The released decision (paid, secured, or paid with its guarantee discharged): signed,
        stored, kept in the trail and sent to the trader like the first one. With `held` (a cited
        permit's write-off was refused), the held decision instead: not released."""
        assert self.release_decision is not None
        s.refresh(app, ["cases"])
        xml = self.release_decision(
            PaidApplication(
                id=app.id,
                declarant_bin=app.declarant_bin,
                trader_reference=app.trader_reference,
                application_sha256=app.body_sha256,
                cases=tuple(case_result(c) for c in app.cases),
                released_at=now,
                payment=payment,
                guarantee=guarantee,
                held=held,
            )
        )
        if held is None:
            app.released_at = app.released_at or now
        app.verdict, app.decision_xml = ("released" if held is None else "held"), xml
        self._add_message(
            s,
            app.id,
            Message("decision", "out", f"trader:{app.declarant_bin}", "application/xml", xml),
        )
        enqueue_decision(s, app, xml, self.clock)

    def _discharge(
        self, s: Session, app: ApplicationRow, order: PaymentOrderRow, now: dt.datetime
    ) -> None:
        """Paid in full after a guarantee secured the release (issue 20): the guarantee is
        discharged (trail entry) and a new released decision names the payment and the
        discharged guarantee."""
        row = accepted_guarantee(s, app.id)
        if row is None or row.discharged_at is not None:
            return
        discharge(s, app, row, order, now, self)
        if app.verdict == "released":
            payment = PaymentNote(order.reference, order.total_minor, order.currency, now)
            self._sign_release(s, app, now, payment=payment, guarantee=note_of(row))

    def _write_off_permits(
        self,
        s: Session,
        app: ApplicationRow,
        now: dt.datetime,
        *,
        payment: PaymentNote | None = None,
        guarantee: GuaranteeNote | None = None,
    ) -> bool:
        """The quantities the application cites, written off in its release transaction under
        the permits' row locks (issue 20 item 4); on a refusal nothing is written off (the
        savepoint), the application is held, the attempt is in the trail, and a held decision
        naming the payment or guarantee says why (signed again only when the hold is new)."""
        if self.permit_steps is None:
            return True
        try:
            with s.begin_nested():
                write_off_in(s, app.id, release_day(now), self.permit_steps, self)
        except GatewayError as refusal:
            hold_in(s, app.id, refusal, self.permit_steps, self)
            if self.release_decision is not None and app.verdict != "held":
                held = (refusal.code, refusal.detail)
                self._sign_release(s, app, now, payment=payment, guarantee=guarantee, held=held)
            return False
        return True

    def add_reconciliation(
        self,
        day: dt.date,
        statement: bytes,
        differences: Sequence[dict[str, Any]],
        messages: Sequence[Message],
    ) -> None:
        with self.transaction() as s:
            s.add(
                ReconciliationRow(
                    day=day,
                    statement=statement,
                    differences=json.dumps(list(differences), sort_keys=True),
                    run_at=self.clock(),
                )
            )
            for m in messages:
                self._add_message(s, None, m)

    def record_refused(self, reference: str | None, messages: Sequence[Message]) -> None:
        with self.transaction() as s:
            application_id = (
                s.scalar(
                    select(PaymentOrderRow.application_id).where(
                        PaymentOrderRow.reference == reference
                    )
                )
                if reference
                else None
            )
            for m in messages:
                self._add_message(s, application_id, m)


# --- values -> rows -----------------------------------------------------------------------------


def _order_row(order: PaymentOrder, signature: str, now: dt.datetime) -> PaymentOrderRow:
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


def _add_order(s: Session, row: PaymentOrderRow, order: PaymentOrder) -> None:
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


# --- rows -> values -----------------------------------------------------------------------------


def in_force(application_id: str) -> Select[PaymentOrderRow]:
    """The application's order in force: the one no re-assessment superseded (at most one)."""
    return select(PaymentOrderRow).where(
        PaymentOrderRow.application_id == application_id,
        PaymentOrderRow.status != "superseded",
    )


def _order(s: Session, row: PaymentOrderRow) -> PaymentOrder:
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


def _issued(s: Session, row: PaymentOrderRow) -> IssuedOrder:
    return IssuedOrder(
        order=_order(s, row),
        signature=row.signature,
        status=row.status,
        received_minor=row.received_minor,
        issued_at=utc(row.issued_at) or row.issued_at,
        paid_at=utc(row.paid_at),
    )


def _confirmation(row: PaymentConfirmationRow) -> Confirmation:
    return Confirmation(
        payment_id=row.payment_id,
        reference=row.reference,
        amount=Money(row.amount_minor, row.currency),
        payer=row.payer,
        paid_on=row.paid_on,
    )


def _settlement(s: Session, row: PaymentConfirmationRow) -> Settlement:
    order_currency = s.scalar(
        select(PaymentOrderRow.currency).where(PaymentOrderRow.reference == row.reference)
    )
    currency = order_currency or row.currency
    return Settlement(
        confirmation=_confirmation(row),
        outcome=Outcome(row.outcome),
        reason=row.reason,
        counted=row.counted,
        duplicate=False,
        received=Money(row.received_minor, currency),
        outstanding=Money(row.outstanding_minor, currency),
        refund_owed=Money(row.refund_owed_minor, row.currency),
        detail=row.detail,
    )


def _recorded(s: Session, row: PaymentConfirmationRow) -> RecordedSettlement:
    return RecordedSettlement(_settlement(s, row), utc(row.received_at) or row.received_at)


# --- withdrawal -----------------------------------------------------------------------------------


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
