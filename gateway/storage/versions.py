"""An application's versions on the database (issue 19): withdrawal and amendment, each one
transaction with its trail entries (`gateway.lifecycle.ports.Versions`).

Two amendments of one version cannot both win: each stores its version with a compare-and-set on
`applications.version` (`UPDATE ... WHERE version = N`), so on either database exactly one
UPDATE matches; the other finds the version moved and is told which version is current. A
withdrawal takes the application's row lock first, like a settling case does.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from gateway.billing.permit_ports import step_messages
from gateway.billing.ports import ReleaseDecision
from gateway.clock import iso
from gateway.decision.ports import Decide, DecisionRef, DecisionSubject
from gateway.decision.rules import CaseState
from gateway.fanout.wakeup import OUTBOX
from gateway.lifecycle.ports import (
    Current,
    LifecycleConflict,
    NewVersion,
    PermitView,
    SignWithdrawn,
    VersionView,
    Withdrawn,
)
from gateway.lifecycle.rules import Stage
from gateway.notify import events as ev
from gateway.storage import wake
from gateway.storage.core_tx import Tx
from gateway.storage.guarantee_releases import queue_withdrawn
from gateway.storage.held_retry import retry_held
from gateway.storage.models import (
    ApplicationRow,
    CaseRow,
    CheckpointVisitRow,
    MessageRow,
    OutboxRow,
)
from gateway.storage.notifications import enqueue_decision, enqueue_event
from gateway.storage.payments import lock_order_of, owe_back_on_withdrawal
from gateway.storage.permit_steps import credit_back_in
from gateway.storage.recite import recite
from gateway.storage.repository import Message, Store, case_result, sha256_hex, utc
from gateway.storage.version_models import ApplicationVersionRow, CasePermitRow


def current_decision(s: Session, app: ApplicationRow) -> DecisionRef | None:
    """The decision in force, as the next one names it (see `decision_in_force`)."""
    return decision_in_force(s, app.id, app.decision_xml)


def decision_in_force(s: Tx, application_id: str, decision_xml: bytes | None) -> DecisionRef | None:
    """The decision in force, as the next one names it: its version is how many decisions the
    trail holds for the application (every decision ever signed is there), its SHA-256 that of
    the stored bytes. None before the first decision."""
    if decision_xml is None:
        return None
    s.flush()  # a decision the ORM has pending counts (as `Session.scalar` would see it)
    count = s.connection().scalar(
        select(func.count(MessageRow.id)).where(
            MessageRow.application_id == application_id, MessageRow.kind == "decision"
        )
    )
    return DecisionRef(max(int(count or 0), 1), sha256_hex(decision_xml))


def _exited(s: Session, application_id: str) -> bool:
    """Did a vehicle carrying the application leave through a checkpoint's exit?"""
    found = s.scalars(
        select(CheckpointVisitRow.id).where(
            CheckpointVisitRow.state == "exited",
            CheckpointVisitRow.applications.contains(json.dumps(application_id)),
        )
    ).first()
    return found is not None


def _stage(s: Session, app: ApplicationRow) -> Stage:
    if app.withdrawn_at is not None:
        return Stage.WITHDRAWN
    if _exited(s, app.id):
        return Stage.EXITED
    return Stage.DECIDED if app.status == "decided" else Stage.IN_PROGRESS


_VERSIONS_OF = (
    select(ApplicationVersionRow.__table__)
    .where(ApplicationVersionRow.application_id == bindparam("id"))
    .order_by(ApplicationVersionRow.version)
)
_PERMITS_OF = (
    select(CasePermitRow.__table__)
    .where(CasePermitRow.application_id == bindparam("id"))
    .order_by(CasePermitRow.id)
)


def history_of(
    connection: Connection, application_id: str
) -> tuple[list[VersionView], list[PermitView]]:
    """An application's versions and the permits its cases were granted or lost, oldest first,
    read on `connection` (the trader's status read takes them with the application): Core
    selects, no ORM."""
    versions = [
        VersionView(
            r.version,
            r.body_sha256,
            iso(utc(r.received_at) or r.received_at),
            r.signer_subject,
            tuple(json.loads(r.changes)),
            json.loads(r.affected),
        )
        for r in connection.execute(_VERSIONS_OF, {"id": application_id})
    ]
    permits = [
        PermitView(
            r.agency,
            r.permit_number,
            r.valid_until,
            r.state,
            r.version,
            iso(utc(r.at) or r.at),
        )
        for r in connection.execute(_PERMITS_OF, {"id": application_id})
    ]
    return versions, permits


