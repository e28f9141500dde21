"""What the fan-out services need from storage: the outbox the dispatchers work through, and the
cases an agency's callback settles. Implemented by `gateway.storage.outbox.OutboxStore`; the
in-memory fake is tests/fakes/outbox.py. Every write that is recorded in the trail takes its
`Message`s and stores them in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from gateway.decision.ports import Decide
from gateway.decision.rules import CaseState
from gateway.trail.messages import Message


@dataclass(frozen=True)
class Claim:
    outbox_id: int
    case_id: str
    agency: str
    application_id: str
    application_body: bytes
    attempts: int
    received_at: dt.datetime
    request_id: str | None = None
    worker: str = ""  # who holds the lease, and the row's lease generation at the claim: the
    generation: int = 0  # fencing token every later write of this claim must match
    lease_until: dt.datetime | None = None
    # Issue 19: what to ask — "request", "amend" (for the application's `version`) or "cancel".
    operation: str = "request"
    version: int = 1
    reason: str | None = None


@dataclass(frozen=True)
class Answered:
    """An agency's answer to a claimed delivery, to be recorded (`Outbox.settle_all`): the case's
    new state, its answer fields, and the request and answer for the trail."""

    claim: Claim
    state: CaseState
    fields: Mapping[str, object]
    messages: list[Message]


@dataclass(frozen=True)
class ClaimTurn:
    """What one claiming turn took, and when a delivery may next be ready after it (`next_due`,
    read in the claim's own transaction)."""

    claims: list[Claim]
    next_due: dt.datetime | None


class Outbox(Protocol):
    """Deliveries to agencies, claimed with a fenced lease by any number of dispatchers."""

    @property
    def looks_before_claiming(self) -> bool:
        """Whether a claim that finds nothing costs more than a look (`next_due`): SQLite's
        claim queues for the write lock, so a dispatcher looks first when it knows of nothing
        due; PostgreSQL's claim is one statement that takes no lock when it finds nothing and
        says when the next delivery is due itself, so a look would only add a transaction."""
        ...

    def next_due(self) -> dt.datetime | None:
        """When a delivery may next be ready to claim; None when none is owed."""
        ...

    def claim(
        self,
        worker: str,
        lease_s: float,
        limit: int = 1,
        skip_agencies: frozenset[str] = frozenset(),
        *,
        seen_ready: bool = False,
    ) -> list[Claim]:
        """Take up to `limit` ready deliveries for `lease_s` seconds, counting an attempt, leaving
        alone those for `skip_agencies`. `seen_ready`: the caller has just read (`next_due`) that
        one is ready, so the store need not look before it claims."""
        ...

    def claim_ready(
        self,
        worker: str,
        lease_s: float,
        limit: int = 1,
        skip_agencies: frozenset[str] = frozenset(),
    ) -> ClaimTurn:
        """`claim` for a caller that knows a delivery is ready (it just read `next_due`, or its
        last turn's `next_due` said so), and, in the same transaction, `next_due` as it stands
        after the claim: the caller's next turn needs no read of its own to know whether to
        claim again or how long to sleep."""
        ...

    def defer(self, claim: Claim, until: dt.datetime) -> None:
        """Put a claimed delivery back without counting an attempt."""
        ...

    def settle(
        self,
        claim: Claim,
        *,
        state: CaseState,
        fields: Mapping[str, object],
        messages: list[Message],
        decide: Decide,
    ) -> str | None:
        """Record an agency's answer, close the delivery and compose the decision if every case
        is settled; the verdict when this call made one. A case settled meanwhile (a callback
        overtook the answer) is left as it is, `messages` kept in the trail only. A claim whose
        lease another worker took over changes nothing."""
        ...

    def settle_all(self, answers: Sequence[Answered], decide: Decide) -> list[str | None]:
        """`settle` for each answer, in one transaction: each claim fenced on its own (one whose
        lease another worker took over changes nothing, the others settle), the decision of each
        application composed once, after all of its answers in the group (their messages first,
        in the group's order). Returns, per answer, the verdict when the group made (or changed)
        its application's decision, on the last answer of that application that changed a case.
        An exception settles nothing: the caller decides what to try again."""
        ...

    def reschedule(
        self,
        claim: Claim,
        *,
        error: str,
        retry_at: dt.datetime | None,
        messages: list[Message],
    ) -> None:
        """A failed delivery: try again at `retry_at`, or escalate the case when it is None."""
        ...

    def escalate_overdue(self, deadline_s: float) -> list[str]:
        """Escalate every open case of an application older than `deadline_s`; their ids."""
        ...


@dataclass(frozen=True)
class CaseView:
    """One agency's case as stored."""

    id: str
    application_id: str
    agency: str
    state: CaseState
    permit_number: str | None
    valid_until: str | None
    reasons: tuple[tuple[str, str], ...]  # (code, text)
    conditions: tuple[str, ...]
    inspection: str | None


@dataclass(frozen=True)
class CaseUpdate:
    """What an answer changes on a case: its state, its columns, and the messages recorded."""

    state: CaseState
    fields: Mapping[str, object]
    messages: Sequence[Message]


# Given the case as stored (None: no such case) under its application's lock: the update to make,
# None to change nothing, or an exception to refuse (nothing is written).
Judge = Callable[[CaseView | None], CaseUpdate | None]


class CallbackCases(Protocol):
    def answer_case(self, case_id: str, judge: Judge, decide: Decide) -> str | None:
        """In one transaction, under the application's lock: `judge` the case; if it returns an
        update, close the case's open deliveries, apply the update, store its messages and
        compose the decision. Returns the verdict when a decision was written."""
        ...
