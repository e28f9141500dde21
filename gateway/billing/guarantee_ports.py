"""What the guarantee service needs of storage (issue 20 item 3), as a small Protocol.

Storage implements `GuaranteeBook` in gateway/storage/guarantees.py. Each write is one
transaction with its trail messages.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from gateway.trail.messages import Message


@dataclass(frozen=True)
class Offer:
    """A guarantee the declarant offered for an application, and what the application owed
    (the payment order's total) when it was offered. Amounts in minor units."""

    application_id: str
    reference: str
    guarantor_bin: str
    amount_minor: int
    currency: str
    valid_until: dt.date
    owed_minor: int


@dataclass(frozen=True)
class RecordedGuarantee:
    reference: str
    guarantor_bin: str
    amount_minor: int
    currency: str
    valid_until: dt.date
    owed_minor: int
    outcome: str  # accepted | refused
    reason_code: str | None
    detail: str | None
    offered_at: dt.datetime
    discharged_at: dt.datetime | None
    released_at: dt.datetime | None = None  # customs answered the gateway's release

    @property
    def state(self) -> str:
        """What became of it, as the OMC and the portal show it (`guarantee_state`)."""
        return guarantee_state(self.outcome, self.discharged_at, self.released_at)

    def to_json(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "guarantorBIN": self.guarantor_bin,
            "amount": {"minor": self.amount_minor, "currency": self.currency},
            "validUntil": self.valid_until.isoformat(),
            "owedMinor": self.owed_minor,
            "outcome": self.outcome,
            "reasonCode": self.reason_code,
            "detail": self.detail,
            "offeredAt": self.offered_at.isoformat(),
            "dischargedAt": self.discharged_at.isoformat() if self.discharged_at else None,
            "releasedAt": self.released_at.isoformat() if self.released_at else None,
            # "securing" is the API's word for the pages' "accepted"
            "state": "securing" if self.state == "accepted" else self.state,
        }


def guarantee_state(
    outcome: str, discharged_at: dt.datetime | None, released_at: dt.datetime | None
) -> str:
    """discharged (the order was paid since; customs is then asked to free its reservation, and
    `released_at` says when it did), released (customs answered the gateway's ReleaseGuarantee:
    it holds no reservation), refused (by customs, or by the gateway after customs reserved it:
    then released later), or accepted (securing the release)."""
    if discharged_at is not None:
        return "discharged"
    if released_at is not None:
        return "released"
    return "refused" if outcome == "refused" else "accepted"


class GuaranteeConflict(Exception):
    """The application changed before the accepted guarantee could secure it: `kind` is
    released (released or paid meanwhile), withdrawn or unknown. Nothing was stored."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class GuaranteeBook(Protocol):
    def secure(self, offer: Offer, messages: Sequence[Message]) -> str:
        """In one transaction, under the order's and the application's row locks: store the
        accepted guarantee and `messages`, write off the cited permits and release the
        application with a signed decision naming the guarantee. Returns "released", or "held"
        when a permit write-off was refused (the hold and the attempt are stored). Raises
        `GuaranteeConflict` (nothing stored) when it is no longer unpaid and unreleased."""
        ...

    def refuse(self, offer: Offer, code: str, detail: str, messages: Sequence[Message]) -> None:
        """Store the refused offer (customs' or the gateway's reason) with `messages`."""
        ...

    def refuse_reserved(
        self, offer: Offer, reason: str, detail: str, messages: Sequence[Message]
    ) -> None:
        """Customs accepted (and so reserved) `offer`, but the application no longer needs it
        (paid, released or withdrawn meanwhile: `GuaranteeConflict`). One transaction: store the
        offer refused as `not-needed` with `messages`, and queue its release at customs with
        `reason` (withdrawn | not-needed)."""
        ...

    def record(self, application_id: str, messages: Sequence[Message]) -> None:
        """Keep `messages` (a refused attempt that names no storable offer) in the trail."""
        ...

    def of(self, application_id: str) -> list[RecordedGuarantee]:
        """Every offer for the application, oldest first."""
        ...
