"""The outbox side of the store: claim deliveries with a lease, settle them, reschedule failures.

Claiming is safe with any number of dispatcher threads and processes: on PostgreSQL candidates are
selected `FOR UPDATE SKIP LOCKED`; on SQLite every write transaction holds the database write lock
(BEGIN IMMEDIATE). Either way the claim itself is a guarded UPDATE, so a row whose lease has not
expired is never taken twice; a killed worker's row comes back when its lease runs out.
"""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import or_, select, update

from gateway.decision import CaseState
from gateway.storage.db import is_postgres
from gateway.storage.models import ApplicationRow, CaseRow, OutboxRow
from gateway.storage.repository import Claim, Decide, Message, Store, case_result


class OutboxStore(Store):
    def claim(self, worker: str, lease_s: float, limit: int = 1) -> list[Claim]:
        now = self.clock()
        lease_until = now + dt.timedelta(seconds=lease_s)
        claims: list[Claim] = []
        with self.transaction() as s:
            ready = (
                select(OutboxRow.id)
                .where(
                    OutboxRow.done_at.is_(None),
                    OutboxRow.available_at <= now,
                    or_(OutboxRow.lease_until.is_(None), OutboxRow.lease_until < now),
                )
                .order_by(OutboxRow.available_at, OutboxRow.id)
                .limit(limit)
            )
            if is_postgres(self.engine):
                ready = ready.with_for_update(skip_locked=True)
            for outbox_id in s.scalars(ready).all():
                taken = s.execute(
                    update(OutboxRow)
                    .where(
                        OutboxRow.id == outbox_id,
                        OutboxRow.done_at.is_(None),
                        or_(OutboxRow.lease_until.is_(None), OutboxRow.lease_until < now),
                    )
                    .values(
                        claimed_by=worker, lease_until=lease_until, attempts=OutboxRow.attempts + 1
                    )
                )
                if taken.rowcount != 1:  # type: ignore[attr-defined]
                    continue
                row = s.get_one(OutboxRow, outbox_id)
                case = s.get_one(CaseRow, row.case_id)
                app = s.get_one(ApplicationRow, case.application_id)
                claims.append(Claim(row.id, case.id, case.agency, app.id, app.body, row.attempts))
        return claims

    def settle(
        self,
        claim: Claim,
        *,
        state: CaseState,
        fields: dict[str, object],
        messages: list[Message],
        decide: Decide,
    ) -> str | None:
        """Record an agency's answer, close the delivery, and decide if every case is settled.

        Returns the verdict when this call made the decision."""
        now = self.clock()
        with self.transaction() as s:
            # Lock the application first: two workers settling its last two cases at once must
            # not both see "one still open" (PostgreSQL row lock; SQLite holds the write lock).
            s.execute(
                update(ApplicationRow)
                .where(ApplicationRow.id == claim.application_id)
                .values(updated_at=now)
            )
            case = s.get_one(CaseRow, claim.case_id)
            case.state = state.value
            case.attempts = claim.attempts
            case.last_error = None
            case.updated_at = now
            for name, value in fields.items():
                encoded = json.dumps(value) if name in ("reasons", "conditions", "extra") else value
                setattr(case, name, encoded)
            outbox = s.get_one(OutboxRow, claim.outbox_id)
            outbox.done_at = now
            outbox.lease_until = None
            for m in messages:
                self._add_message(s, claim.application_id, m)
            s.flush()
            app = s.get_one(ApplicationRow, claim.application_id)
            if app.status == "decided":
                return None
            decided = decide(app, [case_result(c) for c in app.cases])
            if decided is None:
                return None
            verdict, xml = decided
            app.status = "decided"
            app.verdict = verdict
            app.decided_at = now
            app.decision_xml = xml
            self._add_message(
                s,
                app.id,
                Message("decision", "out", f"trader:{app.declarant_bin}", "application/xml", xml),
            )
            return verdict

    def reschedule(
        self,
        claim: Claim,
        *,
        error: str,
        retry_at: dt.datetime | None,
        messages: list[Message],
    ) -> None:
        """A failed delivery: try again at `retry_at`, or escalate the case when it is None."""
        now = self.clock()
        with self.transaction() as s:
            case = s.get_one(CaseRow, claim.case_id)
            case.attempts = claim.attempts
            case.last_error = error
            case.updated_at = now
            outbox = s.get_one(OutboxRow, claim.outbox_id)
            outbox.lease_until = None
            if retry_at is None:
                case.state = CaseState.ESCALATED.value
                outbox.done_at = now
            else:
                outbox.available_at = retry_at
            for m in messages:
                self._add_message(s, claim.application_id, m)
