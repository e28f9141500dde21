"""The payment service: one signed payment order per application once every agency granted it,
treasury confirmations settled by `gateway.payments.settle`, and reconciliation of a day.

Orders are issued on first need (the trader's GET, `nsw pay`, the exit gate) and idempotently: the
application's one order is the database's unique row, so a crash between the decision and the
order loses nothing, and the payer cannot know a reference before the order exists.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from gateway.billing.errors import (
    AssessmentNotPayable,
    NothingToPay,
    PaymentOrderNotReady,
    PaymentsNotConfigured,
)
from gateway.billing.ports import (
    IssuedOrder,
    PaidApplication,
    PayableApplication,
    PaymentOrders,
    ReleaseDecision,
    Treasury,
)
from gateway.billing.signing import sign_detached
from gateway.clock import Clock
from gateway.decision.document import signed_decision
from gateway.decision.rules import Decision, Verdict
from gateway.domain.identifiers import Bin
from gateway.errors import GatewayError, NotFound
from gateway.i18n.text import Text
from gateway.payments.charge_json import charge_lines
from gateway.payments.charges import ChargeLine
from gateway.payments.check_digits import Iban, PaymentReference
from gateway.payments.errors import InvalidCharge, InvalidPaymentOrder
from gateway.payments.order import PaymentOrder, canonical_json
from gateway.payments.reconcile import Difference, reconcile
from gateway.payments.settlement import Confirmation, Settlement, settle
from gateway.trail.messages import Message
from gateway.trust.xmlsig import SigningIdentity

# Value dates and order days are the day in Kazakhstan (one time zone, UTC+5, since 1 March 2024:
# recalled, R; the stand-in treasury uses the same).
KZ_TIME = dt.timezone(dt.timedelta(hours=5))
TREASURY = "treasury"


def kz_day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(KZ_TIME).date()


@dataclass(frozen=True)
class Reconciliation:
    day: dt.date
    final: bool
    differences: tuple[Difference, ...]


def difference_json(d: Difference) -> dict[str, Any]:
    return {
        "kind": d.kind.value,
        "paymentId": d.payment_id,
        "reference": d.reference,
        "expected": _money(d.expected),
        "actual": _money(d.actual),
        "detail": d.detail,
    }


def _money(amount: Any) -> dict[str, Any] | None:
    return None if amount is None else {"minor": amount.minor, "currency": amount.currency}


class Payments:
    def __init__(
        self,
        orders: PaymentOrders,
        identity: SigningIdentity,
        clock: Clock,
        *,
        payee_account: str = "",
        treasury: Treasury | None = None,
    ) -> None:
        self.orders, self.identity, self.clock = orders, identity, clock
        self.payee_account = payee_account
        self.treasury = treasury

    # --- the order ------------------------------------------------------------------------------

    def payable(self, application_id: str) -> PayableApplication:
        app = self.orders.payable_application(application_id)
        if app is None:
            raise NotFound(
                Text("There is no application %(application_id)s.", application_id=application_id)
            )
        return app

    def order(self, application_id: str) -> IssuedOrder:
        """The application's payment order, issued now if every agency granted it and it has
        charges. Raises `PaymentOrderNotReady` (not decided, or not granted), `NothingToPay`."""
        existing = self.orders.order_for(application_id)
        app = self.payable(application_id)
        if existing is not None:
            return self._reassessed(app, existing)
        if not app.granted_by_all or app.decided_at is None:
            state = app.verdict or "not decided yet"
            raise PaymentOrderNotReady(
                Text(
                    "Application %(application_id)s is %(state)s: a payment order is issued once "
                    "every agency has granted it.",
                    application_id=application_id,
                    state=state,
                ),
                verdict=app.verdict,
            )
        lines = _assessed(app)
        if not lines:
            raise NothingToPay(
                Text(
                    "No agency assessed a charge for %(application_id)s: there is nothing to pay.",
                    application_id=application_id,
                )
            )
        if not self.payee_account:
            raise PaymentsNotConfigured(
                Text("The gateway has no treasury account to collect into; set NSW_PAYEE_ACCOUNT.")
            )
        payee = Iban(self.payee_account)
        day = kz_day(app.decided_at)

        def make(reference: PaymentReference) -> tuple[PaymentOrder, str]:
            try:
                order = PaymentOrder(
                    reference=reference,
                    application_id=application_id,
                    payer=Bin(app.declarant_bin),
                    issued_on=day,
                    payee_account=payee,
                    lines=tuple(lines),
                )
            except InvalidPaymentOrder as exc:
                raise AssessmentNotPayable(exc.detail) from exc
            return order, sign_detached(order.canonical_bytes(), self.identity)

        def messages(order: PaymentOrder, signature: str) -> Sequence[Message]:
            return [
                Message(
                    "payment-order",
                    "out",
                    f"trader:{app.declarant_bin}",
                    "application/json",
                    document_bytes(order, signature),
                )
            ]

        return self.orders.issue(application_id, day, make, messages)

    def _reassessed(self, app: PayableApplication, existing: IssuedOrder) -> IssuedOrder:
        """The order in force, or (when an amendment was decided again with other charges) the
        new order that supersedes it, credited with what it received (docs/payments.md,
        "Re-assessment"). While the application is being decided again, or if it now owes
        nothing, the order in force stands."""
        if not app.granted_by_all or app.decided_at is None:
            return existing
        lines = tuple(_assessed(app))
        if not lines or lines == existing.order.lines:
            return existing
        old = existing.order
        day = kz_day(app.decided_at)
        received_by: dict[str, int] = {}  # what the old order received, from make to messages

        def make(reference: PaymentReference, received: int) -> tuple[PaymentOrder, str]:
            try:
                order = PaymentOrder(
                    reference=reference, application_id=app.id, payer=Bin(app.declarant_bin),
                    issued_on=day, payee_account=old.payee_account, lines=lines,
                    supersedes=old.reference, credited=0,
                )  # fmt: skip
                credited = min(received, order.total.minor)  # beyond the total: owed back
                order = replace(order, credited=credited)
            except InvalidPaymentOrder as exc:
                raise AssessmentNotPayable(exc.detail) from exc
            received_by[str(order.reference)] = received
            return order, sign_detached(order.canonical_bytes(), self.identity)

        def messages(order: PaymentOrder, signature: str) -> Sequence[Message]:
            received = received_by.get(str(order.reference), order.credited)
            superseded = {
                "applicationId": app.id, "reference": str(old.reference),
                "supersededBy": str(order.reference), "currency": order.currency,
                "oldTotal": old.total.minor, "newTotal": order.total.minor,
                "received": received, "credited": order.credited,
                "refundOwed": received - order.credited, "balanceDue": order.balance_due.minor,
            }  # fmt: skip
            trader = f"trader:{app.declarant_bin}"
            return [
                Message("payment-order-superseded", "out", trader, "application/json",
                        canonical_json(superseded)),
                Message("payment-order", "out", trader, "application/json",
                        document_bytes(order, signature)),
            ]  # fmt: skip

        return self.orders.supersede(app.id, str(old.reference), day, make, messages)

    # --- a treasury confirmation ----------------------------------------------------------------

    def confirm(self, confirmation: Confirmation, raw_record: bytes) -> Settlement:
        """Settle one verified treasury confirmation; the callback as received (`raw_record`:
        body and signature header fields) and the settlement are trail entries."""

        def messages(result: Settlement) -> Sequence[Message]:
            if result.duplicate:
                return []
            return [
                Message(
                    "payment-callback", "in", f"agency:{TREASURY}", "application/json", raw_record
                ),
                Message(
                    "payment-settlement",
                    "out",
                    f"agency:{TREASURY}",
                    "application/json",
                    canonical_json(settlement_json(result)),
                ),
            ]

        return self.orders.settle_payment(confirmation, settle, messages)

    def keep_refused(
        self, raw_record: bytes, refusal: GatewayError, reference: str | None = None
    ) -> None:
        """A callback whose signature verified (it is the treasury's) but that is refused later
        (not a confirmation, a conflicting repeat): kept in the trail as received with the
        problem it got, like intake's refusals; nothing else is recorded. A callback that is
        not the treasury's never gets here: anyone could fill the trail with those."""
        self.orders.record_refused(
            reference,
            [
                Message(
                    "payment-callback-refused", "in", f"agency:{TREASURY}", "application/json",
                    canonical_json({"callback": json.loads(raw_record),
                                    "problem": refusal.problem()}),
                )
            ],
        )  # fmt: skip

    # --- reconciliation -------------------------------------------------------------------------

    def reconcile(self, day: dt.date) -> Reconciliation:
        """The treasury's signed statement of `day` against what the gateway recorded; stored
        with the statement as received and each difference (trail: statement in, result out)."""
        if self.treasury is None:
            raise PaymentsNotConfigured(Text("No treasury is configured; set NSW_TREASURY_URL."))
        verified = self.treasury.statement(day)
        found = reconcile(
            verified.statement, self.orders.recorded_on(day), self.orders.references()
        )
        differences = [difference_json(d) for d in found]
        record = json.dumps(
            {"headers": verified.headers, "body": verified.raw.decode("utf-8", "replace")},
            sort_keys=True,
        ).encode()
        result = {"day": day.isoformat(), "final": verified.final, "differences": differences}
        self.orders.add_reconciliation(
            day,
            verified.raw,
            differences,
            [
                Message(
                    "treasury-statement", "in", f"agency:{TREASURY}", "application/json", record
                ),
                Message(
                    "reconciliation",
                    "out",
                    f"agency:{TREASURY}",
                    "application/json",
                    canonical_json(result),
                ),
            ],
        )
        return Reconciliation(day, verified.final, tuple(found))


def _assessed(app: PayableApplication) -> list[ChargeLine]:
    """The charge lines of what the agencies assessed, as an order lists them."""
    try:
        return charge_lines([(agency, charges) for agency, charges in app.charges])
    except InvalidCharge as exc:
        raise AssessmentNotPayable(
            Text(
                "An agency's assessment cannot be paid as stated (%(detail)s); the application "
                "stays unreleased until the agency corrects it. Ask the operators.",
                detail=exc.detail,
            )
        ) from exc


def document_bytes(order: PaymentOrder, signature: str) -> bytes:
    """The signed order as served and kept in the trail: the order's JSON value and the
    detached JWS over its canonical bytes."""
    return canonical_json({"order": order.as_json(), "signature": signature})


def settlement_json(s: Settlement) -> dict[str, Any]:
    c = s.confirmation
    return {
        "paymentId": c.payment_id,
        "reference": c.reference,
        "amount": _money(c.amount),
        "paidOn": c.paid_on.isoformat(),
        "outcome": s.outcome.value,
        "reason": s.reason,
        "counted": s.counted,
        "duplicate": s.duplicate,
        "received": _money(s.received),
        "outstanding": _money(s.outstanding),
        "refundOwed": _money(s.refund_owed),
        "detail": s.detail,
    }


def released_decision_signer(identity: SigningIdentity) -> ReleaseDecision:
    """The released decision of a paid or secured application: every case as granted, the paid
    order and/or the guarantee named, signed by the gateway like the first decision; or its held
    decision, with the same notes, when a cited permit's write-off was refused."""

    def sign(paid: PaidApplication) -> bytes:
        basis = (
            "paid" if paid.payment is not None else "secured" if paid.guarantee is not None else ""
        )
        reference = paid.guarantee.reference if paid.guarantee is not None else None
        return signed_decision(
            identity,
            application_id=paid.id,
            declarant_bin=paid.declarant_bin,
            trader_reference=paid.trader_reference,
            application_sha256=paid.application_sha256,
            decision=Decision(
                Verdict.HELD if paid.held is not None else Verdict.RELEASED,
                paid.cases,
                hold=paid.held,
                basis=basis,
                guarantee=reference,
            ),
            decided_at=paid.released_at,
            payment=paid.payment,
            guarantee=paid.guarantee,
        )

    return sign
