"""What the permit service needs of storage (issue 20 item 4), as a small Protocol.

`gateway/storage/permits.py` implements `Permits`; `tests/fakes` has no fake yet: the permit tests
run on both real databases. Reads return the domain's frozen `Permit` (with every write-off not
credited back) and frozen views; each write takes the trail messages it stores in its own
transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from gateway.payments.order import canonical_json
from gateway.payments.permits import Permit
from gateway.trail.messages import Message


@dataclass(frozen=True)
class Citation:
    """A goods item that cites a permit instead of asking its agency for a new one."""

    item_line: int
    agency: str
    permit_id: str
    hs_code: str
    quantity: Decimal
    unit: str


@dataclass(frozen=True)
class Hold:
    """An application held for a permit, with the problem type that says why."""

    application_id: str
    permit_id: str
    code: str
    detail: str
    held_at: dt.datetime
    cleared_at: dt.datetime | None = None


@dataclass(frozen=True)
class WriteOffRecord:
    """A write-off as the OMC and `nsw permits show` list it (credited back ones too)."""

    permit_id: str
    application_id: str
    quantity: Decimal
    unit: str
    day: dt.date
    written_at: dt.datetime
    credited_back_at: dt.datetime | None


# The trail messages of one step (a write-off, a refusal, a credit-back, a standing change),
# given what it was, as canonical JSON values.
StepMessages = Callable[[str, Mapping[str, object]], Sequence[Message]]


def step_messages(kind: str, value: Mapping[str, object]) -> Sequence[Message]:
    """The trail entry of one permit step (the default `StepMessages`): what happened, as
    canonical JSON, addressed to the permit."""
    permit_id = str(value.get("permitId") or "")
    return [
        Message(kind, "out", f"permit:{permit_id}"[:64], "application/json", canonical_json(value))
    ]


class Permits(Protocol):
    def get(self, permit_id: str) -> Permit | None: ...

    def for_holder(self, holder_bin: str) -> list[Permit]: ...

    def everything(self) -> list[Permit]:
        """Every permit, newest first (the OMC's page)."""
        ...

    def write_offs(self, permit_id: str | None = None) -> list[WriteOffRecord]: ...

    def record_grant(
        self, permit: Permit, granted_for: str | None, messages: Sequence[Message]
    ) -> bool:
        """Store a permit an agency granted; False when that id is already stored."""
        ...

    def citations(self, application_id: str) -> list[Citation]: ...

    def write_off_cited(self, application_id: str, day: dt.date, messages: StepMessages) -> None:
        """Write off every quantity the application cites, on `day`, in one transaction under
        the permits' row locks; raises the domain's refusal (nothing written off, the hold and
        the attempt stored)."""
        ...

    def credit_back(self, application_id: str, messages: StepMessages) -> list[str]:
        """Return every write-off of the application (withdrawal, amendment): the permit ids."""
        ...

    def change_standing(
        self, permit_id: str, action: str, messages: StepMessages
    ) -> tuple[Permit, list[str]]:
        """suspend | reinstate | revoke, by the issuing agency: the permit after, and the
        applications citing it that are not yet exited (held by a suspension or revocation,
        their holds cleared by a reinstatement)."""
        ...

    def holds(self, application_id: str | None = None) -> list[Hold]:
        """Open holds (of one application, or all)."""
        ...
