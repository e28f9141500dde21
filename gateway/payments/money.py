"""Money as an integer count of minor units (tiyn for KZT) with its currency; never a float.

Rounding rules (docs/payments.md says the same for people):

R1. Amounts travel and are stored as integers of the currency's minor unit (ISO 4217 exponent:
    1 KZT = 100 tiyn). An amount written with more decimals than the currency has
    ("10.005 KZT") is refused, never rounded: a sender's typo is not ours to fix.
R2. A computed amount (a rate applied to a base: ad valorem duty, VAT, a share) is computed
    exactly in `Decimal` and rounded once, at the end, per charge line, half away from zero
    (ROUND_HALF_UP; amounts here are never negative, so this is "half up").
R3. Rounding lands on the minor unit by default. Whether customs amounts are rounded to whole tenge
    is unconfirmed (reference customs-payments-kz.md row 25, R; open question 4), so
    `whole_units=True` is there to switch, per call, not a default.
R4. A total is the sum of its already rounded lines, never rounded again: the total on an order
    always equals the sum of its breakdown, to the tiyn.
R5. An amount split into shares (`allocate`) is split by the largest-remainder method: the shares
    always add up to the amount; a leftover minor unit goes to the largest fraction (the earlier
    share on a tie).
R6. Rates are `Decimal` or decimal strings ("12", "6.955"); a float is refused (0.1 is not 1/10).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation, localcontext

from gateway.errors import GatewayError
from gateway.i18n.text import Text
from gateway.payments.errors import CurrencyMismatch, InvalidMoney

# ISO 4217 minor units of the currencies the gateway takes. KZT first: customs payments are made
# in national currency (reference row 15, C); the others are for amounts as declared.
MINOR_UNITS: dict[str, int] = {
    "KZT": 2, "RUB": 2, "BYN": 2, "AMD": 2, "KGS": 2, "CNY": 2, "USD": 2, "EUR": 2,
}  # fmt: skip
# Fits a PostgreSQL BIGINT (and SQLite INTEGER) with room for sums: 10^16 tenge is beyond any order.
MAX_MINOR = 10**18 - 1
_AMOUNT = re.compile(r"-?[0-9]{1,19}(\.[0-9]{1,19})?")


def _currency(code: object) -> str:
    if not isinstance(code, str) or code not in MINOR_UNITS:
        raise InvalidMoney(
            Text(
                "The currency %(code)r is not one the gateway takes; use an ISO 4217 code among "
                "%(list)s.",
                code=str(code)[:8],
                list=", ".join(MINOR_UNITS),
            ),
            field="currency",
        )
    return code


def decimal_of(
    value: object, what: str = "rate", error: type[GatewayError] = InvalidMoney
) -> Decimal:
    """A finite `Decimal` from a `Decimal`, an int or a decimal string; floats are refused (R6)
    with `error`."""
    if isinstance(value, float | bool):
        raise error(
            f"The {what} {value!r} is not a decimal; write it as a decimal string such as "
            "'12.5' (a float cannot hold 0.1 exactly).",
            field=what,
        )
    if isinstance(value, str) and not _AMOUNT.fullmatch(value):
        raise error(f"The {what} {value[:24]!r} is not a decimal number.", field=what)
    if not isinstance(value, Decimal | int | str):
        raise error(f"The {what} must be a decimal number.", field=what)
    try:
        number = Decimal(value)
    except InvalidOperation as exc:  # pragma: no cover - the pattern above rules it out
        raise error(f"The {what} is not a decimal number.", field=what) from exc
    if not number.is_finite():
        raise error(f"The {what} must be a finite number.", field=what)
    return number


@dataclass(frozen=True)
class Money:
    """`minor` units (an int, never a float or bool) of `currency` (an ISO 4217 code it knows).

    Arithmetic and comparison work only between amounts of one currency (`CurrencyMismatch`
    otherwise). Negative amounts exist (a difference, an amount owed back); a charge is positive.
    """

    minor: int
    currency: str

    def __post_init__(self) -> None:
        _currency(self.currency)
        if type(self.minor) is not int:
            raise InvalidMoney(
                Text(
                    "An amount is a whole number of minor units (%(currency)s: 1/%(value)s), not "
                    "%(name)s.",
                    currency=self.currency,
                    value=10 ** MINOR_UNITS[self.currency],
                    name=type(self.minor).__name__,
                ),
                field="amount",
            )
        if abs(self.minor) > MAX_MINOR:
            raise InvalidMoney(Text("The amount is beyond any payment the gateway handles."))

    @classmethod
    def parse(cls, amount: object, currency: str) -> Money:
        """The amount written in major units ("1234.56", Decimal("1234.56"), 1234) exactly; more
        decimals than the currency has are refused (R1)."""
        exponent = MINOR_UNITS[_currency(currency)]
        value = decimal_of(amount, "amount")
        minor = value.scaleb(exponent)
        if minor != minor.to_integral_value():
            raise InvalidMoney(
                Text(
                    "The amount %(amount)s has more decimals than %(currency)s has (%(exponent)s); "
                    "it is refused, not rounded. Send it in whole minor units.",
                    amount=amount,
                    currency=currency,
                    exponent=exponent,
                ),
                field="amount",
            )
        return cls(int(minor), currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @property
    def exponent(self) -> int:
        return MINOR_UNITS[self.currency]

    def to_decimal(self) -> Decimal:
        """The amount in major units, exactly (Decimal("1234.56") for 123456 tiyn)."""
        return Decimal(self.minor).scaleb(-self.exponent)

    def _same(self, other: Money) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatch(
                Text(
                    "%(self)s and %(other)s are in different currencies; convert one first (at the "
                    "rate of the day the declaration was registered).",
                    self=self,
                    other=other,
                )
            )
        return other

    def __add__(self, other: Money) -> Money:
        return Money(self.minor + self._same(other).minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.minor - self._same(other).minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __lt__(self, other: Money) -> bool:
        return self.minor < self._same(other).minor

    def __le__(self, other: Money) -> bool:
        return self.minor <= self._same(other).minor

    def __gt__(self, other: Money) -> bool:
        return self.minor > self._same(other).minor

    def __ge__(self, other: Money) -> bool:
        return self.minor >= self._same(other).minor

    def __str__(self) -> str:
        return f"{self.to_decimal():f} {self.currency}"


def total(amounts: Sequence[Money], currency: str) -> Money:
    """The sum of `amounts`, all in `currency` (R4: no rounding)."""
    result = Money.zero(currency)
    for amount in amounts:
        result = result + amount
    return result


def _round(exact_minor: Decimal, step: int) -> int:
    """R2: to a multiple of `step` minor units, halves up (amounts here are not negative)."""
    return int((exact_minor / step).quantize(Decimal(1), rounding=ROUND_HALF_UP)) * step


def apply_rate(base: Money, percent: object, *, whole_units: bool = False) -> Money:
    """`percent` % of `base`, computed exactly and rounded once (R2), to the minor unit or, with
    `whole_units`, to a whole major unit (R3)."""
    rate = decimal_of(percent, "rate")
    if rate < 0 or base.minor < 0:
        raise InvalidMoney(Text("A rate and the amount it applies to are never negative."))
    step = 10**base.exponent if whole_units else 1
    with localcontext() as ctx:
        ctx.prec = 60  # exact for any amount within MAX_MINOR and any rate of up to 30 digits
        return Money(_round(Decimal(base.minor) * rate / 100, step), base.currency)


def allocate(amount: Money, weights: Sequence[object]) -> list[Money]:
    """`amount` split in proportion to `weights` (decimals, e.g. EAEU distribution normatives in
    percent), by the largest-remainder method (R5): the shares sum exactly to `amount`."""
    shares = [decimal_of(w, "weight") for w in weights]
    if not shares or any(w < 0 for w in shares) or sum(shares) <= 0 or amount.minor < 0:
        raise InvalidMoney(Text("Shares need non-negative weights with a positive sum."))
    whole = sum(shares)
    with localcontext() as ctx:
        ctx.prec = 60
        exact = [Decimal(amount.minor) * w / whole for w in shares]
        floors = [int(e.to_integral_value(rounding=ROUND_FLOOR)) for e in exact]
        fractions = [e - f for e, f in zip(exact, floors, strict=True)]
    left = amount.minor - sum(floors)
    # Largest fraction first; on a tie the earlier share (a stable sort keeps index order).
    for index in sorted(range(len(shares)), key=lambda i: fractions[i], reverse=True)[:left]:
        floors[index] += 1
    return [Money(m, amount.currency) for m in floors]
