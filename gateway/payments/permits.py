"""Permits with a balance: what an agency granted, how much of it each application wrote off.

A `Permit` is an immutable value; `write_off`, `credit_back`, `suspend`, `reinstate` and `revoke`
return a new one or raise, leaving the old untouched (the storage swaps them under a row lock, so
two applications drawing on the last units cannot both succeed).

State on a day (`state_on`), first match wins: revoked, suspended (both set by the agency),
expired (the day is after `valid_until`), exhausted (balance zero), else valid. A day before
`valid_from` is "not valid yet": the permit cannot be used but is not expired either.

Quantities are exact decimals (`Decimal`) with a unit; a float is refused, as for money, so
balances stay exact to the unit: granted = balance + everything written off, always.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum

from gateway.domain.identifiers import Bin, HsCode
from gateway.i18n.text import Text
from gateway.payments import errors
from gateway.payments.money import decimal_of

# Units as agencies grant them: mass, volume, head of livestock, pieces, and the EAEU "net tonne".
UNITS = ("kg", "t", "l", "m3", "head", "pcs")
MAX_DECIMALS = 3  # a gram of a kilogram, a litre of a cubic metre


@dataclass(frozen=True)
class Quantity:
    value: Decimal
    unit: str

    def __post_init__(self) -> None:
        value = decimal_of(self.value, "quantity", errors.InvalidQuantity)
        if value < 0 or -value.as_tuple().exponent > MAX_DECIMALS:  # type: ignore[operator]
            raise errors.InvalidQuantity(
                Text(
                    "A quantity is not negative and has at most %(MAX_DECIMALS)s decimals, not "
                    "%(value)s.",
                    MAX_DECIMALS=MAX_DECIMALS,
                    value=value,
                ),
                field="quantity",
            )
        if self.unit not in UNITS:
            raise errors.InvalidQuantity(
                Text(
                    "The unit %(unit)r is not one of %(list)s.",
                    unit=str(self.unit)[:12],
                    list=", ".join(UNITS),
                ),
                field="unit",
            )
        object.__setattr__(self, "value", value)

    def __str__(self) -> str:
        return f"{self.value:f} {self.unit}"


class PermitState(StrEnum):
    VALID = "valid"
    SUSPENDED = "suspended"
    REVOKED = "revoked"
    EXHAUSTED = "exhausted"
    EXPIRED = "expired"


class Standing(StrEnum):
    """What the agency set; the rest of the state follows from dates and the balance."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    REVOKED = "revoked"


@dataclass(frozen=True)
class Drawer:
    """Who draws on a permit for an application. A permit is issued to the goods' owner (the
    importer, the application's consignee); the owner may draw on it, and so may a declarant who
    is the owner's registered representative (a customs representative declaring the owner's
    goods), but only for an application whose consignee is that owner. `owner` is set only when
    that registration is active: anyone else's declaration is another holder's."""

    declarant: Bin
    owner: Bin | None = None

    def may_draw_on(self, holder: Bin) -> bool:
        return holder in (self.declarant, self.owner)


@dataclass(frozen=True)
class WriteOff:
    application_id: str
    quantity: Quantity
    on: dt.date


