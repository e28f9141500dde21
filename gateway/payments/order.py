"""The payment order: one per application, one reference, one total, a breakdown by beneficiary.

`canonical_bytes()` is what the gateway signs and what the trail records: UTF-8 JSON with sorted
keys, no insignificant whitespace and only strings, integers, arrays and objects (amounts in minor
units), so it is also the RFC 8785 (JCS) form of the same value. The same order always gives the
same bytes; any change of a line, an amount, a date or the payer changes them.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.domain.identifiers import Bin
from gateway.errors import InvalidValue
from gateway.i18n.text import Text
from gateway.payments.charges import ChargeLine
from gateway.payments.check_digits import Iban, PaymentReference
from gateway.payments.errors import InvalidPaymentOrder
from gateway.payments.money import Money, total

ORDER_FORMAT = "nsw-payment-order/1"
MAX_LINES = 200


@dataclass(frozen=True)
class PaymentOrder:
    """What the trader must pay for `application_id`: every assessed line, all in one currency.

    `payee_account` is the treasury account that collects (the stand-in's is invented, bank code
    998, reference open question 6).

    An order that `supersedes` another (an amendment changed the assessment) carries what was
    received on the one it replaces as `credited` (minor units of its currency): the payer owes
    `balance_due`, the total less that credit (docs/payments.md, "Re-assessment").
    """

    reference: PaymentReference
    application_id: str
    payer: Bin
    issued_on: dt.date
    payee_account: Iban
    lines: tuple[ChargeLine, ...]
    supersedes: PaymentReference | None = None
    credited: int = 0

    def __post_init__(self) -> None:
        if (
            not isinstance(self.credited, int)
            or self.credited < 0
            or (self.credited and self.supersedes is None)
        ):
            raise InvalidPaymentOrder(
                Text(
                    "Only an order that supersedes another is credited with what was paid on "
                    "it, and a credit is not negative."
                )
            )
        if not self.lines or len(self.lines) > MAX_LINES:
            raise InvalidPaymentOrder(
                Text(
                    "A payment order has 1 to %(MAX_LINES)s charge lines; an application with "
                    "nothing to pay gets no order.",
                    MAX_LINES=MAX_LINES,
                )
            )
        currencies = {line.amount.currency for line in self.lines}
        if len(currencies) != 1:
            raise InvalidPaymentOrder(
                Text(
                    "The charges are in %(list)s: one order is paid in one currency (national "
                    "currency, KZT), so convert the others at the rate of the day the declaration "
                    "was registered before the order is made.",
                    list=", ".join(sorted(currencies)),
                )
            )
        if not self.application_id or len(self.application_id) > 64:
            raise InvalidPaymentOrder(
                Text("A payment order names its application (1-64 characters).")
            )

    @property
    def currency(self) -> str:
        return self.lines[0].amount.currency

    @property
    def total(self) -> Money:
        """The sum of the lines, never rounded again (rounding rule R4)."""
        return total([line.amount for line in self.lines], self.currency)

    @property
    def credit(self) -> Money:
        """What was received on the order this one supersedes, counted towards this one."""
        return Money(self.credited, self.currency)

    @property
    def balance_due(self) -> Money:
        """The total less the credit, never below zero (a credit beyond it is owed back)."""
        return max(self.total - self.credit, Money.zero(self.currency))

    @property
    def due(self) -> dt.date:
        """The earliest due date of its lines: paying the whole order by then pays every line."""
        return min(line.due for line in self.lines)

    def breakdown(self) -> dict[str, Money]:
        """Beneficiary agency -> what is paid to it, in agency-code order; sums to `total`."""
        by_agency: dict[str, Money] = {}
        for line in self.lines:
            by_agency[line.beneficiary] = (
                by_agency.get(line.beneficiary, Money.zero(self.currency)) + line.amount
            )
        return dict(sorted(by_agency.items()))

    def as_json(self) -> dict[str, Any]:
        """The order as a JSON value (what `canonical_bytes` serialises). A superseding order
        also names the order it supersedes, the credit carried from it and the balance due."""
        value = self._json()
        if self.supersedes is not None:
            value["supersedes"] = str(self.supersedes)
            value["credited"] = self.credited
            value["balanceDue"] = self.balance_due.minor
        return value

    def _json(self) -> dict[str, Any]:
        return {
            "format": ORDER_FORMAT,
            "paymentReference": str(self.reference),
            "applicationId": self.application_id,
            "payerBin": str(self.payer),
            "issuedOn": self.issued_on.isoformat(),
            "payeeAccount": str(self.payee_account),
            "currency": self.currency,
            "total": self.total.minor,
            "due": self.due.isoformat(),
            "lines": [
                {
                    "kind": line.kind.value,
                    "amount": line.amount.minor,
                    "legalBasis": line.legal_basis,
                    "due": line.due.isoformat(),
                    "beneficiary": line.beneficiary,
                    "kbk": line.kbk,
                }
                for line in self.lines
            ],
            "breakdown": [
                {"beneficiary": agency, "amount": amount.minor}
                for agency, amount in self.breakdown().items()
            ],
        }

    def canonical_bytes(self) -> bytes:
        """The deterministic bytes to sign (see the module docstring)."""
        return canonical_json(self.as_json())


def canonical_json(value: Mapping[str, Any]) -> bytes:
    """Sorted keys, no whitespace, UTF-8; refuses floats, which have no single written form."""
    _no_floats(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _no_floats(value: Any) -> None:
    if isinstance(value, float):
        raise InvalidValue(
            Text("canonical JSON carries no floats: amounts are integer minor units")
        )
    if isinstance(value, Mapping):
        for item in value.values():
            _no_floats(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _no_floats(item)
