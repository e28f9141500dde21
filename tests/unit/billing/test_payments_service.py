"""The payment service on the in-memory fake: orders issued once, confirmations settled once,
release when paid (no database, no network)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from gateway.billing.errors import NothingToPay, PaymentOrderNotReady, PaymentsNotConfigured
from gateway.billing.ports import PayableApplication
from gateway.billing.service import Payments
from gateway.payments.errors import ConflictingConfirmation
from gateway.payments.money import Money
from gateway.payments.settlement import Confirmation
from gateway.pki.dev import DevPki
from gateway.trust.xmlsig import SigningIdentity
from tests.fakes.payments import FakePaymentOrders

NOW = dt.datetime(2026, 12, 7, 4, 0, tzinfo=dt.UTC)
ACCOUNT = "KZ909980000000012345"
CHARGES = (
    {"kind": "customs-duty", "amount": 792_000_00, "currency": "KZT",
     "legalBasis": "tariff", "due": "2026-12-17", "kbk": "106104"},
    {"kind": "agency-fee", "amount": 19_000_00, "currency": "KZT",
     "legalBasis": "decree No. 171", "due": "2026-12-17", "kbk": "106201"},
)  # fmt: skip


def _app(verdict: str | None = "released", charges=CHARGES) -> PayableApplication:  # type: ignore[no-untyped-def]
    return PayableApplication(
        "NSW-1", "210540012341", verdict, NOW if verdict else None, None,
        (("customs", tuple(charges)), ("transport", ())),
    )  # fmt: skip


@pytest.fixture
def service(pki: DevPki) -> tuple[Payments, FakePaymentOrders]:
    fake = FakePaymentOrders(lambda: NOW)
    identity = SigningIdentity.from_files(pki.key_path("gateway"), pki.cert_path("gateway"))
    return Payments(fake, identity, lambda: NOW, payee_account=ACCOUNT), fake


def _paid(reference: str, minor: int, payment_id: str = "TRY-20261207-000001") -> Confirmation:
    return Confirmation(
        payment_id, reference, Money(minor, "KZT"), "210540012341", dt.date(2026, 12, 7)
    )


def test_one_order_per_application_with_a_reference_of_the_day(service) -> None:  # type: ignore[no-untyped-def]
    payments, fake = service
    fake.applications["NSW-1"] = _app()
    first = payments.order("NSW-1")
    assert payments.order("NSW-1") == first
    assert str(first.order.reference).endswith("NSW20261207000001")
    assert first.order.total == Money(811_000_00, "KZT")
    assert [m.kind for _, m in fake.trail] == ["payment-order"]


def test_no_order_before_a_grant_nor_without_charges(service) -> None:  # type: ignore[no-untyped-def]
    payments, fake = service
    fake.applications["NSW-1"] = _app(verdict=None)
    with pytest.raises(PaymentOrderNotReady, match="once every agency has granted"):
        payments.order("NSW-1")
    fake.applications["NSW-1"] = _app(verdict="refused")
    with pytest.raises(PaymentOrderNotReady):
        payments.order("NSW-1")
    fake.applications["NSW-1"] = _app(charges=())
    with pytest.raises(NothingToPay):
        payments.order("NSW-1")


def test_no_payee_account_no_order(service) -> None:  # type: ignore[no-untyped-def]
    payments, fake = service
    fake.applications["NSW-1"] = _app()
    payments.payee_account = ""
    with pytest.raises(PaymentsNotConfigured, match="NSW_PAYEE_ACCOUNT"):
        payments.order("NSW-1")


def test_a_confirmation_settles_once_and_pays_releases(service) -> None:  # type: ignore[no-untyped-def]
    payments, fake = service
    fake.applications["NSW-1"] = _app()
    reference = str(payments.order("NSW-1").order.reference)
    settled = payments.confirm(_paid(reference, 811_000_00), b"{}")
    assert settled.reason == "payment-paid" and not settled.duplicate
    again = payments.confirm(_paid(reference, 811_000_00), b"{}")
    assert again.duplicate and len(fake.recorded) == 1
    assert fake.applications["NSW-1"].released_at == NOW
    with pytest.raises(ConflictingConfirmation):
        payments.confirm(_paid(reference, 1), b"{}")
    assert [m.kind for _, m in fake.trail].count("payment-settlement") == 1


def test_a_payment_for_an_unknown_reference_is_refused_and_owed_back(service) -> None:  # type: ignore[no-untyped-def]
    payments, fake = service
    settled = payments.confirm(_paid("RF18539007547034", 500), b"{}")
    assert settled.reason == "payment-unknown-reference"
    assert [r.settlement.refund_owed for r in fake.refunds_owed()] == [Money(500, "KZT")]


VET_FEE = {"kind": "agency-fee", "amount": 8_500_00, "currency": "KZT",
           "legalBasis": "veterinary law", "due": "2026-12-17"}  # fmt: skip


def _reassessed(fake: FakePaymentOrders, *charges: dict[str, object]) -> None:
    """An amendment decided again: customs' charges, and the veterinary fee it now assessed."""
    app = fake.applications["NSW-1"]
    fake.applications["NSW-1"] = replace(
        app, charges=(("customs", CHARGES), ("veterinary", tuple(charges)))
    )


