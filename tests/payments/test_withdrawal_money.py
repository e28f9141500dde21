"""A withdrawal and the money and quantities the application already holds (issue 19 meets
issue 20), on both databases: what was paid becomes a refund owed, what was written off returns
to its permit, both in the withdrawal's transaction with their trail entries."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal

import pytest

from gateway.billing.permit_ports import step_messages
from gateway.billing.permits import PermitBook
from gateway.billing.ports import PaidApplication
from gateway.clock import system_clock
from gateway.decision.ports import DecisionSubject
from gateway.payments import Confirmation, Money, PaymentOrder, PaymentReference, settle
from gateway.payments.settlement import Outcome
from gateway.storage.db import make_engine
from gateway.storage.omc_money import StoredMoneyViews
from gateway.storage.outbox import OutboxStore
from gateway.storage.payments import PaymentStore
from gateway.storage.permits import PermitStore
from gateway.storage.versions import VersionStore
from gateway.trail.messages import Message
from tests.payments.permit_rows import TODAY, lodge_citing, vet_permit
from tests.unit.payments.factories import TREASURY, charge


@dataclass
class Stores:
    outbox: OutboxStore
    payments: PaymentStore
    versions: VersionStore
    permits: PermitBook

    def kinds(self, application_id: str) -> list[str]:
        return [m.kind for m in self.outbox.messages(application_id)]


@pytest.fixture
def stores(database_url: str) -> Iterator[Stores]:
    engine = make_engine(database_url)
    yield Stores(
        OutboxStore(engine, system_clock),
        PaymentStore(engine, system_clock),
        VersionStore(engine, system_clock),
        PermitBook(PermitStore(engine, system_clock), system_clock),
    )
    engine.dispose()


def issue(stores: Stores, application_id: str) -> PaymentOrder:
    """An order of 150 000.00 + 19 000.00 KZT for the application."""

    def make(reference: PaymentReference) -> tuple[PaymentOrder, str]:
        order = PaymentOrder(
            reference=reference, application_id=application_id,
            payer=vet_permit().holder, issued_on=TODAY, payee_account=TREASURY,
            lines=(charge(amount="150000.00"), charge(amount="19000.00")),
        )  # fmt: skip
        return order, "signature"

    def no_messages(order: PaymentOrder, signature: str) -> Sequence[Message]:
        return []

    return stores.payments.issue(application_id, TODAY, make, no_messages).order


def pay(stores: Stores, order: PaymentOrder, amount: str, payment_id: str) -> Outcome:
    confirmation = Confirmation(
        payment_id, str(order.reference), Money.parse(amount, "KZT"), "210540012341", TODAY
    )
    return stores.payments.settle_payment(confirmation, settle, lambda _: []).outcome


def withdraw(stores: Stores, application_id: str) -> None:
    def sign(subject: DecisionSubject, before: object, note: str) -> bytes:
        return f"<Decision verdict='withdrawn' application='{subject.application_id}'/>".encode()

    stores.versions.withdraw(application_id, "trader", "withdrawn by the trader", [], sign)


def owed(stores: Stores) -> dict[str, int]:
    return {
        r.settlement.confirmation.payment_id: r.settlement.refund_owed.minor
        for r in stores.payments.refunds_owed()
    }


def test_money_paid_before_a_withdrawal_is_owed_back_in_full(stores: Stores) -> None:
    lodge_citing(stores.outbox, "APP-1", "1")
    order = issue(stores, "APP-1")
    assert pay(stores, order, "100000.00", "P-1") is Outcome.HELD
    assert pay(stores, order, "69000.00", "P-2") is Outcome.PAID
    assert owed(stores) == {}

    withdraw(stores, "APP-1")

    assert owed(stores) == {"P-1": 10_000_000, "P-2": 6_900_000}
    reasons = {r.settlement.reason for r in stores.payments.refunds_owed()}
    assert reasons == {"payment-application-withdrawn"}
    assert stores.kinds("APP-1").count("payment-refund-owed") == 1
    omc = StoredMoneyViews(stores.payments.engine, system_clock).refunds_owed()
    assert {(r.payment_id, r.refund_minor, r.reason) for r in omc} == {
        ("P-1", 10_000_000, "payment-application-withdrawn"),
        ("P-2", 6_900_000, "payment-application-withdrawn"),
    }
    # A payment arriving after the withdrawal is refused and owed back whole (as before).
    assert pay(stores, order, "5.00", "P-3") is Outcome.REFUSED
    assert owed(stores) == {"P-1": 10_000_000, "P-2": 6_900_000, "P-3": 500}


def test_an_overpayment_already_owed_in_part_is_owed_back_whole(stores: Stores) -> None:
    lodge_citing(stores.outbox, "APP-1", "1")
    order = issue(stores, "APP-1")
    assert pay(stores, order, "170000.00", "P-1") is Outcome.PAID
    assert owed(stores) == {"P-1": 100_000}  # the 1 000.00 paid beyond the total

    withdraw(stores, "APP-1")

    assert owed(stores) == {"P-1": 17_000_000}


def test_withdrawing_an_unpaid_application_owes_nothing(stores: Stores) -> None:
    lodge_citing(stores.outbox, "APP-1", "1")
    issue(stores, "APP-1")
    lodge_citing(stores.outbox, "APP-2", "1")  # no order issued at all

    withdraw(stores, "APP-1")
    withdraw(stores, "APP-2")

    assert owed(stores) == {}
    assert "payment-refund-owed" not in stores.kinds("APP-1") + stores.kinds("APP-2")


def test_a_withdrawal_credits_back_what_the_release_wrote_off(stores: Stores) -> None:
    stores.permits.grant(vet_permit(granted="10"), None)
    lodge_citing(stores.outbox, "APP-1", "6.125")
    lodge_citing(stores.outbox, "APP-2", "3.5")
    stores.permits.write_off("APP-1")  # both released (the write-off of a release)
    stores.permits.write_off("APP-2")
    assert stores.permits.permit("VET-1").balance.value == Decimal("0.375")

    withdraw(stores, "APP-1")

    permit = stores.permits.permit("VET-1")
    assert permit.balance.value == Decimal("6.5")
    assert permit.written_off.value == Decimal("3.5")
    assert permit.granted.value == permit.balance.value + permit.written_off.value
    credited = {
        w.application_id: w.credited_back_at is not None
        for w in stores.permits.permits.write_offs("VET-1")
    }
    assert credited == {"APP-1": True, "APP-2": False}
    assert stores.kinds("APP-1").count("permit-credit-back") == 1


def test_withdrawing_an_application_with_nothing_written_off_changes_no_permit(
    stores: Stores,
) -> None:
    stores.permits.grant(vet_permit(granted="10"), None)
    lodge_citing(stores.outbox, "APP-1", "4")  # cites, never released

    withdraw(stores, "APP-1")

    assert stores.permits.permit("VET-1").balance.value == Decimal("10")
    assert "permit-credit-back" not in stores.kinds("APP-1")


def test_a_withdrawal_racing_the_payment_in_full_owes_it_back_either_way(stores: Stores) -> None:
    # The payment releases (a decision is signed): it takes the order's lock, then the
    # application's; the withdrawal takes them in the same order, so neither deadlocks, and
    # whichever commits second sees the other.
    stores.payments.release_decision = lambda paid: b"<Decision verdict='released'/>"
    lodge_citing(stores.outbox, "APP-1", "1")
    order = issue(stores, "APP-1")
    start = threading.Barrier(2)
    failures: list[BaseException] = []

    def run(step: Callable[[], object]) -> None:
        start.wait()
        try:
            step()
        except BaseException as exc:  # reported below, in the test's thread
            failures.append(exc)

    threads = [
        threading.Thread(target=run, args=(lambda: pay(stores, order, "169000.00", "P-1"),)),
        threading.Thread(target=run, args=(lambda: withdraw(stores, "APP-1"),)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert failures == []
    assert owed(stores) == {"P-1": 16_900_000}


def test_a_withdrawal_releases_a_paid_application_held_for_the_balance(stores: Stores) -> None:
    def sign(paid: PaidApplication) -> bytes:
        return f"<Decision released='{paid.id}' paid='{paid.payment is not None}'/>".encode()

    stores.payments.release_decision = stores.versions.release_decision = sign
    stores.payments.permit_steps = step_messages
    stores.permits.grant(vet_permit(granted="10"), None)
    lodge_citing(stores.outbox, "APP-1", "6")
    lodge_citing(stores.outbox, "APP-2", "6")
    stores.permits.write_off("APP-1")
    assert pay(stores, issue(stores, "APP-2"), "169000.00", "P-2") is Outcome.PAID
    assert [h.code for h in stores.permits.holds("APP-2")] == ["permit-balance-exceeded"]

    withdraw(stores, "APP-1")  # 6 t come back: APP-2, paid and held, draws them and is released

    assert stores.permits.holds("APP-2") == []
    assert stores.permits.permit("VET-1").balance.value == Decimal("4")
    app = stores.outbox.application("APP-2")
    assert app is not None and app.verdict == "released"
    assert stores.outbox.decision_xml("APP-2") == b"<Decision released='APP-2' paid='True'/>"
    assert "permit-hold-cleared" in stores.kinds("APP-2")
