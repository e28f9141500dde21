"""`Permits` on the database (gateway.billing.permit_ports): permits with a balance, write-offs
under a row lock, credit-backs, the agency's suspension and revocation, and holds.

The race for the last units (issue 20 item 4): every write-off locks its permit row first
(`SELECT ... FOR UPDATE` on PostgreSQL; SQLite's `BEGIN IMMEDIATE` already holds the write lock),
reads the permit with its write-offs, lets the domain (`Permit.write_off`) decide, and applies it
as one conditional UPDATE (`written_off + q` only while `granted - written_off >= q`). Of two
transactions drawing on the last units, the second waits for the first, then sees the new balance
and gets the domain's `PermitBalanceExceeded` with what remains.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select

from gateway.billing.permit_ports import (
    Citation,
    Hold,
    StepMessages,
    WriteOffRecord,
)
from gateway.billing.ports import ReleaseDecision
from gateway.errors import GatewayError, NotFound
from gateway.i18n.text import Text
from gateway.payments.permits import Permit
from gateway.storage.held_retry import retry_held, retry_reinstated
from gateway.storage.permit_citations import citations_of
from gateway.storage.permit_models import (
    PermitHoldRow,
    PermitRow,
    PermitWriteOffRow,
)
from gateway.storage.permit_steps import (
    citing,
    credit_back_in,
    hold_in,
    lock_permit,
    not_exited,
    permit_of,
    record_grant_in,
    write_off_in,
)
from gateway.storage.repository import Store, utc
from gateway.trail.messages import Message


class PermitStore(Store):
    # Signs the released decision of a held application a credit-back releases (issue 20; set
    # by the composition root).
    release_decision: ReleaseDecision | None = None

    # --- reads ----------------------------------------------------------------------------------

    def get(self, permit_id: str) -> Permit | None:
        with self.reading() as s:
            row = s.get(PermitRow, permit_id)
            return permit_of(s, row) if row else None

    def for_holder(self, holder_bin: str) -> list[Permit]:
        with self.reading() as s:
            rows = s.scalars(
                select(PermitRow)
                .where(PermitRow.holder_bin == holder_bin)
                .order_by(PermitRow.issued_at.desc(), PermitRow.permit_id)
            )
            return [permit_of(s, r) for r in rows]

    def everything(self) -> list[Permit]:
        with self.reading() as s:
            rows = s.scalars(
                select(PermitRow).order_by(PermitRow.issued_at.desc(), PermitRow.permit_id)
            )
            return [permit_of(s, r) for r in rows]

    def write_offs(self, permit_id: str | None = None) -> list[WriteOffRecord]:
        with self.reading() as s:
            query = (
                select(PermitWriteOffRow, PermitRow.unit)
                .join(PermitRow, PermitRow.permit_id == PermitWriteOffRow.permit_id)
                .order_by(PermitWriteOffRow.written_at, PermitWriteOffRow.id)
            )
            if permit_id is not None:
                query = query.where(PermitWriteOffRow.permit_id == permit_id)
            return [
                WriteOffRecord(
                    w.permit_id,
                    w.application_id,
                    w.quantity,
                    unit,
                    w.day,
                    utc(w.written_at) or w.written_at,
                    utc(w.credited_back_at),
                )
                for w, unit in s.execute(query)
            ]

    def citations(self, application_id: str) -> list[Citation]:
        with self.reading() as s:
            return citations_of(s, application_id)

    def holds(self, application_id: str | None = None) -> list[Hold]:
        with self.reading() as s:
            query = (
                select(PermitHoldRow)
                .where(PermitHoldRow.cleared_at.is_(None))
                .order_by(PermitHoldRow.held_at, PermitHoldRow.id)
            )
            if application_id is not None:
                query = query.where(PermitHoldRow.application_id == application_id)
            return [
                Hold(
                    h.application_id,
                    h.permit_id,
                    h.code,
                    h.detail,
                    utc(h.held_at) or h.held_at,
                    utc(h.cleared_at),
                )
                for h in s.scalars(query)
            ]

    # --- writes ---------------------------------------------------------------------------------

    def record_grant(
        self, permit: Permit, granted_for: str | None, messages: Sequence[Message]
    ) -> bool:
        with self.transaction() as s:
            return record_grant_in(s, permit, granted_for, messages, self)

    def write_off_cited(self, application_id: str, day: dt.date, messages: StepMessages) -> None:
        try:
            with self.transaction() as s:
                write_off_in(s, application_id, day, messages, self)
        except GatewayError as refusal:
            # Nothing was written off (the transaction rolled back); the hold and the attempt
            # are stored on their own.
            with self.transaction() as s:
                hold_in(s, application_id, refusal, messages, self)
            raise

    def credit_back(self, application_id: str, messages: StepMessages) -> list[str]:
        with self.transaction() as s:
            credited = credit_back_in(s, application_id, messages, self)
            retry_held(s, credited, self, self.release_decision)
            return credited

    def change_standing(
        self, permit_id: str, action: str, messages: StepMessages
    ) -> tuple[Permit, list[str]]:
        with self.transaction() as s:
            now = self.clock()
            row = lock_permit(s, permit_id)
            if row is None:
                raise NotFound(Text("There is no permit %(permit_id)s.", permit_id=permit_id))
            before = permit_of(s, row)
            after = {
                "suspend": before.suspend,
                "reinstate": before.reinstate,
                "revoke": before.revoke,
            }[action]()
            row.standing = after.standing.value
            affected = not_exited(s, citing(s, permit_id))
            held: list[str] = []
            if action == "reinstate":
                for hold in s.scalars(
                    select(PermitHoldRow).where(
                        PermitHoldRow.permit_id == permit_id,
                        PermitHoldRow.cleared_at.is_(None),
                        PermitHoldRow.code.in_(("permit-suspended",)),
                    )
                ):
                    hold.cleared_at = now
                    held.append(hold.application_id)
            else:
                code = "permit-suspended" if action == "suspend" else "permit-revoked"
                for application_id in affected:
                    s.add(
                        PermitHoldRow(
                            application_id=application_id,
                            permit_id=permit_id,
                            code=code,
                            detail=Text(
                                "Permit %(permit_id)s was %(standing)s by %(agency)s; the "
                                "application is held until the agency reinstates it or another "
                                "permit covers the goods.",
                                permit_id=permit_id,
                                standing=after.standing.value,
                                agency=after.agency,
                            ),
                            held_at=now,
                        )
                    )
            for m in messages(
                f"permit-{action}",
                {"permitId": permit_id, "standing": after.standing.value, "held": affected},
            ):
                self._add_message(s, None, m)
            # Held by the suspension (by its decision, or paid or secured): released now in
            # this transaction, once, under the permit's lock (issue 20).
            s.flush()
            retry_reinstated(s, held, self, self.release_decision)
            return after, affected