def test_a_reassessment_supersedes_the_order_crediting_what_was_paid(service) -> None:  # type: ignore[no-untyped-def]
    payments, fake = service
    fake.applications["NSW-1"] = _app(verdict="granted")
    first = payments.order("NSW-1")
    old = str(first.order.reference)
    assert payments.confirm(_paid(old, 300_000_00, "P-1"), b"{}").reason == "payment-partial"

    # Being decided again: the order in force stands.
    fake.applications["NSW-1"] = replace(fake.applications["NSW-1"], verdict=None)
    assert payments.order("NSW-1").order.reference == first.order.reference
    # Decided again with the same charges: the same order.
    fake.applications["NSW-1"] = replace(fake.applications["NSW-1"], verdict="granted")
    assert payments.order("NSW-1") == payments.order("NSW-1")
    assert payments.order("NSW-1").order.reference == first.order.reference

    # Decided again with a new fee: a new order supersedes it, credited with what was paid.
    _reassessed(fake, VET_FEE)
    new = payments.order("NSW-1")
    assert new.order.reference != first.order.reference
    assert str(new.order.supersedes) == old and new.order.credited == 300_000_00
    assert new.order.total == Money(819_500_00, "KZT")
    assert new.order.balance_due == Money(519_500_00, "KZT")
    document = new.order.as_json()
    assert (document["supersedes"], document["credited"], document["balanceDue"]) == (
        old, 300_000_00, 519_500_00,
    )  # fmt: skip
    assert fake.orders[old].status == "superseded"
    assert payments.order("NSW-1") == new  # issued once
    kinds = [m.kind for _, m in fake.trail]
    assert kinds.count("payment-order") == 2 and kinds.count("payment-order-superseded") == 1

    # A payment to the old reference is refused and owed back; the balance pays the new one.
    late = payments.confirm(_paid(old, 1_000_00, "P-2"), b"{}")
    assert late.reason == "payment-order-superseded" and late.refund_owed == Money(1_000_00, "KZT")
    paid = payments.confirm(_paid(str(new.order.reference), 519_500_00, "P-3"), b"{}")
    assert paid.reason == "payment-paid" and paid.outstanding == Money(0, "KZT")
    assert fake.applications["NSW-1"].released_at == NOW


def test_a_reassessment_below_what_was_paid_is_paid_at_once_and_the_rest_owed_back(service) -> None:  # type: ignore[no-untyped-def]
    payments, fake = service
    fake.applications["NSW-1"] = _app(verdict="granted")
    old = str(payments.order("NSW-1").order.reference)
    payments.confirm(_paid(old, 811_000_00, "P-1"), b"{}")
    fake.applications["NSW-1"] = replace(
        fake.applications["NSW-1"], verdict="granted", charges=(("customs", CHARGES[1:]),)
    )
    new = payments.order("NSW-1")
    assert new.status == "paid" and new.order.credited == 19_000_00
    assert new.order.balance_due == Money(0, "KZT")
    (superseded,) = [m for _, m in fake.trail if m.kind == "payment-order-superseded"]
    assert b'"refundOwed":79200000' in superseded.body
