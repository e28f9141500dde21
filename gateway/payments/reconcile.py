"""Reconciliation: the treasury's signed daily statement against what the gateway recorded.

`reconcile(statement, recorded, orders)` lists every difference, each once, sorted by payment id:

- missing: the gateway recorded a payment on that day that the statement does not list;
- extra: the statement lists a payment for one of our orders that the gateway never recorded
  (a callback lost, or a payment the treasury took without telling us);
- unknown-reference: the statement lists a payment whose reference is no order of ours;
- reference-mismatch, currency-mismatch, amount-mismatch: one payment id, two versions
  (checked in that order; a currency difference makes the amounts incomparable, so it is listed
  alone).

An empty list means the day reconciles.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from enum import StrEnum

from gateway.i18n.text import Text
from gateway.payments.errors import InvalidStatement
from gateway.payments.money import Money
from gateway.payments.settlement import Confirmation


class DifferenceKind(StrEnum):
    MISSING = "missing"
    EXTRA = "extra"
    UNKNOWN_REFERENCE = "unknown-reference"
    REFERENCE_MISMATCH = "reference-mismatch"
    CURRENCY_MISMATCH = "currency-mismatch"
    AMOUNT_MISMATCH = "amount-mismatch"


@dataclass(frozen=True)
class Statement:
    """A treasury's statement of one day: every payment credited that day (as confirmations)."""

    day: dt.date
    lines: tuple[Confirmation, ...]

    def __post_init__(self) -> None:
        ids = [line.payment_id for line in self.lines]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise InvalidStatement(
                Text(
                    "The statement of %(day)s lists payment %(twice)s more than once; a statement "
                    "lists each payment once. Ask the treasury for a corrected statement.",
                    day=self.day,
                    twice=twice[0],
                )
            )
        other_days = [line.payment_id for line in self.lines if line.paid_on != self.day]
        if other_days:
            raise InvalidStatement(
                Text(
                    "The statement of %(day)s lists payment %(other_days)s of another day.",
                    day=self.day,
                    other_days=other_days[0],
                )
            )


@dataclass(frozen=True)
class Difference:
    """One difference: `expected` is what the gateway recorded, `actual` what the statement says."""

    kind: DifferenceKind
    payment_id: str
    reference: str
    expected: Money | None
    actual: Money | None
    detail: str


def reconcile(
    statement: Statement, recorded: Iterable[Confirmation], orders: Collection[str]
) -> list[Difference]:
    """Every difference between `statement` and the payments the gateway `recorded` for the
    statement's day (others are ignored); `orders` are the references of the gateway's orders."""
    ours = {c.payment_id: c for c in recorded if c.paid_on == statement.day}
    theirs = {c.payment_id: c for c in statement.lines}
    found: list[Difference] = []
    for payment_id in sorted(ours.keys() | theirs.keys()):
        mine, bank = ours.get(payment_id), theirs.get(payment_id)
        if bank is None and mine is not None:
            found.append(
                _diff(
                    DifferenceKind.MISSING,
                    mine,
                    mine.amount,
                    None,
                    Text(
                        "the gateway recorded %(amount)s for %(reference)s; the statement does "
                        "not list it",
                        amount=mine.amount,
                        reference=mine.reference,
                    ),
                )
            )
        elif mine is None and bank is not None:
            if bank.reference in orders:
                found.append(
                    _diff(
                        DifferenceKind.EXTRA,
                        bank,
                        None,
                        bank.amount,
                        Text(
                            "the statement lists %(amount)s for %(reference)s; the gateway never "
                            "recorded it",
                            amount=bank.amount,
                            reference=bank.reference,
                        ),
                    )
                )
            else:
                found.append(
                    _diff(
                        DifferenceKind.UNKNOWN_REFERENCE,
                        bank,
                        None,
                        bank.amount,
                        Text(
                            "the statement lists %(amount)s for %(reference)s, which is no "
                            "payment order of the gateway",
                            amount=bank.amount,
                            reference=bank.reference,
                        ),
                    )
                )
        elif mine is not None and bank is not None:
            found += _compare(mine, bank)
    return found


def _compare(mine: Confirmation, bank: Confirmation) -> list[Difference]:
    found = []
    if mine.reference != bank.reference:
        found.append(
            _diff(
                DifferenceKind.REFERENCE_MISMATCH,
                mine,
                mine.amount,
                bank.amount,
                Text(
                    "recorded for %(recorded)s, stated for %(stated)s",
                    recorded=mine.reference,
                    stated=bank.reference,
                ),
            )
        )
    if mine.amount.currency != bank.amount.currency:
        found.append(
            _diff(
                DifferenceKind.CURRENCY_MISMATCH,
                mine,
                mine.amount,
                bank.amount,
                Text(
                    "recorded in %(recorded)s, stated in %(stated)s",
                    recorded=mine.amount.currency,
                    stated=bank.amount.currency,
                ),
            )
        )
    elif mine.amount != bank.amount:
        found.append(
            _diff(
                DifferenceKind.AMOUNT_MISMATCH,
                mine,
                mine.amount,
                bank.amount,
                Text(
                    "recorded %(recorded)s, stated %(stated)s (difference %(difference)s)",
                    recorded=mine.amount,
                    stated=bank.amount,
                    difference=bank.amount - mine.amount,
                ),
            )
        )
    return found


def _diff(
    kind: DifferenceKind,
    about: Confirmation,
    expected: Money | None,
    actual: Money | None,
    detail: str,
) -> Difference:
    return Difference(kind, about.payment_id, about.reference, expected, actual, detail)
