"""Money in minor units: exact parsing, no floats, one currency at a time, the rounding rules."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.payments import Money, allocate, apply_rate
from gateway.payments.errors import CurrencyMismatch, InvalidMoney
from gateway.payments.money import MAX_MINOR
from tests.unit.payments.factories import PROPERTY, kzt

amounts = st.integers(min_value=0, max_value=10**15)
rates = st.decimals(min_value=0, max_value=100, places=3, allow_nan=False, allow_infinity=False)


def test_an_amount_is_parsed_exactly_into_tiyn() -> None:
    assert kzt("1234.56") == Money(123456, "KZT")
    assert kzt("19000") == Money(1900000, "KZT")
    assert Money.parse(Decimal("0.01"), "KZT").minor == 1
    assert str(Money(123456, "KZT")) == "1234.56 KZT"


def test_more_decimals_than_the_currency_has_is_refused_not_rounded() -> None:
    with pytest.raises(InvalidMoney, match="refused, not rounded"):
        kzt("10.005")


@pytest.mark.parametrize("bad", [0.1, 12.5, True])
def test_floats_and_booleans_are_never_amounts(bad: object) -> None:
    with pytest.raises(InvalidMoney, match="not a decimal"):
        Money.parse(bad, "KZT")
    with pytest.raises(InvalidMoney, match="whole number of minor units"):
        Money(bad, "KZT")  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["", "1e3", "12,50", " 1", "NaN", "1" * 25])
def test_text_that_is_not_a_plain_decimal_is_refused(bad: str) -> None:
    with pytest.raises(InvalidMoney):
        Money.parse(bad, "KZT")


def test_an_unknown_currency_and_a_huge_amount_are_refused() -> None:
    with pytest.raises(InvalidMoney, match="ISO 4217"):
        Money(1, "XYZ")
    with pytest.raises(InvalidMoney, match="beyond"):
        Money(MAX_MINOR + 1, "KZT")


def test_amounts_of_two_currencies_do_not_mix() -> None:
    with pytest.raises(CurrencyMismatch, match="different currencies"):
        _ = kzt("1") + Money(100, "USD")
    with pytest.raises(CurrencyMismatch):
        _ = kzt("1") < Money(100, "USD")


@PROPERTY
@given(amounts)
def test_the_written_form_parses_back_to_the_same_amount(minor: int) -> None:
    money = Money(minor, "KZT")
    assert Money.parse(str(money).split()[0], "KZT") == money


def test_a_rate_rounds_once_half_up_to_the_tiyn() -> None:
    assert apply_rate(kzt("100.01"), "12") == kzt("12.00")  # 12.0012
    assert apply_rate(Money(1, "KZT"), "50") == Money(1, "KZT")  # 0.5 tiyn -> 1
    assert apply_rate(Money(3, "KZT"), "50") == Money(2, "KZT")  # 1.5 tiyn -> 2
    assert apply_rate(kzt("1000.00"), "6.955") == kzt("69.55")


def test_whole_tenge_rounding_is_an_explicit_choice() -> None:
    assert apply_rate(kzt("1000.50"), "12", whole_units=True) == kzt("120")  # 120.06
    assert apply_rate(kzt("1004.17"), "12", whole_units=True) == kzt("121")  # 120.5004


def test_a_float_rate_is_refused() -> None:
    with pytest.raises(InvalidMoney, match="not a decimal"):
        apply_rate(kzt("100"), 12.0)


@PROPERTY
@given(amounts, rates)
def test_a_computed_amount_is_within_half_a_tiyn_of_the_exact_value(
    minor: int, rate: Decimal
) -> None:
    exact = Decimal(minor) * rate / 100
    assert abs(Decimal(apply_rate(Money(minor, "KZT"), rate).minor) - exact) <= Decimal("0.5")


# EAEU distribution normatives of import duty (reference row 42, C): AM, BY, KZ, KG, RU.
NORMATIVES = ["1.220", "4.860", "6.955", "1.900", "85.065"]


def test_import_duty_splits_by_the_eaeu_normatives_to_the_tiyn() -> None:
    shares = allocate(kzt("1000000.01"), NORMATIVES)
    assert [str(s) for s in shares] == [
        "12200.00 KZT", "48600.00 KZT", "69550.00 KZT", "19000.00 KZT", "850650.01 KZT",
    ]  # fmt: skip


@PROPERTY
@given(amounts, st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=8))
def test_shares_always_add_up_to_the_amount(minor: int, weights: list[int]) -> None:
    if sum(weights) == 0:
        weights = [*weights, 1]
    shares = allocate(Money(minor, "KZT"), weights)
    assert sum(s.minor for s in shares) == minor
    assert all(s.minor >= 0 for s in shares)
