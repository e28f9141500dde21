"""`InMemoryStore`: the intake, outbox and callback ports (gateway.intake.ports.Applications,
gateway.fanout.ports.Outbox and CallbackCases) over dicts, with the contract of
gateway.storage.outbox.OutboxStore: one application, one case and one delivery per routed
agency; claims leased and fenced by (worker, generation); a case settled meanwhile is kept; every
message appended to an in-memory trail with the write it belongs to; the decision composed by the
`Decide` given once every case is settled."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gateway.clock import Clock, iso
from gateway.decision.ports import Decide, DecisionSubject
from gateway.decision.rules import CaseResult, CaseState, decidable
from gateway.domain.views import ApplicationStatus, CaseStatus, ReasonView
from gateway.fanout.ports import (
    Answered,
    CallbackCases,
    CaseView,
    Claim,
    ClaimTurn,
    Judge,
    Outbox,
)
from gateway.intake.ports import Applications, DuplicateReference, NewApplication
from gateway.trail.messages import Message, sha256_hex

OPEN = (CaseState.QUEUED, CaseState.PENDING)


@dataclass
class StoredApplication:
    id: str
    declarant_bin: str
    trader_reference: str
    procedure: str
    body: bytes
    signer_subject: str
    received_at: dt.datetime
    routing: dict[str, list[dict[str, Any]]]
    request_id: str | None
    status: str = "in_progress"
    verdict: str | None = None
    decided_at: dt.datetime | None = None
    decision_xml: bytes | None = None

    @property
    def body_sha256(self) -> str:
        return sha256_hex(self.body)


@dataclass
class StoredCase:
    id: str
    application_id: str
    position: int
    agency: str
    state: CaseState = CaseState.QUEUED
    permit_number: str | None = None
    valid_until: str | None = None
    reasons: list[list[str]] = field(default_factory=list)
    conditions: list[str] = field(default_factory=list)
    inspection: str | None = None
    extra: dict[str, object] = field(default_factory=dict)
    charges: list[dict[str, Any]] = field(default_factory=list)  # what the agency assessed
    answer_sha256: str | None = None
    attempts: int = 0
    last_error: str | None = None

    def result(self) -> CaseResult:
        return CaseResult(
            agency=self.agency,
            state=self.state,
            permit_number=self.permit_number,
            valid_until=self.valid_until,
            reasons=tuple((code, text) for code, text in self.reasons),
            conditions=tuple(self.conditions),
            inspection=self.inspection,
            answer_sha256=self.answer_sha256,
            charges=tuple(self.charges),
        )

    def view(self) -> CaseView:
        r = self.result()
        return CaseView(
            self.id, self.application_id, self.agency, self.state, r.permit_number,
            r.valid_until, r.reasons, r.conditions, r.inspection,
        )  # fmt: skip


@dataclass
class StoredDelivery:
    id: int
    case_id: str
    available_at: dt.datetime
    attempts: int = 0
    done_at: dt.datetime | None = None
    lease_until: dt.datetime | None = None
    claimed_by: str | None = None
    generation: int = 0


@dataclass(frozen=True)
class TrailRecord:
    application_id: str | None
    message: Message


class InMemoryStore:
    """Thread-safe: one lock stands for the database's transaction isolation."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.applications: dict[str, StoredApplication] = {}
        self.cases: dict[str, StoredCase] = {}
        self.deliveries: dict[int, StoredDelivery] = {}
        self.trail: list[TrailRecord] = []
        self.fenced: Counter[str] = Counter()
        self._lock = threading.RLock()

    # --- what tests read -------------------------------------------------------------------------

    def kinds(self, application_id: str) -> list[str]:
        """The kinds of the application's trail entries, in order."""
        return [r.message.kind for r in self.trail if r.application_id == application_id]

    def application(self, application_id: str) -> ApplicationStatus | None:
        """As `Store.application` reads it."""
        with self._lock:
            app = self.applications.get(application_id)
            if app is None:
                return None
            cases = sorted(
                (c for c in self.cases.values() if c.application_id == application_id),
                key=lambda c: c.position,
            )
            return ApplicationStatus(
                app.id, app.declarant_bin, app.trader_reference, app.procedure, app.status,
                app.verdict, iso(app.received_at), iso(app.decided_at) if app.decided_at else None,
                app.body_sha256, app.signer_subject, app.routing, app.request_id,
                tuple(
                    CaseStatus(
                        c.id, c.agency, c.state.value, c.permit_number, c.valid_until,
                        tuple(ReasonView(code, text) for code, text in c.reasons),
                        tuple(c.conditions), c.inspection, c.extra, c.attempts, c.last_error,
                        tuple(c.charges),
                    )
                    for c in cases
                ),
            )  # fmt: skip

    def open_deliveries(self, case_id: str) -> list[StoredDelivery]:
        return [d for d in self.deliveries.values() if d.case_id == case_id and d.done_at is None]

    # --- Applications ----------------------------------------------------------------------------

    def create_application(self, new: NewApplication, messages: list[Message]) -> dt.datetime:
        now = self.clock()
        with self._lock:
            for app in self.applications.values():
                if (app.declarant_bin, app.trader_reference) == (
                    new.declarant_bin,
                    new.trader_reference,
                ):
                    raise DuplicateReference(app.id, app.body_sha256 == sha256_hex(new.body))
            self.applications[new.id] = StoredApplication(
                new.id, new.declarant_bin, new.trader_reference, new.procedure, new.body,
                new.signer_subject, now, new.routing, new.request_id,
            )  # fmt: skip
            for position, agency in enumerate(new.routing):
                case_id = f"{new.id}-{agency}"
                self.cases[case_id] = StoredCase(case_id, new.id, position, agency)
                self._new_delivery(case_id, now)
            for m in messages:
                self._append(new.id, m)
        return now

    # --- Outbox ----------------------------------------------------------------------------------

    looks_before_claiming = True  # as on SQLite; a test may turn it off (PostgreSQL's way)

    def next_due(self) -> dt.datetime | None:
        return self._next_due()

    def _next_due(self) -> dt.datetime | None:
        with self._lock:
            due = [
                d.lease_until
                if d.lease_until is not None and d.lease_until > d.available_at
                else d.available_at
                for d in self.deliveries.values()
                if d.done_at is None
            ]
        return min(due, default=None)

    def claim(
        self,
        worker: str,
        lease_s: float,
        limit: int = 1,
        skip_agencies: frozenset[str] = frozenset(),
        *,
        seen_ready: bool = False,  # nothing to save here: the look costs nothing in memory
    ) -> list[Claim]:
        now = self.clock()
        with self._lock:
            ready = sorted(
                (
                    d
                    for d in self.deliveries.values()
                    if d.done_at is None
                    and d.available_at <= now
                    and (d.lease_until is None or d.lease_until < now)
                    and self.cases[d.case_id].agency not in skip_agencies
                ),
                key=lambda d: (d.available_at, d.id),
            )[:limit]
            claims = []
            for d in ready:
                d.claimed_by, d.generation = worker, d.generation + 1
                d.lease_until = now + dt.timedelta(seconds=lease_s)
                d.attempts += 1
                case = self.cases[d.case_id]
                app = self.applications[case.application_id]
                claims.append(
                    Claim(
                        d.id,
                        case.id,
                        case.agency,
                        app.id,
                        app.body,
                        d.attempts,
                        app.received_at,
                        app.request_id,
                        worker,
                        d.generation,
                        d.lease_until,
                    )
                )
            return claims

    def claim_ready(
        self,
        worker: str,
        lease_s: float,
        limit: int = 1,
        skip_agencies: frozenset[str] = frozenset(),
    ) -> ClaimTurn:
        with self._lock:  # reentrant: the claim and the look as one step, as in one transaction
            claims = self.claim(worker, lease_s, limit, skip_agencies, seen_ready=True)
            return ClaimTurn(claims, self._next_due())

    def defer(self, claim: Claim, until: dt.datetime) -> None:
        with self._lock:
            if not self._fence(claim, "outbox-defer"):
                return
            d = self.deliveries[claim.outbox_id]
            d.attempts, d.available_at = max(d.attempts - 1, 0), until

    def settle(
        self,
        claim: Claim,
        *,
        state: CaseState,
        fields: Mapping[str, object],
        messages: list[Message],
        decide: Decide,
    ) -> str | None:
        with self._lock:
            if not self._fence(claim, "outbox-settle"):
                return None
            self.deliveries[claim.outbox_id].done_at = self.clock()
            if self._settled_meanwhile(claim, messages):
                return None
            fields = {**fields, "attempts": claim.attempts, "last_error": None}
            return self._update_case(claim.case_id, state, fields, messages, decide)

    def settle_all(self, answers: Sequence[Answered], decide: Decide) -> list[str | None]:
        # One lock held for all: as one transaction, though a fake has no rollback to offer.
        with self._lock:
            return [
                self.settle(
                    a.claim, state=a.state, fields=a.fields, messages=a.messages, decide=decide
                )
                for a in answers
            ]

    def reschedule(
        self,
        claim: Claim,
        *,
        error: str,
        retry_at: dt.datetime | None,
        messages: list[Message],
    ) -> None:
        now = self.clock()
        with self._lock:
            if not self._fence(claim, "outbox-reschedule"):
                return
            d = self.deliveries[claim.outbox_id]
            if self._settled_meanwhile(claim, messages):
                d.done_at, d.lease_until = now, None
                return
            case = self.cases[claim.case_id]
            case.attempts, case.last_error = claim.attempts, error
            if retry_at is None:
                case.state, d.done_at = CaseState.ESCALATED, now
            else:
                d.available_at = retry_at
            for m in messages:
                self._append(claim.application_id, m)

    def escalate_overdue(self, deadline_s: float) -> list[str]:
        now = self.clock()
        cutoff = now - dt.timedelta(seconds=deadline_s)
        with self._lock:
            overdue = [
                c
                for c in self.cases.values()
                if c.state in OPEN and self.applications[c.application_id].received_at < cutoff
            ]
            for case in overdue:
                case.last_error = (
                    f"no answer within the deadline of {deadline_s:.0f} s "
                    f"(last state {case.state.value}); escalated for an operator"
                )
                case.state = CaseState.ESCALATED
                for d in self.open_deliveries(case.id):
                    d.done_at, d.lease_until = now, None
            return [c.id for c in overdue]

    # --- CallbackCases ---------------------------------------------------------------------------

    def answer_case(self, case_id: str, judge: Judge, decide: Decide) -> str | None:
        with self._lock:
            case = self.cases.get(case_id)
            update = judge(None if case is None else case.view())  # raises: nothing written
            if case is None or update is None:
                return None
            for d in self.open_deliveries(case_id):
                d.done_at, d.lease_until = self.clock(), None
            return self._update_case(case_id, update.state, update.fields, update.messages, decide)

    # --- inside the one "transaction" ------------------------------------------------------------

    def _new_delivery(self, case_id: str, now: dt.datetime) -> None:
        next_id = max(self.deliveries, default=0) + 1
        self.deliveries[next_id] = StoredDelivery(next_id, case_id, now)

    def _append(self, application_id: str | None, message: Message) -> None:
        self.trail.append(TrailRecord(application_id, message))

    def _fence(self, claim: Claim, kind: str) -> bool:
        d = self.deliveries[claim.outbox_id]
        if d.claimed_by == claim.worker and d.generation == claim.generation:
            d.lease_until = None
            return True
        self.fenced[kind] += 1
        return False

    def _settled_meanwhile(self, claim: Claim, messages: Sequence[Message]) -> bool:
        if not self.cases[claim.case_id].state.settled:
            return False
        for m in messages:
            self._append(claim.application_id, m)
        return True

    def _update_case(
        self,
        case_id: str,
        state: CaseState,
        fields: Mapping[str, object],
        messages: Sequence[Message],
        decide: Decide,
    ) -> str | None:
        case = self.cases[case_id]
        case.state = state
        for name, value in fields.items():
            if not hasattr(case, name):
                raise AttributeError(f"a case has no field {name!r}")
            setattr(case, name, value)
        for m in messages:
            self._append(case.application_id, m)
        app = self.applications[case.application_id]
        cases = sorted(
            (c for c in self.cases.values() if c.application_id == app.id),
            key=lambda c: c.position,
        )
        if not decidable(c.state for c in cases):
            return None  # as the database store: `decide` is not asked while a case is open
        subject = DecisionSubject(app.id, app.declarant_bin, app.trader_reference, app.body_sha256)
        decided = decide(subject, [c.result() for c in cases])
        if decided is None:
            return None
        app.verdict, app.decision_xml = decided
        app.status, app.decided_at = "decided", self.clock()
        self._append(
            app.id,
            Message(
                "decision", "out", f"trader:{app.declarant_bin}", "application/xml", decided[1]
            ),
        )
        return app.verdict


def _implements(store: InMemoryStore) -> tuple[Applications, Outbox, CallbackCases]:
    """Never called: `mypy tests/fakes` checks the fake against the ports here."""
    return store, store, store
