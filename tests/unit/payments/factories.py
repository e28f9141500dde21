"""Factories for payment and permit values: a realistic order unless a test says otherwise."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from hypothesis import settings

from gateway.domain.identifiers import Bin, HsCode
from gateway.payments import (
    ChargeKind,
    ChargeLine,
    Confirmation,
    Iban,
    Money,
    PaymentOrder,
    PaymentReference,
    Permit,
    Quantity,
)

DAY = dt.date(2026, 12, 7)
STEPPE = Bin("210540012341")  # Steppe Agro LLP in the dev PKI
ALTYN = Bin("190340025677")
TREASURY = Iban.make("998", "0000000012345")  # invented: bank code 998 (reference open question 6)


def kzt(amount: str) -> Money:
    return Money.parse(amount, "KZT")


def charge(
    kind: ChargeKind = ChargeKind.CUSTOMS_DUTY,
    amount: str = "100000.00",
    beneficiary: str = "customs",
    **extra: Any,
) -> ChargeLine:
    basis = {
        ChargeKind.CUSTOMS_DUTY: "EAEU Common Customs Tariff",
        ChargeKind.VAT: "Tax Code of the RK: VAT on imports",
        ChargeKind.EXCISE: "Tax Code of the RK: excise",
        ChargeKind.AGENCY_FEE: "Government Decree No. 171 of 05.04.2018",
    }[kind]
    fields: dict[str, Any] = {"legal_basis": basis, "due": DAY + dt.timedelta(days=10)}
    fields.update(extra)
    return ChargeLine(kind, kzt(amount), beneficiary=beneficiary, **fields)


def order(*lines: ChargeLine, serial: int = 1, application_id: str = "APP-1") -> PaymentOrder:
    return PaymentOrder(
        reference=PaymentReference.issue(DAY, serial),
        application_id=application_id,
        payer=STEPPE,
        issued_on=DAY,
        payee_account=TREASURY,
        lines=lines
        or (
            charge(ChargeKind.CUSTOMS_DUTY, "150000.00"),
            charge(ChargeKind.VAT, "216000.00"),
            charge(ChargeKind.AGENCY_FEE, "19000.00"),
            charge(ChargeKind.AGENCY_FEE, "5000.00", beneficiary="veterinary"),
        ),
    )


def paid(
    the_order: PaymentOrder, amount: str, payment_id: str = "P1", currency: str = "KZT"
) -> Confirmation:
    return Confirmation(
        payment_id, str(the_order.reference), Money.parse(amount, currency), "210540012341", DAY
    )


def permit(granted: str = "1000", unit: str = "kg", **extra: Any) -> Permit:
    fields: dict[str, Any] = {
        "permit_id": "KZ-VET-20261207-000001",
        "agency": "veterinary",
        "holder": STEPPE,
        "hs_code": HsCode("0808108000"),
        "description": "fresh apples",
        "granted": Quantity(Decimal(granted), unit),
        "valid_from": DAY,
        "valid_until": DAY + dt.timedelta(days=30),
    }
    fields.update(extra)
    return Permit(**fields)


def qty(value: str, unit: str = "kg") -> Quantity:
    return Quantity(Decimal(value), unit)


# Property tests time nothing: a loaded machine must not fail them on hypothesis's 200 ms deadline.
PROPERTY = settings(deadline=None)
