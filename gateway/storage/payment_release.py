"""The release of a paid or secured application, in the transaction that paid or secured it
(issue 20): its cited permits written off under their row locks, then a signed released decision
(or a held one, when a write-off is refused), and the discharge of a guarantee a later payment
makes unnecessary. The payment store's orders and settlement, and `GuaranteeStore`, build on it."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from gateway.billing.permit_ports import StepMessages
from gateway.billing.ports import PaidApplication, ReleaseDecision
from gateway.decision.document import GuaranteeNote, PaymentNote
from gateway.errors import GatewayError
from gateway.storage.guarantee_steps import accepted_guarantee, discharge, note_of
from gateway.storage.models import ApplicationRow
from gateway.storage.notifications import enqueue_decision
from gateway.storage.payment_models import PaymentOrderRow
from gateway.storage.payment_rows import in_force
from gateway.storage.permit_steps import hold_in, release_day, write_off_in
from gateway.storage.repository import Store, case_result
from gateway.trail.messages import Message


class PaymentRelease(Store):
    """`release_decision` signs the released decision of an application paid in full (set by the
    composition root); without it an order paid in full releases nothing."""

    release_decision: ReleaseDecision | None = None
    # The trail entries of permit write-offs at release (set by the composition root); without
    # it nothing is written off.
    permit_steps: StepMessages | None = None

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
        paid order, kept in the trail and sent to the trader like the first one. A guarantee
        that secured it (and a permit held it since) is discharged by the payment, and the
        decision names it too."""
        assert self.release_decision is not None
        payment = PaymentNote(order.reference, order.total_minor, order.currency, now)
        guarantee = accepted_guarantee(s, app.id)
        note = None
        if guarantee is not None and guarantee.discharged_at is None:
            discharge(s, app, guarantee, order, now, self)
            note = note_of(guarantee)
        if not self._write_off_permits(s, app, now, payment=payment, guarantee=note):
            return  # paid, but held for a permit: not released (docs/payments.md)
        self._sign_release(s, app, now, payment=payment, guarantee=note)

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
        """`sign_release` with the store's signer (set: the callers check it)."""
        assert self.release_decision is not None
        sign_release(s, app, now, self.release_decision, self,
                     payment=payment, guarantee=guarantee, held=held)  # fmt: skip

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


def sign_release(
    s: Session,
    app: ApplicationRow,
    now: dt.datetime,
    sign: ReleaseDecision,
    store: Store,
    *,
    payment: PaymentNote | None = None,
    guarantee: GuaranteeNote | None = None,
    held: tuple[str, str] | None = None,
) -> None:
    """Inside the releasing transaction: the released decision (paid, secured, paid with its
    guarantee discharged, or nothing owed when neither is named), signed, stored, kept in the
    trail and sent to the trader like the first one; a paid or secured release sets
    `released_at`. With `held` (a cited permit's write-off was refused), the held decision
    instead: not released."""
    s.refresh(app, ["cases"])
    xml = sign(
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
    if held is None and (payment is not None or guarantee is not None):
        app.released_at = app.released_at or now
    app.verdict, app.decision_xml = ("released" if held is None else "held"), xml
    store._add_message(
        s,
        app.id,
        Message("decision", "out", f"trader:{app.declarant_bin}", "application/xml", xml),
    )
    enqueue_decision(s, app, xml, store.clock)
