"""What a treasury confirmation does to an order: paid, held, refund owed, refused, idempotent."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.payments import ApplicationState, Money, Outcome, Settlement, settle
from gateway.payments.errors import ConflictingConfirmation
from gateway.payments.settlement import (
    OVERPAID,
    PAID_EXACTLY,
    PARTIAL,
    UNKNOWN_REFERENCE,
    WITHDRAWN,
    WRONG_CURRENCY,
)
from tests.unit.payments.factories import PROPERTY, charge, kzt, order, paid

OPEN = ApplicationState.OPEN
ORDER = order(charge(amount="1000.00"))  # one line: 1000.00 KZT


def test_the_exact_amount_pays_the_order() -> None:
    result = settle(ORDER, OPEN, [], paid(ORDER, "1000.00"))
    assert (result.outcome, result.reason, result.counted) == (Outcome.PAID, PAID_EXACTLY, True)
    assert result.outstanding == kzt("0") and result.refund_owed == kzt("0")


def test_a_partial_payment_holds_the_goods_stating_what_is_outstanding() -> None:
    result = settle(ORDER, OPEN, [], paid(ORDER, "600.00"))
    assert (result.outcome, result.reason) == (Outcome.HELD, PARTIAL)
    assert result.outstanding == kzt("400.00")
    assert "400.00 KZT is outstanding" in result.detail


def test_the_rest_paid_later_pays_the_order() -> None:
    first = settle(ORDER, OPEN, [], paid(ORDER, "600.00", "P1"))
    second = settle(ORDER, OPEN, [first], paid(ORDER, "400.00", "P2"))
    assert (second.outcome, second.received) == (Outcome.PAID, kzt("1000.00"))


def test_an_overpayment_pays_and_owes_the_excess_back() -> None:
    result = settle(ORDER, OPEN, [], paid(ORDER, "1250.50"))
    assert (result.outcome, result.reason) == (Outcome.PAID, OVERPAID)
    assert result.refund_owed == kzt("250.50")


def test_a_second_payment_after_the_order_is_paid_is_owed_back_whole() -> None:
    first = settle(ORDER, OPEN, [], paid(ORDER, "1000.00", "P1"))
    again = settle(ORDER, OPEN, [first], paid(ORDER, "1000.00", "P2"))
    assert (again.reason, again.refund_owed) == (OVERPAID, kzt("1000.00"))


def test_a_payment_for_no_order_is_refused_and_owed_back() -> None:
    result = settle(None, OPEN, [], paid(ORDER, "1000.00"))
    assert (result.outcome, result.reason, result.counted) == (
        Outcome.REFUSED, UNKNOWN_REFERENCE, False,
    )  # fmt: skip
    assert result.refund_owed == kzt("1000.00")


def test_a_payment_for_a_withdrawn_application_is_refused_and_owed_back() -> None:
    result = settle(ORDER, ApplicationState.WITHDRAWN, [], paid(ORDER, "1000.00"))
    assert (result.outcome, result.reason, result.refund_owed) == (
        Outcome.REFUSED, WITHDRAWN, kzt("1000.00"),
    )  # fmt: skip


def test_a_payment_in_another_currency_does_not_count() -> None:
    result = settle(ORDER, OPEN, [], paid(ORDER, "10.00", currency="USD"))
    assert (result.outcome, result.reason, result.counted) == (
        Outcome.REFUSED, WRONG_CURRENCY, False,
    )  # fmt: skip
    assert result.outstanding == kzt("1000.00")


def test_the_same_confirmation_twice_settles_as_the_first_time() -> None:
    first = settle(ORDER, OPEN, [], paid(ORDER, "600.00"))
    again = settle(ORDER, OPEN, [first], paid(ORDER, "600.00"))
    assert again == dataclasses.replace(first, duplicate=True)
    # Even after the application was withdrawn: the first answer stands, nothing counts twice.
    later = settle(ORDER, ApplicationState.WITHDRAWN, [first], paid(ORDER, "600.00"))
    assert later.outcome is Outcome.HELD and later.duplicate


def test_one_payment_id_with_another_amount_is_refused_whole() -> None:
    first = settle(ORDER, OPEN, [], paid(ORDER, "600.00"))
    with pytest.raises(ConflictingConfirmation, match=r"confirmed before as 600\.00 KZT"):
        settle(ORDER, OPEN, [first], paid(ORDER, "900.00"))


@PROPERTY
@given(st.lists(st.tuples(st.integers(1, 2000_00), st.booleans()), max_size=12))
def test_received_outstanding_and_refunds_always_balance(payments: list[tuple[int, bool]]) -> None:
    """Any run of payments (some sent twice): what counts is each payment once, and
    received = total - outstanding + the excess owed back."""
    recorded: list[Settlement] = []
    for n, (minor, repeat) in enumerate(payments):
        confirmation = dataclasses.replace(paid(ORDER, "0", f"P{n}"), amount=Money(minor, "KZT"))
        for _ in range(2 if repeat else 1):
            result = settle(ORDER, OPEN, recorded, confirmation)
            if not result.duplicate:
                recorded.append(result)
    counted = sum(s.confirmation.amount.minor for s in recorded if s.counted)
    assert counted == sum(m for m, _ in payments)
    if recorded:
        last = recorded[-1]
        excess = sum(s.refund_owed.minor for s in recorded)
        assert last.received.minor == counted
        assert counted == ORDER.total.minor - last.outstanding.minor + excess


def test_only_what_a_payment_adds_beyond_the_total_is_owed_back_for_it() -> None:
    first = settle(ORDER, OPEN, [], paid(ORDER, "600.00", "P1"))
    second = settle(ORDER, OPEN, [first], paid(ORDER, "600.00", "P2"))
    assert (second.reason, second.refund_owed) == (OVERPAID, kzt("200.00"))
