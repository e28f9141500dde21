"""The outbox side of the store: claim deliveries with a lease, settle them, reschedule failures.

Claiming (`Store._lease`, shared with trader notifications) is safe with any number of dispatcher
threads and processes: on PostgreSQL candidates are selected `FOR UPDATE SKIP LOCKED`; on SQLite
every write transaction holds the database write lock (BEGIN IMMEDIATE). Either way the claim itself is a guarded UPDATE, so a row whose lease has not
expired is never taken twice; a killed worker's row comes back when its lease runs out.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from gateway.decision.rules import CaseState
from gateway.domain.views import AgencyStats, CaseSummary
from gateway.fanout.ports import Answered, CaseUpdate, CaseView, ClaimTurn, Judge
from gateway.fanout.wakeup import OUTBOX
from gateway.i18n.text import Text
from gateway.storage import wake
from gateway.storage.core_tx import Tx, orm_of
from gateway.storage.db import is_postgres
from gateway.storage.driver_sql import sqlite_write
from gateway.storage.models import ApplicationRow, CaseRow, OutboxRow
from gateway.storage.notifications import enqueue_case_events, owe_decision
from gateway.storage.outbox_sql import any_ready, claim_deliveries, claim_deliveries_pg
from gateway.storage.permit_steps import record_granted_permit, release_without_payment
from gateway.storage.repository import Claim, Decide, Message, Store, utc
from gateway.storage.settle_group_sql import close_group, groupable
from gateway.storage.settle_sql import (
    Subscribed,
    decision_inputs,
    lock_application,
    record_decision_step,
    set_case,
    settle_case,
)
from gateway.storage.trail_log import append_messages
from gateway.storage.versions import decision_in_force


class OutboxStore(Store):
    @property
    def looks_before_claiming(self) -> bool:
        """SQLite: yes, a claim takes the write lock (`Outbox.looks_before_claiming`)."""
        return not is_postgres(self.engine)

    def claim(
        self,
        worker: str,
        lease_s: float,
        limit: int = 1,
        skip_agencies: frozenset[str] = frozenset(),
        *,
        seen_ready: bool = False,
    ) -> list[Claim]:
        """Take up to `limit` ready deliveries for `lease_s` seconds, leaving alone those for
        `skip_agencies` (their breakers are open)."""
        # One statement (`outbox_sql.claim_deliveries`). On SQLite an idle claimer first looks in
        # a read-only transaction, so that it does not queue for the write lock to find nothing
        # (unless its caller just looked: `seen_ready`); PostgreSQL's SKIP LOCKED claim never
        # waits for a writer, so it goes straight in.
        if not is_postgres(self.engine) and not seen_ready and not self._any_ready(self.clock()):
            return []
        return self.claim_ready(worker, lease_s, limit, skip_agencies).claims

    def claim_ready(
        self,
        worker: str,
        lease_s: float,
        limit: int = 1,
        skip_agencies: frozenset[str] = frozenset(),
    ) -> ClaimTurn:
        """`claim` without a look first, and `next_due` read with it, in its statements: one
        transaction per turn where a look, a claim and the next turn's look were three."""
        now = self.clock()
        lease_until = now + dt.timedelta(seconds=lease_s)
        if is_postgres(self.engine):  # one statement, in autocommit
            with self.autocommit() as cursor:
                return claim_deliveries_pg(
                    cursor, self.engine.dialect, worker=worker, now=now,
                    lease_until=lease_until, limit=limit, skip_agencies=skip_agencies,
                )  # fmt: skip
        with self.autocommit() as cursor, sqlite_write(self.engine, cursor):
            return claim_deliveries(  # two statements, holding the write lock
                cursor, self.engine.dialect, worker=worker, now=now, lease_until=lease_until,
                limit=limit, skip_agencies=skip_agencies,
            )  # fmt: skip

    def _any_ready(self, now: dt.datetime) -> bool:
        return self.read_scalar(any_ready(), {"now": now}) is not None

    def next_due(self) -> dt.datetime | None:
        """When a delivery may next be ready to claim; None when none is owed. (Deliveries of
        agencies with an open breaker count too: `claim` skips them.) See `Store._next_due`."""
        return self._next_due(OutboxRow)

    def settle(
        self,
        claim: Claim,
        *,
        state: CaseState,
        fields: Mapping[str, object],
        messages: list[Message],
        decide: Decide,
    ) -> str | None:
        """Record an agency's answer, close the delivery, and decide if every case is settled.

        Returns the verdict when this call made (or changed) the decision. A case a callback
        settled meanwhile (it overtook this synchronous answer) is left as it is: the delivery
        is closed and the late answer kept in the trail only. A claim whose lease was taken over
        by another worker changes nothing (`Store._fence`); that worker records its own answer."""
        return self.settle_all([Answered(claim, state, fields, messages)], decide)[0]

    def settle_all(self, answers: Sequence[Answered], decide: Decide) -> list[str | None]:
        """`settle` for several answers in one transaction (`Outbox.settle_all`): per
        application, one decision read and one compose after all of its answers, and their
        messages stored in one call. Applications are taken in the order of their ids, so that
        two groups locking the same applications lock them in the same order."""
        now = self.clock()
        verdicts: list[str | None] = [None] * len(answers)
        by_application: dict[str, list[int]] = {}
        for i, answer in enumerate(answers):
            by_application.setdefault(answer.claim.application_id, []).append(i)
        postgres = is_postgres(self.engine)
        with self.core_transaction() as s:
            for application_id in sorted(by_application):
                mine = [answers[i] for i in by_application[application_id]]
                written = self._close_deliveries(s, application_id, mine, now, postgres)
                changed: list[tuple[str, CaseState]] = []
                messages: list[Message] = []
                last = None
                for i, wrote in zip(by_application[application_id], written, strict=True):
                    if wrote is None:  # fenced out: another worker records its own answer
                        continue
                    messages += answers[i].messages
                    if wrote:
                        changed.append((answers[i].claim.case_id, answers[i].state))
                        last = i
                if last is None:
                    # Every case was settled meanwhile by a callback (or every claim fenced out):
                    # the late answers join the trail only.
                    self._add_messages(s, application_id, messages)
                    continue
                verdicts[last] = self._compose(s, application_id, messages, decide, now, changed)
        return verdicts

    def _close_deliveries(
        self,
        s: Tx,
        application_id: str,
        answers: Sequence[Answered],
        now: dt.datetime,
        postgres: bool,
    ) -> list[bool | None]:
        """Inside `s`: release each answer's lease and close its delivery (fenced), lock the
        application, and write each fenced answer's case if it is still open, for all of them
        at once (`settle_group_sql.close_group`: one statement on PostgreSQL, three on SQLite).
        Per answer: whether its case was written, or None when its claim was fenced out.

        An answer alone (as most are when agencies answer one after another), or two on SQLite,
        takes the plain statements of `_close_delivery`, answer by answer: for so few rows they
        cost less CPU than the set-based ones (on SQLite, whose statements make no round trip,
        the set-based ones pay from three answers on). So does a group with a value the
        set-based statements do not carry (`settle_group_sql.groupable`)."""
        if len(answers) < (2 if postgres else 3) or not all(groupable(a.fields) for a in answers):
            written: list[bool | None] = []
            for answer in answers:
                locked = any(w is not None for w in written)
                written.append(self._close_delivery(s, answer, now, locked=locked))
            return written
        closed = close_group(
            s, application_id,
            [(a.claim, a.state, {**a.fields, "attempts": a.claim.attempts, "last_error": None})
             for a in answers],
            now, postgres=postgres,
        )  # fmt: skip
        result: list[bool | None] = []
        for answer in answers:
            claim = answer.claim
            if claim.outbox_id in closed.fenced:
                result.append(claim.case_id in closed.written)
                continue
            kind = "outbox-settle"
            self._fenced_out(kind, OutboxRow, claim.outbox_id, claim.worker, claim.generation)
            result.append(None)
        return result

    def _close_delivery(
        self, s: Tx, answer: Answered, now: dt.datetime, *, locked: bool
    ) -> bool | None:
        """`_close_deliveries` for one answer: three statements (two when the application is
        `locked` in `s` already), or on PostgreSQL one (`settle_case`: one round trip for
        three)."""
        claim = answer.claim
        answered = {**answer.fields, "attempts": claim.attempts, "last_error": None}
        done = settle_case(
            s, claim, state=answer.state, fields=answered, now=now,
            postgres=is_postgres(self.engine),
        )  # fmt: skip
        if done is None:
            if not self._fence(
                s, OutboxRow, claim.outbox_id, claim.worker, claim.generation,
                "outbox-settle", done_at=now,
            ):  # fmt: skip
                return None
            if not locked:
                lock_application(s, claim.application_id, now)
            return set_case(
                s, claim.case_id, state=answer.state, fields=answered, now=now, only_if_open=True
            )
        fenced, written = done
        if not fenced:
            kind = "outbox-settle"
            self._fenced_out(kind, OutboxRow, claim.outbox_id, claim.worker, claim.generation)
            return None
        return written

    def update_case(
        self,
        s: Session,
        case_id: str,
        *,
        state: CaseState,
        fields: Mapping[str, object],
        messages: Sequence[Message],
        decide: Decide,
    ) -> str | None:
        """Inside transaction `s`: set a case's state and fields, store the messages, and compose
        the decision again. A decided application whose cases change (a held case settled later)
        gets a new signed decision; returns the verdict whenever a decision was written."""
        now = self.clock()
        s.flush()  # what the caller changed through the ORM is written before these statements
        application_id = s.execute(
            select(CaseRow.application_id).where(CaseRow.id == case_id)
        ).scalar_one()
        lock_application(s, application_id, now)
        set_case(s, case_id, state=state, fields=fields, now=now, only_if_open=False)
        # ORM objects the caller holds would still show the old values: load them again on use.
        for loaded in list(s.identity_map.values()):
            if isinstance(loaded, CaseRow | ApplicationRow):
                s.expire(loaded)
        return self._compose(s, application_id, messages, decide, now, [(case_id, state)])

    def _compose(
        self,
        s: Tx,
        application_id: str,
        messages: Sequence[Message],
        decide: Decide,
        now: dt.datetime,
        changed: Sequence[tuple[str, CaseState]],
    ) -> str | None:
        """Inside `s`, after cases changed (`changed`: their ids and new states, in order):
        compose the decision from the application and its cases (one read), store the messages,
        and record the decision when every case is settled.

        The decision is composed and signed before the first message joins the trail: on
        PostgreSQL an append holds the trail's sequencer lock until the commit, and signing is
        the slowest step here, so it is done before that lock is taken, not while every other
        writer to the trail waits. The trail's order is unchanged: the messages, then the
        decision (which cites the answers by the hashes stored with the cases, not the trail)."""
        inputs = decision_inputs(s, application_id)
        # An agency acknowledged a cancellation, or the application is withdrawn (issue 19):
        # nothing to decide; the answer and what the change owes are still recorded. (While a
        # case is open there is no decision to compose: `decide` is not asked.) Of several
        # changes, any but a cancellation decides, as it would have settled one after another:
        # a cancelled case takes no part in the decision, so it comes out the same.
        deciding = (
            any(state is not CaseState.CANCELLED for _, state in changed)
            and not inputs.withdrawn
            and inputs.decidable
        )
        decided = None
        if deciding:
            replaces = decision_in_force(s, application_id, inputs.decision_xml)
            decided = decide(replace(inputs.subject, replaces=replaces), inputs.cases)
        subject = inputs.subject
        declarant = (subject.declarant_bin, subject.trader_reference)
        # The trail's entries of this change, stored in one call: the answers, the permits they
        # granted, then the decision.
        trail = list(messages)
        for case_id, state in changed:
            granted = self._case_changed(
                s, inputs.case(case_id), state, declarant, inputs.registration
            )
            if granted is not None:
                trail.append(granted)
        if decided is None:
            self._add_messages(s, application_id, trail)
            return None
        verdict, xml = decided
        if verdict == "released" and inputs.subject.released_at is None:  # nothing owed (#20)
            # The release's write-off steps join the trail after the grants they draw on.
            self._add_messages(s, application_id, trail)
            trail = []
            refusal = release_without_payment(orm_of(s), application_id, self)
            if refusal is not None:
                # A cited permit could not be written off: the decision says held, and why
                # (signed again; rare, so the sequencer lock's wait is accepted here).
                held = replace(
                    inputs.subject, replaces=replaces, held=(refusal.code, refusal.detail)
                )
                decided = decide(held, inputs.cases) or decided
                verdict, xml = decided
        trader = inputs.subject.declarant_bin
        trail.append(Message("decision", "out", f"trader:{trader}", "application/xml", xml))
        # The decision recorded, then the trail's entries: on PostgreSQL in one statement.
        decision = record_decision_step(application_id, verdict=verdict, xml=xml, now=now)
        append_messages(s, application_id, trail, self.clock, step=decision)
        owe_decision(s, application_id, trader, verdict, xml, self.clock, inputs.registration)
        return verdict

    def _case_changed(
        self,
        s: Tx,
        case: Row[Any],
        state: CaseState,
        declarant: tuple[str, str],
        registration: Subscribed | None,
    ) -> Message | None:
        """What a case's change owes in its own transaction: the trader's progress events (the
        ones it chose) and, for a grant with a permit block, the permit (issue 20), whose trail
        entry is returned for the caller to store. `case`, `declarant` and `registration` are
        what the decision's read returned: nothing is read again."""
        enqueue_case_events(s, case, self.clock, declarant, registration)
        if state is CaseState.GRANTED:
            return record_granted_permit(s, case, self)
        return None

    def answer_case(self, case_id: str, judge: Judge, decide: Decide) -> str | None:
        """An agency's callback (`gateway.fanout.ports.CallbackCases`): under the application's
        row lock, `judge` the case as stored; an update closes the case's open deliveries and is
        recorded with `update_case`. An exception from `judge` rolls everything back."""
        with self.transaction() as s:
            row = _locked_case(s, case_id, self.clock())
            update_ = judge(None if row is None else _case_view(row))
            if row is None or update_ is None:
                return None
            now = self.clock()
            for delivery in s.scalars(
                select(OutboxRow).where(OutboxRow.case_id == case_id, OutboxRow.done_at.is_(None))
            ):
                delivery.done_at, delivery.lease_until = now, None
            return self._apply(s, case_id, update_, decide)

    def _apply(self, s: Session, case_id: str, update_: CaseUpdate, decide: Decide) -> str | None:
        return self.update_case(
            s,
            case_id,
            state=update_.state,
            fields=update_.fields,
            messages=update_.messages,
            decide=decide,
        )

    def reschedule(
        self,
        claim: Claim,
        *,
        error: str,
        retry_at: dt.datetime | None,
        messages: list[Message],
    ) -> None:
        """A failed delivery: try again at `retry_at`, or escalate the case when it is None.
        Nothing changes when another worker holds the row's lease now (`Store._fence`)."""
        now = self.clock()
        with self.transaction() as s:
            if not self._fenced(s, claim, "outbox-reschedule"):
                return
            if self._settled_meanwhile(s, claim, messages):
                outbox = s.get_one(OutboxRow, claim.outbox_id)
                outbox.done_at, outbox.lease_until = now, None
                return
            case = s.get_one(CaseRow, claim.case_id)
            case.attempts = claim.attempts
            case.last_error = error
            case.updated_at = now
            outbox = s.get_one(OutboxRow, claim.outbox_id)
            if retry_at is None:
                case.state = CaseState.ESCALATED.value
                outbox.done_at = now
            else:
                outbox.available_at = retry_at
                wake.owe(s, OUTBOX)  # other processes' dispatchers learn the new due time
            for m in messages:
                self._add_message(s, claim.application_id, m)

    def _fenced(self, s: Session, claim: Claim, kind: str) -> bool:
        return self._fence(s, OutboxRow, claim.outbox_id, claim.worker, claim.generation, kind)

    def _settled_meanwhile(self, s: Session, claim: Claim, messages: list[Message]) -> bool:
        """Lock the application (callbacks and dispatchers settling its cases queue on that row
        lock, or on SQLite's write lock) and tell whether the case is settled already; if so, keep
        `messages` for the trail. Checked in the same transaction as the write it guards."""
        case = s.get_one(CaseRow, claim.case_id)
        s.execute(
            update(ApplicationRow)
            .where(ApplicationRow.id == case.application_id)
            .values(updated_at=self.clock())
        )
        s.refresh(case)
        if not CaseState(case.state).settled:
            return False
        for m in messages:
            self._add_message(s, claim.application_id, m)
        return True

    def defer(self, claim: Claim, until: dt.datetime) -> None:
        """Put a claimed delivery back without counting an attempt (its agency's breaker is open);
        nothing changes when another worker holds the row's lease now (`Store._fence`)."""
        with self.transaction() as s:
            if not self._fenced(s, claim, "outbox-defer"):
                return
            outbox = s.get_one(OutboxRow, claim.outbox_id)
            outbox.attempts = max(outbox.attempts - 1, 0)
            outbox.available_at = until
            wake.owe(s, OUTBOX)

    def escalate_overdue(self, deadline_s: float) -> list[str]:
        """Escalate every open case (queued, pending) of an application received more than
        `deadline_s` ago: visible in status, never silently dropped. Returns the case ids."""
        now = self.clock()
        cutoff = now - dt.timedelta(seconds=deadline_s)
        overdue_cases = (
            select(CaseRow)
            .join(ApplicationRow, ApplicationRow.id == CaseRow.application_id)
            .where(
                CaseRow.state.in_([CaseState.QUEUED.value, CaseState.PENDING.value]),
                func.coalesce(ApplicationRow.amended_at, ApplicationRow.received_at) < cutoff,
            )
        )
        with self.reading() as s:  # the usual answer, none, without SQLite's write lock
            if s.scalars(overdue_cases.limit(1)).first() is None:
                return []
        with self.transaction() as s:
            overdue = s.scalars(overdue_cases).all()
            for case in overdue:
                case.last_error = (
                    f"no answer within the deadline of {deadline_s:.0f} s "
                    f"(last state {case.state}); escalated for an operator"
                )
                case.state = CaseState.ESCALATED.value
                case.updated_at = now
                s.execute(
                    update(OutboxRow)
                    .where(OutboxRow.case_id == case.id, OutboxRow.done_at.is_(None))
                    .values(done_at=now, lease_until=None)
                )
            return [case.id for case in overdue]

    def retry_case(self, case_id: str, messages: Sequence[Message] = ()) -> str:
        """An operator sends an escalated case again: back to queued with a fresh delivery.
        `messages` (e.g. the officer's action) join the trail in the same transaction."""
        now = self.clock()
        with self.transaction() as s:
            case = s.get(CaseRow, case_id)
            if case is None:
                raise LookupError(Text("There is no case %(case_id)s.", case_id=case_id))
            if case.state != CaseState.ESCALATED.value:
                raise ValueError(
                    Text(
                        "Case %(case_id)s is %(state)s; only escalated cases are retried by hand.",
                        case_id=case_id,
                        state=case.state,
                    )
                )
            # The same question again: a request, an amendment or a cancellation (issue 19).
            last = s.scalars(
                select(OutboxRow).where(OutboxRow.case_id == case_id).order_by(OutboxRow.id.desc())
            ).first()
            again = OutboxRow(case_id=case_id, available_at=now, attempts=0)
            if last is not None:
                again.operation, again.version, again.reason = (
                    last.operation,
                    last.version,
                    last.reason,
                )
            cancelling = again.operation == "cancel"
            case.state = (CaseState.CANCELLING if cancelling else CaseState.QUEUED).value
            case.attempts = 0
            case.last_error = None
            case.updated_at = now
            s.add(again)
            wake.owe(s, OUTBOX)
            for m in messages:
                self._add_message(s, case.application_id, m)
            return case.application_id

    def cases(self, state: str | None = None) -> list[CaseSummary]:
        with self.reading() as s:
            query = select(CaseRow).order_by(CaseRow.updated_at)
            if state:
                query = query.where(CaseRow.state == state)
            return [
                CaseSummary(c.id, c.application_id, c.agency, c.state, c.attempts, c.last_error)
                for c in s.scalars(query)
            ]

    def agency_stats(self) -> dict[str, AgencyStats]:
        """Per agency: cases by state and the oldest open case's age — for operators."""
        now = self.clock()
        by_state: dict[str, dict[str, int]] = {}
        oldest_open: dict[str, float | None] = {}
        with self.reading() as s:
            rows = s.execute(
                select(
                    CaseRow.agency, CaseRow.state, func.count(), func.min(CaseRow.updated_at)
                ).group_by(CaseRow.agency, CaseRow.state)
            ).all()
        for agency, state, count, oldest in rows:
            by_state.setdefault(agency, {})[state] = count
            previous = oldest_open.setdefault(agency, None)
            if state in (CaseState.QUEUED.value, CaseState.PENDING.value) and oldest is not None:
                age = (now - (utc(oldest) or now)).total_seconds()
                oldest_open[agency] = max(age, previous) if previous is not None else age
        return {agency: AgencyStats(by_state[agency], oldest_open[agency]) for agency in by_state}


def _locked_case(s: Session, case_id: str, now: dt.datetime) -> CaseRow | None:
    """The case, re-read after locking its application row (callbacks and dispatchers settling
    cases of one application queue on that lock)."""
    case = s.get(CaseRow, case_id)
    if case is None:
        return None
    s.execute(
        update(ApplicationRow)
        .where(ApplicationRow.id == case.application_id)
        .values(updated_at=now)
    )
    s.refresh(case)
    return case


def _case_view(row: CaseRow) -> CaseView:
    return CaseView(
        id=row.id,
        application_id=row.application_id,
        agency=row.agency,
        state=CaseState(row.state),
        permit_number=row.permit_number,
        valid_until=row.valid_until,
        reasons=tuple((code, text) for code, text in json.loads(row.reasons)),
        conditions=tuple(json.loads(row.conditions)),
        inspection=row.inspection,
    )
