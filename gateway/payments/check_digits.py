"""ISO 7064 MOD 97-10 check digits: the Kazakh IBAN (ISO 13616) and the payment reference (ISO 11649).

Both schemes move the first four characters (country or "RF", then two check digits) to the end,
turn letters into numbers (A=10 ... Z=35) and require the whole to be 1 modulo 97; making one
puts "00" in the check digits and takes 98 minus the remainder (ISO 13616-1 §6.1, ISO 11649 §6).

KZ IBAN (reference customs-payments-kz.md rows 37-39, C): 20 characters, "KZ", two check digits,
a 3-digit bank code, a 13-character account number (digits and capital letters).

Payment reference: an ISO 11649 structured creditor reference, "RF", two check digits and up to 21
characters. The gateway issues "RF" cc "NSW" yyyymmdd nnnnnn: unique for a serial that is unique
per day (the storage's sequence decides it), readable, and its check digits catch every single
mistyped digit (or letter typed for a letter) and every swap of two adjacent digits.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from gateway.i18n.text import Text
from gateway.payments.errors import InvalidIban, InvalidPaymentReference

_KZ_IBAN = re.compile(r"KZ[0-9]{2}[0-9]{3}[0-9A-Z]{13}")
_RF = re.compile(r"RF[0-9]{2}[0-9A-Z]{1,21}")
REFERENCE_PREFIX = "NSW"


def mod97(text: str) -> int:
    """The ISO 7064 MOD 97-10 remainder of `text` (digits and capital letters), rearranged as
    IBAN and RF references are: the first four characters moved to the end."""
    rearranged = text[4:] + text[:4]
    remainder = 0
    for char in rearranged:
        value = int(char, 36)  # "0"-"9" -> 0-9, "A"-"Z" -> 10-35
        remainder = (remainder * (100 if value > 9 else 10) + value) % 97
    return remainder


def check_digits(prefix: str, body: str) -> str:
    """The two check digits that make `prefix` cc `body` valid."""
    return f"{98 - mod97(prefix + '00' + body):02d}"


def _compact(value: object) -> str:
    # People write IBANs and references in groups of four; the electronic form has no spaces.
    return value.replace(" ", "").upper() if isinstance(value, str) else ""


@dataclass(frozen=True)
class Iban:
    """A Kazakh IBAN (ИИК) that passes its format and check digits; `value` is the electronic form."""

    value: str

    def __post_init__(self) -> None:
        compact = _compact(self.value)
        shown = repr(str(self.value)[:40])
        if not _KZ_IBAN.fullmatch(compact):
            raise InvalidIban(
                Text(
                    "The account %(shown)s is not a Kazakh IBAN: 20 characters, KZ, two check "
                    "digits, a 3-digit bank code and a 13-character account number.",
                    shown=shown,
                ),
                field="iban",
            )
        if mod97(compact) != 1:
            raise InvalidIban(
                Text(
                    "The account %(shown)s fails its IBAN check digits (ISO 13616): a character is "
                    "mistyped or two are swapped. Copy it from the bank's statement.",
                    shown=shown,
                ),
                field="iban",
            )
        object.__setattr__(self, "value", compact)

    @classmethod
    def make(cls, bank_code: str, account: str) -> Iban:
        """The IBAN for a 3-digit bank code and a 13-character account number."""
        return cls("KZ" + check_digits("KZ", bank_code + account) + bank_code + account)

    @property
    def bank_code(self) -> str:
        return self.value[4:7]

    @property
    def account(self) -> str:
        return self.value[7:]

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class PaymentReference:
    """An ISO 11649 creditor reference ("RF" + check digits + up to 21 characters) that passes its
    check digits. The gateway's own are made by `issue`; any valid RF reference parses."""

    value: str

    def __post_init__(self) -> None:
        compact = _compact(self.value)
        if not _RF.fullmatch(compact) or mod97(compact) != 1:
            raise InvalidPaymentReference(
                Text(
                    "The payment reference %(value)r is not one this gateway issued: it must be "
                    "RF, two check digits and up to 21 letters or digits, with valid check digits "
                    "(ISO 11649). Copy it from the payment order.",
                    value=str(self.value)[:40],
                ),
                field="paymentReference",
            )
        object.__setattr__(self, "value", compact)

    @classmethod
    def issue(cls, day: dt.date, serial: int) -> PaymentReference:
        """The gateway's reference for the `serial`-th order of `day` (1 <= serial <= 999999)."""
        if not 1 <= serial <= 999_999:
            raise ValueError(f"a daily serial is 1..999999, not {serial}")
        body = f"{REFERENCE_PREFIX}{day:%Y%m%d}{serial:06d}"
        return cls("RF" + check_digits("RF", body) + body)

    def __str__(self) -> str:
        return self.value