class VersionStore(Store):
    # Signs the released decision of a held application a credit-back releases (issue 20; set
    # by the composition root); without it such an application is drawn but not re-signed.
    release_decision: ReleaseDecision | None = None

    def current(self, application_id: str) -> Current | None:
        with self.reading() as s:
            app = s.get(ApplicationRow, application_id)
            if app is None:
                return None
            return Current(
                app.id, app.declarant_bin, app.version, app.body, app.body_sha256,
                _stage(s, app), json.loads(app.routing), app.withdrawal_reason,
            )  # fmt: skip

    def record(self, application_id: str | None, messages: Sequence[Message]) -> None:
        with self.transaction() as s:
            if application_id is not None and s.get(ApplicationRow, application_id) is None:
                application_id = None
            for m in messages:
                self._add_message(s, application_id, m)

    def _locked(self, s: Session, application_id: str) -> ApplicationRow:
        """The application under its row lock (PostgreSQL; SQLite holds the write lock)."""
        s.execute(
            update(ApplicationRow)
            .where(ApplicationRow.id == application_id)
            .values(updated_at=self.clock())
        )
        app = s.get(ApplicationRow, application_id)
        if app is None:
            raise LifecycleConflict("unknown", 0)
        s.refresh(app)
        return app

    def _close_deliveries(self, s: Session, case_id: str) -> None:
        """Close the case's open deliveries; a dispatcher holding one of them in flight finds its
        lease generation moved, so its late answer changes nothing (`Store._fence`)."""
        s.execute(
            update(OutboxRow)
            .where(OutboxRow.case_id == case_id, OutboxRow.done_at.is_(None))
            .values(
                done_at=self.clock(),
                lease_until=None,
                lease_generation=OutboxRow.lease_generation + 1,
            )
        )

    def _cancel_case(self, s: Session, app: ApplicationRow, case: CaseRow, reason: str) -> bool:
        """Close one case; a permit it holds becomes cancelled history. True when the agency
        is asked to cancel (a refused case is closed at the agency already)."""
        now = self.clock()
        self._close_deliveries(s, case.id)
        state = CaseState(case.state)
        if state is CaseState.GRANTED and case.permit_number:
            s.add(
                CasePermitRow(
                    case_id=case.id, application_id=app.id, agency=case.agency,
                    permit_number=case.permit_number, valid_until=case.valid_until,
                    state="cancelled", version=app.version, at=now,
                )
            )  # fmt: skip
        case.updated_at = now
        if state is CaseState.REFUSED:
            case.state = CaseState.CANCELLED.value
            return False
        case.state = CaseState.CANCELLING.value
        s.add(
            OutboxRow(
                case_id=case.id, available_at=now, attempts=0, operation="cancel",
                version=app.version, reason=reason,
            )
        )  # fmt: skip
        wake.owe(s, OUTBOX)
        return True

    def _decision(self, s: Session, app: ApplicationRow, verdict: str, xml: bytes) -> None:
        app.verdict, app.decided_at, app.decision_xml = verdict, self.clock(), xml
        self._add_message(
            s,
            app.id,
            Message("decision", "out", f"trader:{app.declarant_bin}", "application/xml", xml),
        )
        enqueue_decision(s, app, xml, self.clock)

    def withdraw(
        self, application_id: str, reason: str, note: str, messages: Sequence[Message],
        sign: SignWithdrawn,
    ) -> Withdrawn:  # fmt: skip
        with self.transaction() as s:
            order = lock_order_of(s, application_id)  # before the application: see there
            app = self._locked(s, application_id)
            stage = _stage(s, app)
            if stage in (Stage.EXITED, Stage.WITHDRAWN):
                raise LifecycleConflict(stage.value, app.version)
            s.refresh(app, ["cases"])
            before = [case_result(c) for c in app.cases]
            cancelling = tuple(
                c.agency
                for c in app.cases
                if not CaseState(c.state).closed and self._cancel_case(s, app, c, reason)
            )
            for m in messages:
                self._add_message(s, app.id, m)
            subject = DecisionSubject(
                app.id, app.declarant_bin, app.trader_reference, app.body_sha256,
                replaces=current_decision(s, app),
            )  # fmt: skip
            xml = sign(subject, before, note)
            # Payments arriving from now on are refused and owed back (gateway.payments.settlement
            # reads status "withdrawn"); money already received is owed back now, and quantities
            # written off at a release return to their permits, in this transaction.
            app.status, app.withdrawn_at, app.withdrawal_reason = "withdrawn", self.clock(), reason
            owe_back_on_withdrawal(s, app, order, self)
            credited = credit_back_in(s, app.id, step_messages, self)
            # Units given back: applications held for those permits' balance are tried again.
            retry_held(s, credited, self, self.release_decision)
            # Guarantees customs reserved for it: their release is owed (issue 20).
            queue_withdrawn(s, app.id, self.clock())
            self._decision(s, app, "withdrawn", xml)
            detail = {"reason": reason, "cancelling": list(cancelling)}
            enqueue_event(s, app.id, ev.WITHDRAWN, detail, self.clock)
            return Withdrawn(app.id, cancelling, sha256_hex(xml))

    def amend(self, new: NewVersion, messages: Sequence[Message], decide: Decide) -> None:
        now = self.clock()
        with self.transaction() as s:
            # Step 1: the compare-and-set: only one amendment of version N becomes N + 1.
            moved = s.execute(
                update(ApplicationRow)
                .where(
                    ApplicationRow.id == new.application_id,
                    ApplicationRow.version == new.version - 1,
                    ApplicationRow.withdrawn_at.is_(None),
                )
                .values(version=new.version, updated_at=now, amended_at=now)
            )
            app = s.get(ApplicationRow, new.application_id)
            if app is None:
                raise LifecycleConflict("unknown", 0)
            s.refresh(app)
            if moved.rowcount != 1:  # type: ignore[attr-defined]
                kind = "withdrawn" if app.withdrawn_at is not None else "superseded"
                raise LifecycleConflict(kind, app.version)
            if _exited(s, app.id):
                raise LifecycleConflict("exited", app.version)
            # Step 2: the versions, byte-exact (the lodged one too, at the first amendment).
            if new.version == 2:
                s.add(
                    ApplicationVersionRow(
                        application_id=app.id, version=1, body=app.body,
                        body_sha256=app.body_sha256, signer_subject=app.signer_subject,
                        received_at=app.received_at,
                    )
                )  # fmt: skip
            affected = {
                "added": new.added, "reopened": new.reopened,
                "cancelled": new.cancelled, "untouched": new.untouched,
            }  # fmt: skip
            s.add(
                ApplicationVersionRow(
                    application_id=app.id, version=new.version, body=new.body,
                    body_sha256=sha256_hex(new.body), signer_subject=new.signer_subject,
                    received_at=now, changes=json.dumps(list(new.changes)),
                    affected=json.dumps({k: list(v) for k, v in affected.items()}),
                )
            )  # fmt: skip
            app.body, app.body_sha256 = new.body, sha256_hex(new.body)
            app.signer_subject, app.routing = new.signer_subject, json.dumps(new.routing)
            for m in messages:
                self._add_message(s, app.id, m)
            detail = {"version": new.version, "changes": list(new.changes)} | {
                f"agencies_{k}": list(v) for k, v in affected.items()
            }
            enqueue_event(s, app.id, ev.AMENDED, detail, self.clock)
            # Step 2b: its permit citations; quantities drawn on the old ones are given back.
            if new.application is not None:
                recite(s, app, new.application, self)
            # Step 3: the cases, as planned.
            s.refresh(app, ["cases"])
            cases = {c.agency: c for c in app.cases}
            for agency in new.cancelled:
                if agency in cases and not CaseState(cases[agency].state).closed:
                    self._cancel_case(s, app, cases[agency], "amended")
            for agency in new.reopened:
                self._reopen(s, app, cases[agency], new.version)
            for position, agency in enumerate(new.added, start=len(cases)):
                self._add_case(s, app, agency, position, cases.get(agency))
            s.flush()
            s.refresh(app, ["cases"])
            if new.reopened or new.added:
                app.status, app.verdict = "in_progress", None
                return
            # Nothing to ask again (only cancellations): the remaining cases decide now.
            subject = DecisionSubject(
                app.id, app.declarant_bin, app.trader_reference, app.body_sha256,
                released_at=utc(app.released_at), replaces=current_decision(s, app),
            )  # fmt: skip
            decided = decide(subject, [case_result(c) for c in app.cases])
            if decided is not None:
                app.status = "decided"
                self._decision(s, app, decided[0], decided[1])

    def _reopen(self, s: Session, app: ApplicationRow, case: CaseRow, version: int) -> None:
        """Ask the agency again: its permit (if any) is superseded, not deleted."""
        now = self.clock()
        self._close_deliveries(s, case.id)
        if case.permit_number:
            s.add(
                CasePermitRow(
                    case_id=case.id, application_id=app.id, agency=case.agency,
                    permit_number=case.permit_number, valid_until=case.valid_until,
                    state="superseded", version=version - 1, at=now,
                )
            )  # fmt: skip
        case.state, case.permit_number, case.valid_until = CaseState.QUEUED.value, None, None
        case.reasons, case.conditions, case.inspection = "[]", "[]", None
        case.charges, case.answer_sha256, case.attempts, case.last_error = "[]", None, 0, None
        case.updated_at = now
        s.add(
            OutboxRow(
                case_id=case.id, available_at=now, attempts=0, operation="amend", version=version
            )
        )
        wake.owe(s, OUTBOX)

    def _add_case(
        self, s: Session, app: ApplicationRow, agency: str, position: int, old: CaseRow | None
    ) -> None:
        """A newly routed agency: a new case (or its cancelled one, opened afresh)."""
        now = self.clock()
        case_id = f"{app.id}-{agency}"
        if old is None:
            s.add(
                CaseRow(
                    id=case_id, application_id=app.id, position=position, agency=agency,
                    state=CaseState.QUEUED.value, reasons="[]", conditions="[]", extra="{}",
                    attempts=0, updated_at=now,
                )
            )  # fmt: skip
            s.flush()
            operation = "request"
        else:  # routed before, cancelled by an earlier amendment: the agency knows the case
            self._reopen(s, app, old, app.version)
            return
        s.add(OutboxRow(case_id=case_id, available_at=now, attempts=0, operation=operation))
        wake.owe(s, OUTBOX)

    def history(self, application_id: str) -> tuple[list[VersionView], list[PermitView]]:
        with self.reading() as s:
            return history_of(s.connection(), application_id)