@dataclass(frozen=True)
class Permit:
    permit_id: str
    agency: str
    holder: Bin
    hs_code: HsCode
    description: str
    granted: Quantity
    valid_from: dt.date
    valid_until: dt.date  # the last day it may be used
    standing: Standing = Standing.ACTIVE
    write_offs: tuple[WriteOff, ...] = ()

    def __post_init__(self) -> None:
        if self.valid_until < self.valid_from:
            raise errors.InvalidQuantity(Text("A permit's validity ends after it starts."))
        if self.granted.value <= 0:
            raise errors.InvalidQuantity(
                Text("A permit grants a positive quantity."), field="quantity"
            )

    @property
    def written_off(self) -> Quantity:
        return Quantity(sum((w.quantity.value for w in self.write_offs), Decimal(0)), self.unit)

    @property
    def unit(self) -> str:
        return self.granted.unit

    @property
    def balance(self) -> Quantity:
        return Quantity(self.granted.value - self.written_off.value, self.unit)

    def state_on(self, day: dt.date) -> PermitState:
        if self.standing is Standing.REVOKED:
            return PermitState.REVOKED
        if self.standing is Standing.SUSPENDED:
            return PermitState.SUSPENDED
        if day > self.valid_until:
            return PermitState.EXPIRED
        if self.balance.value == 0:
            return PermitState.EXHAUSTED
        return PermitState.VALID

    def check_usable(self, day: dt.date, holder: Bin | Drawer) -> None:
        """Raise unless `holder` (a declarant, or a `Drawer`) may draw on this permit on `day`
        (the balance aside)."""
        drawer = holder if isinstance(holder, Drawer) else Drawer(holder)
        holder = drawer.declarant
        if not drawer.may_draw_on(self.holder):
            raise errors.PermitOfAnotherHolder(
                Text(
                    "Permit %(permit_id)s was issued to another holder; cite a permit issued to "
                    "BIN %(holder)s.",
                    permit_id=self.permit_id,
                    holder=holder,
                ),
                permitId=self.permit_id,
            )
        state = self.state_on(day)
        if state is PermitState.REVOKED:
            raise errors.PermitRevoked(
                Text(
                    "Permit %(permit_id)s was revoked by %(agency)s; apply for a new one.",
                    permit_id=self.permit_id,
                    agency=self.agency,
                ),
                permitId=self.permit_id,
            )
        if state is PermitState.SUSPENDED:
            raise errors.PermitSuspended(
                Text(
                    "Permit %(permit_id)s is suspended by %(agency)s; it cannot be used until the "
                    "agency reinstates it.",
                    permit_id=self.permit_id,
                    agency=self.agency,
                ),
                permitId=self.permit_id,
            )
        if state is PermitState.EXPIRED:
            raise errors.PermitExpired(
                Text(
                    "Permit %(permit_id)s was valid until %(valid_until)s; on %(day)s it has "
                    "expired.",
                    permit_id=self.permit_id,
                    valid_until=self.valid_until,
                    day=day,
                ),
                permitId=self.permit_id,
            )
        if day < self.valid_from:
            raise errors.PermitNotValidYet(
                Text(
                    "Permit %(permit_id)s is valid from %(valid_from)s, not on %(day)s.",
                    permit_id=self.permit_id,
                    valid_from=self.valid_from,
                    day=day,
                ),
                permitId=self.permit_id,
            )

    def write_off(
        self, application_id: str, quantity: Quantity, day: dt.date, holder: Bin | Drawer
    ) -> Permit:
        """The permit with `quantity` written off for `application_id` on `day`. One write-off per
        application: the same one again returns the permit unchanged; another quantity is refused
        (`PermitWriteOffConflict`; an amendment credits back first)."""
        previous = next((w for w in self.write_offs if w.application_id == application_id), None)
        if previous is not None:
            if previous.quantity == quantity:
                return self
            raise errors.PermitWriteOffConflict(
                Text(
                    "Application %(application_id)s already wrote off %(quantity)s of permit "
                    "%(permit_id)s; credit that back before writing off %(quantity2)s.",
                    application_id=application_id,
                    quantity=previous.quantity,
                    permit_id=self.permit_id,
                    quantity2=quantity,
                ),
                permitId=self.permit_id,
            )
        self.check_usable(day, holder)
        if quantity.unit != self.unit:
            raise errors.PermitUnitMismatch(
                Text(
                    "Permit %(permit_id)s is counted in %(unit)s; the application declares "
                    "%(unit2)s. Declare the quantity in %(unit)s.",
                    permit_id=self.permit_id,
                    unit=self.unit,
                    unit2=quantity.unit,
                ),
                permitId=self.permit_id,
            )
        if quantity.value <= 0:
            raise errors.InvalidQuantity(
                Text("A write-off is a positive quantity."), field="quantity"
            )
        if quantity.value > self.balance.value:
            raise errors.PermitBalanceExceeded(
                Text(
                    "Permit %(permit_id)s has %(balance)s left; %(quantity)s cannot be written "
                    "off. The application is held until the quantity fits a permit.",
                    permit_id=self.permit_id,
                    balance=self.balance,
                    quantity=quantity,
                ),
                permitId=self.permit_id,
                remaining=f"{self.balance.value:f}",
                unit=self.unit,
            )
        return replace(self, write_offs=(*self.write_offs, WriteOff(application_id, quantity, day)))

    def credit_back(self, application_id: str) -> Permit:
        """The permit with the write-off of `application_id` returned to the balance (withdrawal or
        amendment); refused when that application wrote nothing off."""
        kept = tuple(w for w in self.write_offs if w.application_id != application_id)
        if len(kept) == len(self.write_offs):
            raise errors.NothingToCreditBack(
                Text(
                    "Application %(application_id)s wrote nothing off permit %(permit_id)s.",
                    application_id=application_id,
                    permit_id=self.permit_id,
                ),
                permitId=self.permit_id,
            )
        return replace(self, write_offs=kept)

    def suspend(self) -> Permit:
        return self._become(Standing.SUSPENDED, frm=(Standing.ACTIVE,))

    def reinstate(self) -> Permit:
        return self._become(Standing.ACTIVE, frm=(Standing.SUSPENDED,))

    def revoke(self) -> Permit:
        return self._become(Standing.REVOKED, frm=(Standing.ACTIVE, Standing.SUSPENDED))

    def _become(self, standing: Standing, frm: tuple[Standing, ...]) -> Permit:
        if self.standing not in frm:
            raise errors.PermitTransitionRefused(
                Text(
                    "Permit %(permit_id)s is %(value)s; it cannot become %(value2)s.",
                    permit_id=self.permit_id,
                    value=self.standing.value,
                    value2=standing.value,
                ),
                permitId=self.permit_id,
            )
        return replace(self, standing=standing)
