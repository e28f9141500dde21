"""The payment service on the in-memory fake: orders issued once, confirmations settled once,
release when paid (no database, no network)."""

from __future__ import annotations

import datetime as dt

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
