"""What the OMC's payments and permits pages read (issue 20 item 5), as a small Protocol.

`gateway/storage/omc_money.py` implements it; the billing wiring puts it in
`app.extensions["nsw-omc-money"]` beside the permit book (`nsw-permits`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class OrderLine:
    """One payment order and how far it is paid."""

    reference: str
    application_id: str
    payer_bin: str
    currency: str
    total_minor: int
    received_minor: int
    status: str  # open | paid | superseded
    issued_at: dt.datetime
    paid_at: dt.datetime | None
    released: bool

    @property
    def outstanding_minor(self) -> int:
        """Nothing on a superseded order: what is owed is on the order that superseded it."""
        if self.status == "superseded":
            return 0
        return max(self.total_minor - self.received_minor, 0)


@dataclass(frozen=True)
class RefundLine:
    payment_id: str
    reference: str
    refund_minor: int
    currency: str
    reason: str
    received_at: dt.datetime


@dataclass(frozen=True)
class GuaranteeLine:
    """One guarantee offered as security for an application's payment, and what became of it:
    accepted (securing the release), refused (with customs' or the gateway's reason code),
    discharged (the order was paid since), or released (customs answered the gateway's
    ReleaseGuarantee, at `released_at`)."""

    application_id: str
    reference: str
    guarantor_bin: str
    amount_minor: int
    currency: str
    valid_until: dt.date
    state: str  # accepted | refused | discharged | released
    reason_code: str | None
    offered_at: dt.datetime
    released_at: dt.datetime | None = None


class MoneyViews(Protocol):
    def orders(self, limit: int = 200) -> list[OrderLine]:
        """The newest orders first."""
        ...

    def refunds_owed(self) -> list[RefundLine]: ...

    def guarantees(self, limit: int = 200) -> list[GuaranteeLine]:
        """The newest offers first."""
        ...
