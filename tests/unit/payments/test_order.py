"""Charge lines and the payment order: KBKs, one currency, total = breakdown, canonical bytes."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.errors import InvalidValue
from gateway.payments import ChargeKind, ChargeLine, Money, canonical_json
from gateway.payments.errors import InvalidCharge, InvalidPaymentOrder
from tests.unit.payments.factories import DAY, PROPERTY, charge, kzt, order


def test_confirmed_kbks_are_filled_in_and_unconfirmed_ones_left_empty() -> None:
    assert charge(ChargeKind.CUSTOMS_DUTY).kbk == "106104"
    assert charge(ChargeKind.VAT).kbk == "105102"
    assert charge(ChargeKind.AGENCY_FEE, beneficiary="customs").kbk == "106201"
    assert charge(ChargeKind.EXCISE).kbk is None  # reference row 11: not confirmed
    assert charge(ChargeKind.AGENCY_FEE, beneficiary="veterinary").kbk is None


def test_a_confirmed_kind_under_another_kbk_is_refused() -> None:
    with pytest.raises(InvalidCharge, match="credited to KBK 105102, not 105101"):
        charge(ChargeKind.VAT, kbk="105101")


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"amount": "0"}, "positive amount"),
        ({"legal_basis": "  "}, "legal basis"),
        ({"beneficiary": "Customs Office"}, "agency code"),
        ({"kind": ChargeKind.EXCISE, "kbk": "12345"}, "6 digits"),
        ({"due": dt.datetime(2026, 12, 17, 12, 0)}, "a day, not a moment"),
    ],
)
def test_a_bad_charge_line_is_refused_saying_why(fields: dict[str, object], match: str) -> None:
    with pytest.raises(InvalidCharge, match=match):
        charge(**fields)  # type: ignore[arg-type]


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(InvalidCharge, match="not one of"):
        ChargeLine("penalty", kzt("1"), "x", DAY, "customs")  # type: ignore[arg-type]


def test_the_total_is_the_sum_of_the_lines_and_the_breakdown_adds_up() -> None:
    the_order = order()
    assert the_order.total == kzt("390000.00")
    assert the_order.breakdown() == {"veterinary": kzt("5000"), "customs": kzt("385000")}
    assert sum(m.minor for m in the_order.breakdown().values()) == the_order.total.minor


def test_one_order_is_paid_in_one_currency() -> None:
    usd = dataclasses.replace(charge(), amount=Money.parse("10", "USD"))
    with pytest.raises(InvalidPaymentOrder, match="one currency"):
        order(charge(), usd)


def test_an_order_with_nothing_to_pay_is_refused() -> None:
    with pytest.raises(InvalidPaymentOrder, match="1 to 200 charge lines"):
        dataclasses.replace(order(), lines=())


def test_the_canonical_bytes_are_sorted_compact_utf8_json_with_integer_amounts() -> None:
    data = order().canonical_bytes()
    value = json.loads(data)
    assert data == json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
    assert value["total"] == 39000000 and value["currency"] == "KZT"
    assert value["paymentReference"].endswith("NSW20261207000001")
    assert [line["kbk"] for line in value["lines"]] == ["106104", "105102", "106201", None]


def test_the_same_order_always_gives_the_same_bytes_and_any_change_other_bytes() -> None:
    assert order().canonical_bytes() == order().canonical_bytes()
    assert order(serial=2).canonical_bytes() != order().canonical_bytes()
    cheaper = order(charge(amount="99999.99"))
    assert cheaper.canonical_bytes() != order(charge(amount="100000.00")).canonical_bytes()


def test_canonical_json_refuses_floats() -> None:
    with pytest.raises(InvalidValue, match="no floats"):
        canonical_json({"amount": 1.5})


@PROPERTY
@given(st.lists(st.integers(1, 10**12), min_size=1, max_size=20))
def test_total_equals_breakdown_for_any_lines(amounts: list[int]) -> None:
    agencies = ["customs", "veterinary", "health"]
    lines = [
        dataclasses.replace(
            charge(ChargeKind.EXCISE, beneficiary=agencies[i % 3]), amount=Money(m, "KZT")
        )
        for i, m in enumerate(amounts)
    ]
    the_order = order(*lines)
    assert the_order.total.minor == sum(amounts)
    assert sum(m.minor for m in the_order.breakdown().values()) == sum(amounts)
