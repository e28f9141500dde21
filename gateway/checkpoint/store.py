"""The checkpoint's reads and writes, on the gateway's store: every message it receives or sends
goes through `Store._add_message` (byte-exact, appended to the Merkle trail), and every gate finding
changes a case through `OutboxStore.update_case`, so the decision is composed and signed again."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.checkpoint.errors import NoticeConflict
from gateway.checkpoint.exit_permit import AppDecision, CaseView
from gateway.decision.rules import CaseState
from gateway.storage.db import is_postgres
from gateway.storage.models import (
    ApplicationRow,
    ArrivalNoticeRow,
    CaseRow,
    CheckpointVisitRow,
)
from gateway.storage.outbox import OutboxStore
from gateway.storage.repository import Decide, Message, sha256_hex, utc

if TYPE_CHECKING:
    from gateway.checkpoint.gate_rules import Finding
    from gateway.checkpoint.notices import Notice


def new_id(prefix: str, now: dt.datetime) -> str:
    return f"{prefix}-{now:%Y%m%d}-{secrets.token_hex(5).upper()}"


@dataclass(frozen=True)
class NoticeSaved:
    id: str
    version: int
    plate: str
    checkpoint: str
    applications: tuple[str, ...]
    supersedes: str | None
    created: bool  # False: the same signed bytes were sent before


def notice_details(notice: Notice) -> dict[str, Any]:
    return {
        "vehicle": {
            "country": notice.vehicle_country,
            "axles": notice.axles,
            "declared_gross_kg": float(notice.declared_gross_kg),
        },
        "driver": {
            "name": notice.driver_name,
            "document": notice.driver_document,
            "country": notice.driver_country,
        },
        "transit": (
            {
                "corridor": notice.corridor,
                "exit_checkpoint": notice.exit_checkpoint,
                "seal_id": notice.seal_id,
            }
            if notice.corridor
            else None
        ),
    }


class CheckpointStore(OutboxStore):
    def record(self, s: Session, application_id: str | None, message: Message) -> None:
        """Store a message byte-exact and append it to the trail, in transaction `s`."""
        self._add_message(s, application_id, message)

    def declarants(self, application_ids: Sequence[str]) -> dict[str, str]:
        """application id -> declarant BIN, for the ids that exist."""
        with self.transaction() as s:
            rows = s.execute(
                select(ApplicationRow.id, ApplicationRow.declarant_bin).where(
                    ApplicationRow.id.in_(list(application_ids))
                )
            ).all()
        return {row.id: row.declarant_bin for row in rows}

    # --- notices ---------------------------------------------------------------------------------

    def save_notice(self, notice: Notice, body: bytes, signer: str) -> NoticeSaved:
        now = self.clock()
        carrier = str(notice.carrier_bin)
        try:
            with self.transaction() as s:
                earlier = list(
                    s.scalars(
                        select(ArrivalNoticeRow)
                        .where(
                            ArrivalNoticeRow.carrier_bin == carrier,
                            ArrivalNoticeRow.reference == notice.reference,
                        )
                        .order_by(ArrivalNoticeRow.version)
                    )
                )
                same = next((r for r in earlier if r.version == notice.version), None)
                if same is not None and same.body_sha256 == sha256_hex(body):
                    return self._saved(same, None, created=False)
                latest = earlier[-1] if earlier else None
                if latest is not None and latest.version >= notice.version:
                    raise NoticeConflict(
                        f"Notice {notice.reference} of BIN {carrier} is already at version "
                        f"{latest.version}; an amendment needs a higher version.",
                        current_version=latest.version,
                    )
                if latest is not None and latest.state == "used":
                    raise NoticeConflict(
                        f"The vehicle of notice {notice.reference} has already entered the "
                        f"checkpoint under version {latest.version}; it can no longer be amended."
                    )
                row = ArrivalNoticeRow(
                    id=new_id("PAN", now),
                    carrier_bin=carrier,
                    reference=notice.reference,
                    version=notice.version,
                    checkpoint=notice.checkpoint,
                    plate=notice.plate,
                    trailer_plate=notice.trailer_plate,
                    expected_arrival=notice.expected_arrival,
                    details=json.dumps(notice_details(notice)),
                    applications=json.dumps(list(notice.applications)),
                    state="active",
                    body_sha256=sha256_hex(body),
                    signer_subject=signer,
                    received_at=now,
                )
                s.add(row)
                if latest is not None:
                    latest.state = "superseded"
                    latest.superseded_by = row.id
                message = Message(
                    "arrival-notice", "in", f"carrier:{carrier}", "application/xml", body, signer
                )
                self.record(s, notice.applications[0], message)
                return self._saved(row, latest.id if latest else None, created=True)
        except IntegrityError as exc:  # the same version raced in through another request
            raise NoticeConflict(
                f"Version {notice.version} of notice {notice.reference} was just lodged by "
                "another request."
            ) from exc

    @staticmethod
    def _saved(row: ArrivalNoticeRow, supersedes: str | None, *, created: bool) -> NoticeSaved:
        return NoticeSaved(
            row.id,
            row.version,
            row.plate,
            row.checkpoint,
            tuple(json.loads(row.applications)),
            supersedes,
            created,
        )

    def active_notices(self, s: Session, checkpoint: str, plate: str) -> list[ArrivalNoticeRow]:
        return list(
            s.scalars(
                select(ArrivalNoticeRow)
                .where(
                    ArrivalNoticeRow.checkpoint == checkpoint,
                    ArrivalNoticeRow.plate == plate,
                    ArrivalNoticeRow.state == "active",
                )
                .order_by(ArrivalNoticeRow.received_at)
            )
        )

    # --- visits ----------------------------------------------------------------------------------

    def open_visit(self, s: Session, checkpoint: str, plate: str) -> CheckpointVisitRow | None:
        """The vehicle's visit not yet exited, locked for this transaction on PostgreSQL."""
        query = select(CheckpointVisitRow).where(
            CheckpointVisitRow.checkpoint == checkpoint,
            CheckpointVisitRow.plate == plate,
            CheckpointVisitRow.state != "exited",
        )
        if is_postgres(self.engine):
            query = query.with_for_update()
        return s.scalars(query.order_by(CheckpointVisitRow.arrived_at.desc())).first()

    def decisions(self, s: Session, application_ids: Sequence[str]) -> list[AppDecision]:
        out = []
        for application_id in application_ids:
            app = s.get_one(ApplicationRow, application_id)
            s.refresh(app, ["cases"])
            cases = tuple(CaseView(c.agency, c.state, c.inspection) for c in app.cases)
            out.append(AppDecision(app.id, app.verdict if app.status == "decided" else None, cases))
        return out

    def decided_at(self, s: Session, application_ids: Sequence[str]) -> dt.datetime | None:
        """When the last of the applications was decided; None while any is undecided."""
        moments = [utc(s.get_one(ApplicationRow, a).decided_at) for a in application_ids]
        if not moments or any(m is None for m in moments):
            return None
        return max(m for m in moments if m is not None)

    # --- findings join cases ---------------------------------------------------------------------

    def set_inspection(
        self, s: Session, application_id: str, finding: Finding, decide: Decide
    ) -> str | None:
        """The finding's agency's case of this application goes to inspection (where, why); a
        case is opened for an agency the routing did not involve (e.g. a radiation alarm brings in
        the sanitary-quarantine service). Returns the verdict if a decision was (re)written."""
        case_id = f"{application_id}-{finding.agency}"
        if s.get(CaseRow, case_id) is None:
            position = s.scalar(
                select(func.count(CaseRow.id)).where(CaseRow.application_id == application_id)
            )
            s.add(
                CaseRow(
                    id=case_id,
                    application_id=application_id,
                    position=position or 0,
                    agency=finding.agency,
                    state=CaseState.INSPECTION.value,
                    reasons="[]",
                    conditions="[]",
                    extra="{}",
                    attempts=0,
                    updated_at=self.clock(),
                )
            )
            s.flush()
        note = json.dumps(
            {"finding": finding.rule, "stage": finding.stage, "lane": finding.lane,
             "why": finding.why, "detail": finding.detail},
        ).encode()  # fmt: skip
        message = Message(
            "gate-finding", "out", f"agency:{finding.agency}", "application/json", note,
            case_id=case_id,
        )  # fmt: skip
        return self.update_case(
            s,
            case_id,
            state=CaseState.INSPECTION,
            fields={"inspection": finding.inspection},
            messages=[message],
            decide=decide,
        )

    def settle_inspection(
        self,
        s: Session,
        application_id: str,
        agency: str,
        *,
        cleared: bool,
        officer: str,
        note: str,
        decide: Decide,
    ) -> str | None:
        """An officer's inspection result: the case is granted again, or refused."""
        case_id = f"{application_id}-{agency}"
        case = s.get_one(CaseRow, case_id)
        body = json.dumps({"officer": officer, "cleared": cleared, "note": note}).encode()
        message = Message(
            "inspection-result", "in", f"officer:{officer}", "application/json", body,
            case_id=case_id,
        )  # fmt: skip
        if cleared:
            conditions = [*json.loads(case.conditions), f"Inspected by {officer}: {note}"]
            fields: dict[str, object] = {"inspection": None, "conditions": conditions}
            state = CaseState.GRANTED
            if case.permit_number is None:
                fields["permit_number"] = f"INSP-{case_id}"
        else:
            fields = {"inspection": None, "reasons": [["inspection-failed", note]]}
            state = CaseState.REFUSED
        return self.update_case(
            s, case_id, state=state, fields=fields, messages=[message], decide=decide
        )
