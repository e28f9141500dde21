"""What the payment service needs of storage and of the treasury, as small Protocols (issue 20).

Storage implements `PaymentOrders` in gateway/storage/payments.py (with its payment_* modules);
tests/fakes/payments.py holds an in-memory one honouring the same contract. The treasury client (gateway/billing/treasury.py)
implements `Treasury`. They live here, not in gateway/payments/, because the pure domain may not
import storage and the trail `Message` is still gateway.storage.repository's. Reads return frozen
views; each write the trail must record in the same transaction is one method taking the trail
messages.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from gateway.decision.document import GuaranteeNote, PaymentNote
from gateway.decision.rules import CaseResult
from gateway.payments.check_digits import PaymentReference
from gateway.payments.order import PaymentOrder
from gateway.payments.reconcile import Statement
from gateway.payments.settlement import ApplicationState, Confirmation, Settlement
from gateway.trail.messages import Message


@dataclass(frozen=True)
class PayableApplication:
    """What payment needs of an application: who declared it, how it was decided, and what each
    agency assessed (agency -> its stored charges, in routing order)."""

    id: str
    declarant_bin: str
    verdict: str | None  # None while undecided
    decided_at: dt.datetime | None
    released_at: dt.datetime | None
    charges: tuple[tuple[str, tuple[dict[str, Any], ...]], ...]

    @property
    def granted_by_all(self) -> bool:
        return self.verdict in ("granted", "released")


@dataclass(frozen=True)
class IssuedOrder:
    """A stored order: the value, the signed document, and how far it is paid."""

    order: PaymentOrder
    signature: str  # detached JWS (RFC 7515 appendix F) over order.canonical_bytes()
    status: str  # open | paid | superseded
    received_minor: int
    issued_at: dt.datetime
    paid_at: dt.datetime | None


@dataclass(frozen=True)
class RecordedSettlement:
    """A settlement as stored, with when the confirmation arrived."""

    settlement: Settlement
    received_at: dt.datetime


@dataclass(frozen=True)
class PaidApplication:
    """An application being released: paid in full (`payment`), or secured by a guarantee
    customs accepted (`guarantee`; issue 20), or both once a secured application is paid (the
    guarantee discharged). What its released decision needs."""

    id: str
    declarant_bin: str
    trader_reference: str
    application_sha256: str
    cases: tuple[CaseResult, ...]
    released_at: dt.datetime
    payment: PaymentNote | None = None
    guarantee: GuaranteeNote | None = None
    # Paid or secured, but a cited permit's write-off was refused: the decision is signed as
    # held, with the refusal's problem code and sentence, not released (issue 20).
    held: tuple[str, str] | None = None


# Signs the released decision of a paid or secured application, inside the releasing transaction.
ReleaseDecision = Callable[[PaidApplication], bytes]

# The one rule `settle_payment` runs inside its transaction (gateway.payments.settle, bound).
SettleRule = Callable[
    [PaymentOrder | None, ApplicationState, Sequence[Settlement], Confirmation], Settlement
]
# Makes the order and its signature for a reference, inside the issuing transaction.
MakeOrder = Callable[[PaymentReference], tuple[PaymentOrder, str]]
# Makes the superseding order and its signature for a new reference, given what the superseded
# order received (minor units), inside the superseding transaction.
MakeSuperseding = Callable[[PaymentReference, int], tuple[PaymentOrder, str]]
# The trail messages of an order just made (the order and its signature).
OrderMessages = Callable[[PaymentOrder, str], Sequence[Message]]


class PaymentOrders(Protocol):
    def payable_application(self, application_id: str) -> PayableApplication | None: ...

    def order_for(self, application_id: str) -> IssuedOrder | None: ...

    def get(self, reference: str) -> IssuedOrder | None: ...

    def issue(
        self, application_id: str, day: dt.date, make: MakeOrder, messages: OrderMessages
    ) -> IssuedOrder:
        """The application's order: the existing one, or a new one with the next reference of
        `day` (made by `make`), stored with `messages` in one transaction."""
        ...

    def supersede(
        self,
        application_id: str,
        reference: str,
        day: dt.date,
        make: MakeSuperseding,
        messages: OrderMessages,
    ) -> IssuedOrder:
        """In one transaction: the order in force `reference` is marked superseded by a new one
        with the next reference of `day`, made by `make` with what `reference` received (a
        credit beyond the new total is owed back on its payments, the latest first); an order
        the credit pays in full is paid, and releases a granted application. If `reference` is
        no longer in force, the order in force is returned unchanged."""
        ...

    def settle_payment(
        self,
        confirmation: Confirmation,
        rule: SettleRule,
        messages: Callable[[Settlement], Sequence[Message]],
    ) -> Settlement:
        """In one transaction: the order (locked), the application's state and the earlier
        settlements of the reference; `rule` decides; a new settlement is stored with its trail
        messages, the order's received amount and status follow it, and an order paid in full
        releases its application. A duplicate payment id stores nothing and returns the first
        settlement with `duplicate=True` (or the rule's conflict error)."""
        ...

    def release_if_paid(self, application_id: str) -> bool:
        """Release a paid application that a permit held, once the hold has cleared (its cited
        quantities are written off again in that transaction, or it is held again)."""
        ...

    def settlements(self, reference: str) -> list[RecordedSettlement]: ...

    def refunds_owed(self) -> list[RecordedSettlement]: ...

    def recorded_on(self, day: dt.date) -> list[Confirmation]:
        """The payments the gateway recorded with value date `day` (refused ones too)."""
        ...

    def references(self) -> set[str]: ...

    def add_reconciliation(
        self,
        day: dt.date,
        statement: bytes,
        differences: Sequence[dict[str, Any]],
        messages: Sequence[Message],
    ) -> None: ...

    def record_refused(self, reference: str | None, messages: Sequence[Message]) -> None:
        """Keep a refused treasury callback's trail `messages` in a transaction of their own,
        with the application whose order has `reference` (none when no order has it)."""
        ...


@dataclass(frozen=True)
class VerifiedStatement:
    """A treasury statement whose signature verified: the value, and the exact bytes and header
    fields received (kept for the trail)."""

    statement: Statement
    final: bool
    raw: bytes
    headers: dict[str, str]


class Treasury(Protocol):
    def pay(
        self,
        instruction_id: str,
        reference: str,
        amount_minor: int,
        currency: str,
        payer: dict[str, str],
    ) -> dict[str, Any]:
        """Make a payment (the demo's `nsw pay`); the treasury's signed answer, verified."""
        ...

    def statement(self, day: dt.date) -> VerifiedStatement: ...
