"""Charge lines as the case stores them and the decision lists them: plain JSON values.

An agency's answer gives `{kind, amount, currency, legalBasis, due, kbk}` (amount in minor units);
the beneficiary is the agency that answered. `charge_line` checks it as a `ChargeLine` (every rule
of gateway.payments.charges); a stored charge that fails is refused, never repaired.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from gateway.i18n.text import Text
from gateway.payments.charges import ChargeKind, ChargeLine
from gateway.payments.errors import InvalidCharge
from gateway.payments.money import Money


def charge_line(beneficiary: str, value: Mapping[str, Any]) -> ChargeLine:
    """The checked line for one stored charge of `beneficiary` (raises `InvalidCharge`)."""
    try:
        due = dt.date.fromisoformat(str(value["due"]))
        amount = Money(value["amount"], str(value["currency"]))
        return ChargeLine(
            kind=ChargeKind(str(value["kind"])),
            amount=amount,
            legal_basis=str(value["legalBasis"]),
            due=due,
            beneficiary=beneficiary,
            kbk=value.get("kbk"),
        )
    except (KeyError, ValueError) as exc:
        raise InvalidCharge(
            Text(
                "A charge of %(beneficiary)s is incomplete or malformed: %(exc)s",
                beneficiary=beneficiary,
                exc=exc,
            )
        ) from exc


def charge_lines(by_agency: Iterable[tuple[str, Iterable[Mapping[str, Any]]]]) -> list[ChargeLine]:
    """Every agency's stored charges as checked lines, in the agencies' order."""
    return [charge_line(agency, value) for agency, values in by_agency for value in values]


def line_json(line: ChargeLine) -> dict[str, Any]:
    """A line as the API shows it (amount in minor units)."""
    return {
        "kind": line.kind.value,
        "amount": line.amount.minor,
        "currency": line.amount.currency,
        "legalBasis": line.legal_basis,
        "due": line.due.isoformat(),
        "beneficiary": line.beneficiary,
        "kbk": line.kbk,
    }
