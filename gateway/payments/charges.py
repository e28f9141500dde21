"""Charge lines: what one agency assessed for one application, as the decision lists it.

Budget classification codes (КБК, 6 digits) are filled in only where the reference confirms one
(customs-payments-kz.md §2, C): import customs duty 106104 (row 7), customs fees 106201 (row 8),
VAT on goods imported from outside the EAEU 105102 (row 9). The KBKs for excise and for other
agencies' fees are not confirmed (row 11, R), so such a line carries the KBK its agency sends, or
none; a confirmed kind carrying another KBK is refused.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum

from gateway.i18n.text import Text
from gateway.payments.errors import InvalidCharge
from gateway.payments.money import Money

_KBK = re.compile(r"[0-9]{6}")
_AGENCY = re.compile(r"[a-z][a-z0-9-]{0,31}")
CUSTOMS = "customs"  # the agency code of the State Revenue Committee (customs) in mappings/
MAX_TEXT = 512


class ChargeKind(StrEnum):
    CUSTOMS_DUTY = "customs-duty"
    VAT = "vat"
    EXCISE = "excise"
    AGENCY_FEE = "agency-fee"


def confirmed_kbk(kind: ChargeKind, beneficiary: str) -> str | None:
    """The KBK the reference confirms for this kind of charge to this agency, or None."""
    if kind is ChargeKind.CUSTOMS_DUTY:
        return "106104"
    if kind is ChargeKind.VAT:
        return "105102"
    if kind is ChargeKind.AGENCY_FEE and beneficiary == CUSTOMS:
        return "106201"
    return None


@dataclass(frozen=True)
class ChargeLine:
    """One assessed charge. `amount` is positive; `due` is the last day to pay; `beneficiary` is the
    agency code the money is for; `kbk` is filled from `confirmed_kbk` when not given."""

    kind: ChargeKind
    amount: Money
    legal_basis: str
    due: dt.date
    beneficiary: str
    kbk: str | None = None

    def __post_init__(self) -> None:
        try:
            kind = ChargeKind(self.kind)
        except ValueError:
            raise InvalidCharge(
                Text(
                    "The charge kind %(kind)r is not one of %(list)s.",
                    kind=str(self.kind)[:32],
                    list=", ".join(k.value for k in ChargeKind),
                ),
                field="kind",
            ) from None
        object.__setattr__(self, "kind", kind)
        if not isinstance(self.amount, Money) or self.amount.minor <= 0:
            raise InvalidCharge(Text("A charge is a positive amount of money."), field="amount")
        text = self.legal_basis.strip() if isinstance(self.legal_basis, str) else ""
        if not text or len(text) > MAX_TEXT:
            raise InvalidCharge(
                Text(
                    "A charge names its legal basis (1 to %(MAX_TEXT)s characters), e.g. the "
                    "article of the Code or the decree that sets it.",
                    MAX_TEXT=MAX_TEXT,
                ),
                field="legalBasis",
            )
        if not isinstance(self.due, dt.date) or isinstance(self.due, dt.datetime):
            raise InvalidCharge(Text("A charge has a due date (a day, not a moment)."), field="due")
        if not isinstance(self.beneficiary, str) or not _AGENCY.fullmatch(self.beneficiary):
            raise InvalidCharge(
                Text("A charge names its beneficiary by agency code (lower case, e.g. customs)."),
                field="beneficiary",
            )
        expected = confirmed_kbk(kind, self.beneficiary)
        kbk = self.kbk if self.kbk is not None else expected
        if kbk is not None and (not isinstance(kbk, str) or not _KBK.fullmatch(kbk)):
            raise InvalidCharge(
                Text("The budget classification code %(kbk)r must be 6 digits.", kbk=str(kbk)[:12]),
                field="kbk",
            )
        if expected is not None and kbk != expected:
            raise InvalidCharge(
                Text(
                    "A %(value)s charge to %(beneficiary)s is credited to KBK %(expected)s, not "
                    "%(kbk)s: a payment under the wrong code does not reach the personal account.",
                    value=kind.value,
                    beneficiary=self.beneficiary,
                    expected=expected,
                    kbk=kbk,
                ),
                field="kbk",
            )
        object.__setattr__(self, "kbk", kbk)
