"""An amendment that changes the assessment supersedes the payment order (issue 20), on both
databases: a new signed order with a new reference, credited with what the old one received and
showing the balance owed; the old one marked superseded, a later payment to it refused and owed
back; a withdrawal afterwards owes back what both orders received."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import update

from gateway.billing.service import Payments
from gateway.clock import system_clock
from gateway.decision.ports import DecisionSubject
from gateway.payments import Confirmation, Money
from gateway.pki.dev import DevPki
from gateway.storage.db import make_engine
from gateway.storage.models import ApplicationRow, CaseRow
from gateway.storage.omc_money import StoredMoneyViews
from gateway.storage.outbox import OutboxStore
from gateway.storage.payments import PaymentStore
from gateway.storage.versions import VersionStore
from gateway.trust.xmlsig import SigningIdentity
from tests.payments.permit_rows import TODAY, lodge_citing
from tests.unit.payments.factories import TREASURY

DUE = (TODAY + dt.timedelta(days=10)).isoformat()
DUTY = {"kind": "customs-duty", "amount": 150_000_00, "currency": "KZT", "legalBasis": "tariff",
        "due": DUE, "kbk": "106104"}  # fmt: skip
FEE = {"kind": "agency-fee", "amount": 19_000_00, "currency": "KZT", "legalBasis": "decree 171",
       "due": DUE, "kbk": "106201"}  # fmt: skip


@dataclass
class Orders:
    outbox: OutboxStore
    store: PaymentStore
    payments: Payments

    def decided(self, *charges: dict[str, object]) -> None:
        """APP-1 decided (again): granted by customs, which assessed `charges`."""
        now = system_clock()
        with self.store.transaction() as s:
            s.execute(
                update(CaseRow)
                .where(CaseRow.application_id == "APP-1")
                .values(charges=json.dumps(list(charges)), state="granted")
            )
            s.execute(
                update(ApplicationRow)
                .where(ApplicationRow.id == "APP-1")
                .values(status="decided", verdict="granted", decided_at=now)
            )

    def pay(self, reference: str, minor: int, payment_id: str) -> str:
        paid = Confirmation(payment_id, reference, Money(minor, "KZT"), "210540012341", TODAY)
        return self.payments.confirm(paid, b"{}").reason

    def kinds(self) -> list[str]:
        return [m.kind for m in self.outbox.messages("APP-1")]


@pytest.fixture
def money(database_url: str, pki: DevPki) -> Iterator[Orders]:
    engine = make_engine(database_url)
    store = PaymentStore(engine, system_clock)
    identity = SigningIdentity.from_files(pki.key_path("gateway"), pki.cert_path("gateway"))
    payments = Payments(store, identity, system_clock, payee_account=str(TREASURY))
    outbox = OutboxStore(engine, system_clock)
    lodge_citing(outbox, "APP-1", "1")
    yield Orders(outbox, store, payments)
    engine.dispose()


def test_a_reassessment_supersedes_the_order_and_credits_what_was_paid(money: Orders) -> None:
    money.decided(DUTY, FEE)
    first = money.payments.order("APP-1")
    old = str(first.order.reference)
    assert money.pay(old, 100_000_00, "P-1") == "payment-partial"

    # The amendment's reopened agency answers with another duty: a new order supersedes the old.
    money.decided({**DUTY, "amount": 180_000_00}, FEE)
    new = money.payments.order("APP-1")
    reference = str(new.order.reference)
    assert reference != old and str(new.order.supersedes) == old
    assert new.order.total == Money(199_000_00, "KZT")
    assert (new.order.credited, new.received_minor) == (100_000_00, 100_000_00)
    assert new.order.balance_due == Money(99_000_00, "KZT") and new.status == "open"
    superseded = money.store.get(old)
    assert superseded is not None and superseded.status == "superseded"
    assert money.payments.order("APP-1") == money.store.order_for("APP-1") == new
    assert money.kinds().count("payment-order") == 2
    assert money.kinds().count("payment-order-superseded") == 1
    # The OMC's payments page owes nothing on the superseded order, the balance on the new one.
    omc = {o.reference: o for o in StoredMoneyViews(money.store.engine, system_clock).orders()}
    assert (omc[old].status, omc[old].outstanding_minor) == ("superseded", 0)
    assert omc[reference].outstanding_minor == 99_000_00

    # A payment to the old reference is refused and owed back; the balance pays the new order.
    assert money.pay(old, 5_00, "P-2") == "payment-order-superseded"
    assert {r.settlement.confirmation.payment_id for r in money.store.refunds_owed()} == {"P-2"}
    assert money.pay(reference, 99_000_00, "P-3") == "payment-paid"
    paid = money.store.get(reference)
    assert paid is not None and paid.status == "paid" and paid.received_minor == 199_000_00

    # Withdrawn after all: what both orders received is owed back (P-2 was already).
    withdraw_app(money)
    owed = {
        r.settlement.confirmation.payment_id: r.settlement.refund_owed.minor
        for r in money.store.refunds_owed()
    }
    assert owed == {"P-1": 100_000_00, "P-2": 5_00, "P-3": 99_000_00}


def test_a_reassessment_below_what_was_paid_owes_the_difference_back(money: Orders) -> None:
    money.decided(DUTY, FEE)
    old = str(money.payments.order("APP-1").order.reference)
    assert money.pay(old, 169_000_00, "P-1") == "payment-paid"

    money.decided(FEE)  # re-assessed: no duty after all
    new = money.payments.order("APP-1")
    assert new.status == "paid" and new.order.credited == 19_000_00
    assert new.order.balance_due == Money(0, "KZT")
    (owed,) = money.store.refunds_owed()
    assert owed.settlement.confirmation.payment_id == "P-1"
    assert owed.settlement.refund_owed == Money(150_000_00, "KZT")
    assert owed.settlement.reason == "payment-order-superseded"


def withdraw_app(money: Orders) -> None:
    def sign(subject: DecisionSubject, before: object, note: str) -> bytes:
        return b"<Decision verdict='withdrawn'/>"

    versions = VersionStore(money.store.engine, system_clock)
    versions.withdraw("APP-1", "trader", "withdrawn by the trader", [], sign)
