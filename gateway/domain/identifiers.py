"""Kazakh and EAEU identifiers as validated value types.

A `Bin` or `HsCode` that exists is valid: the constructors check the invariants and raise
`InvalidValue` with a sentence the trader can act on. Code that holds one never re-checks it.

Sources (see /work/shared/reference/identifiers.md):
- BIN/IIN structure and check digit: §1-2 (python-stdnum `stdnum/kz/bin.py`, valery1707
  `PersonIdUtils.isValidCRC`; Government Decree No. 406 of 22.05.2007).
- TN VED code structure: §3 (10 digits; chapter = digits 1-2, heading = digits 1-4).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway.errors import InvalidValue
from gateway.i18n.text import Text

# §2: first pass weights 1..11; if that gives 10, a second pass with the weights rotated by two.
_WEIGHTS_1 = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)
_WEIGHTS_2 = (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)

# ASCII digits only: str.isdigit() would also accept "²" or Arabic-Indic digits.
_TWELVE_DIGITS = re.compile(r"[0-9]{12}")
_ELEVEN_DIGITS = re.compile(r"[0-9]{11}")
_TEN_DIGITS = re.compile(r"[0-9]{10}")


def _shown(value: str) -> str:
    """The value as quoted back in a message, cut short so a huge input cannot flood a response."""
    return repr(value if len(value) <= 32 else value[:32] + "…")


def kz_check_digit(first11: str) -> int | None:
    """The check digit (0-9) for the first 11 digits of a BIN or IIN, or None if none exists.

    None means every number with this prefix is invalid: both passes gave 10, and KZ
    implementations treat that prefix as never issued (reference §2, step 4) rather than mapping
    it to 0 as some other schemes do. Raises `ValueError` if `first11` is not 11 ASCII digits
    (a programming error, not a trader's).
    """
    if not _ELEVEN_DIGITS.fullmatch(first11):
        raise ValueError(f"kz_check_digit needs exactly 11 ASCII digits, got {first11!r}")
    digits = [int(c) for c in first11]
    remainder = sum(d * w for d, w in zip(digits, _WEIGHTS_1, strict=True)) % 11
    if remainder == 10:
        remainder = sum(d * w for d, w in zip(digits, _WEIGHTS_2, strict=True)) % 11
        if remainder == 10:
            return None
    return remainder


@dataclass(frozen=True)
class Bin:
    """A 12-digit Kazakh business (BIN) or individual (IIN) identification number.

    A frozen dataclass rather than a `str` subclass, so a plain string can never pass for a checked
    number by accident; `str(bin)` and `.value` give the 12 digits. Both BINs and IINs are accepted
    because they share the format and check digit (reference §1-2) and a declarant may be either
    (an individual entrepreneur declares under an IIN). Only the digits and the check digit are
    checked, not the date or type fields.
    """

    value: str

    def __post_init__(self) -> None:
        if not isinstance(self.value, str) or not _TWELVE_DIGITS.fullmatch(self.value):
            raise InvalidValue(
                Text(
                    "The BIN/IIN %(value)s must be exactly 12 digits (0-9) with no spaces or other "
                    "characters; check that no digit is missing or extra.",
                    value=_shown(str(self.value)),
                ),
                field="bin",
            )
        expected = kz_check_digit(self.value[:11])
        if expected is None:
            raise InvalidValue(
                Text(
                    "The BIN/IIN %(value)s cannot exist: no check digit is possible for its first "
                    "11 digits, so one of them is mistyped. Copy the number from the registration "
                    "certificate.",
                    value=_shown(self.value),
                ),
                field="bin",
            )
        if expected != int(self.value[11]):
            raise InvalidValue(
                Text(
                    "The BIN/IIN %(value)s fails its check digit, so a digit is mistyped or two "
                    "are swapped. Copy the number from the registration certificate.",
                    value=_shown(self.value),
                ),
                field="bin",
            )

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class HsCode:
    """An EAEU TN VED commodity code: exactly 10 ASCII digits, no spaces or dots.

    The legal written form `0602 90 100 0` is not accepted here; callers normalise before
    constructing if they must. Chapter `00` does not exist in the nomenclature and is refused.
    """

    value: str

    def __post_init__(self) -> None:
        if not isinstance(self.value, str) or not _TEN_DIGITS.fullmatch(self.value):
            raise InvalidValue(
                Text(
                    "The commodity code %(value)s must be the 10-digit EAEU TN VED code written as "
                    "digits only (for example 0808108000, not 0808 10 800 0).",
                    value=_shown(str(self.value)),
                ),
                field="hs_code",
            )
        if self.value.startswith("00"):
            raise InvalidValue(
                Text(
                    "The commodity code %(value)s names chapter 00, which does not exist; TN VED "
                    "chapters start at 01. Check the code against the tariff.",
                    value=_shown(self.value),
                ),
                field="hs_code",
            )

    @property
    def chapter(self) -> int:
        """The chapter (группа), digits 1-2, as a number: 8 for 0808108000."""
        return int(self.value[:2])

    @property
    def heading(self) -> str:
        """The heading (товарная позиция), digits 1-4 with leading zeros: "0808"."""
        return self.value[:4]

    def __str__(self) -> str:
        return self.value
