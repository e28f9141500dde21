"""Reconciling the treasury's daily statement with what the gateway recorded."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from gateway.payments import Confirmation, DifferenceKind, Money, Statement, reconcile
from gateway.payments.errors import InvalidStatement
from tests.unit.payments.factories import DAY, kzt, order, paid

A, B = order(serial=1), order(serial=2)
ORDERS = {str(A.reference), str(B.reference)}
RECORDED = [paid(A, "390000.00", "T-1"), paid(B, "100.00", "T-2")]


def kinds(
    statement_lines: list[Confirmation], recorded: list[Confirmation] = RECORDED
) -> list[tuple[str, str]]:
    differences = reconcile(Statement(DAY, tuple(statement_lines)), recorded, ORDERS)
    return [(d.kind, d.payment_id) for d in differences]


def test_a_statement_that_matches_has_no_differences() -> None:
    assert kinds(list(RECORDED)) == []


def test_every_kind_of_difference_is_listed_once_sorted_by_payment() -> None:
    statement = [
        dataclasses.replace(RECORDED[0], amount=kzt("389999.99")),  # T-1 amount
        # T-2 missing from the statement
        paid(A, "50.00", "T-3"),  # ours, never recorded: extra
        Confirmation("T-4", "RF00NOTOURS", kzt("7.00"), "210540012341", DAY),  # unknown
    ]
    assert kinds(statement) == [
        (DifferenceKind.AMOUNT_MISMATCH, "T-1"),
        (DifferenceKind.MISSING, "T-2"),
        (DifferenceKind.EXTRA, "T-3"),
        (DifferenceKind.UNKNOWN_REFERENCE, "T-4"),
    ]


def test_amount_mismatch_states_both_amounts_and_the_difference() -> None:
    statement = [dataclasses.replace(RECORDED[0], amount=kzt("389999.99")), RECORDED[1]]
    (difference,) = reconcile(Statement(DAY, tuple(statement)), RECORDED, ORDERS)
    assert (difference.expected, difference.actual) == (kzt("390000.00"), kzt("389999.99"))
    assert "difference -0.01 KZT" in difference.detail


def test_a_currency_mismatch_is_listed_alone_and_a_reference_mismatch_too() -> None:
    statement = [
        dataclasses.replace(RECORDED[0], amount=Money.parse("390000.00", "USD")),
        dataclasses.replace(RECORDED[1], reference=str(A.reference)),
    ]
    assert kinds(statement) == [
        (DifferenceKind.CURRENCY_MISMATCH, "T-1"),
        (DifferenceKind.REFERENCE_MISMATCH, "T-2"),
    ]


def test_payments_recorded_on_other_days_are_not_expected_on_this_statement() -> None:
    tomorrow = dataclasses.replace(RECORDED[1], paid_on=DAY + dt.timedelta(days=1))
    assert kinds([RECORDED[0]], [RECORDED[0], tomorrow]) == []


def test_a_statement_listing_one_payment_twice_or_another_day_is_refused() -> None:
    with pytest.raises(InvalidStatement, match="more than once"):
        Statement(DAY, (RECORDED[0], RECORDED[0]))
    with pytest.raises(InvalidStatement, match="of another day"):
        Statement(DAY + dt.timedelta(days=1), (RECORDED[0],))
