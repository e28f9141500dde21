"""One transaction of the checkpoint (gateway.checkpoint.ports.CheckpointUnit) on a Session:
visits and notices, device events, the carried applications' cases, transits, and the trail.

The queries are those the checkpoint's services ran themselves before they were behind ports."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.checkpoint.exit_permit import AppDecision, CaseView
from gateway.checkpoint.views import DeviceEventRecord, SeenEvent, TrackPoint, Transit, Visit
from gateway.decision.rules import CaseState
from gateway.notify.events import CHECKPOINT_EXIT
from gateway.storage.checkpoint_rows import (
    new_transit_row,
    new_visit_row,
    notice_view,
    track_point,
    transit_view,
    visit_view,
    write_transit,
    write_visit,
)
from gateway.storage.db import is_postgres
from gateway.storage.models import (
    ApplicationRow,
    ArrivalNoticeRow,
    CaseRow,
    CheckpointVisitRow,
    DeviceEventRow,
    TransitPositionRow,
    TransitRow,
)
from gateway.storage.notifications import enqueue_event
from gateway.storage.permit_steps import permits_on_exit
from gateway.storage.repository import Message, utc

if TYPE_CHECKING:
    from gateway.checkpoint.gate_rules import Finding
    from gateway.checkpoint.views import ArrivalNotice
    from gateway.storage.checkpoint import CheckpointStore


class SqlVisits:
    def __init__(self, store: CheckpointStore, s: Session) -> None:
        self.store, self.s = store, s

    def open_visit(self, checkpoint: str, plate: str) -> Visit | None:
        query = select(CheckpointVisitRow).where(
            CheckpointVisitRow.checkpoint == checkpoint,
            CheckpointVisitRow.plate == plate,
            CheckpointVisitRow.state != "exited",
        )
        if is_postgres(self.store.engine):
            query = query.with_for_update()
        row = self.s.scalars(query.order_by(CheckpointVisitRow.arrived_at.desc())).first()
        return None if row is None else visit_view(row)

    def visit(self, visit_id: str) -> Visit | None:
        row = self.s.get(CheckpointVisitRow, visit_id)
        return None if row is None else visit_view(row)

    def add(self, visit: Visit) -> None:
        self.s.add(new_visit_row(visit))
        self.s.flush()  # the open-visit unique index speaks now, not at the commit

    def save(self, visit: Visit) -> None:
        write_visit(self.s.get_one(CheckpointVisitRow, visit.id), visit)

    def active_notices(self, checkpoint: str, plate: str) -> list[ArrivalNotice]:
        rows = self.s.scalars(
            select(ArrivalNoticeRow)
            .where(
                ArrivalNoticeRow.checkpoint == checkpoint,
                ArrivalNoticeRow.plate == plate,
                ArrivalNoticeRow.state == "active",
            )
            .order_by(ArrivalNoticeRow.received_at)
        )
        return [notice_view(row) for row in rows]

    def notice(self, notice_id: str) -> ArrivalNotice:
        return notice_view(self.s.get_one(ArrivalNoticeRow, notice_id))

    def use_notice(self, notice_id: str) -> None:
        self.s.get_one(ArrivalNoticeRow, notice_id).state = "used"


class SqlDeviceEvents:
    def __init__(self, s: Session) -> None:
        self.s = s

    def seen(self, event_id: str) -> SeenEvent | None:
        row = self.s.get(DeviceEventRow, event_id)
        return None if row is None else SeenEvent(row.body_sha256, json.loads(row.answer))

    def add(self, event: DeviceEventRecord) -> None:
        self.s.add(
            DeviceEventRow(
                event_id=event.event_id, device=event.device, visit_id=event.visit_id,
                stage=event.stage, body_sha256=event.body_sha256, answer=json.dumps(event.answer),
                received_at=event.received_at,
            )
        )  # fmt: skip


class SqlCarriedApplications:
    def __init__(self, store: CheckpointStore, s: Session) -> None:
        self.store, self.s = store, s

    def decisions(self, application_ids: Sequence[str]) -> list[AppDecision]:
        out = []
        for application_id in application_ids:
            app = self.s.get_one(ApplicationRow, application_id)
            self.s.refresh(app, ["cases"])
            cases = tuple(CaseView(c.agency, c.state, c.inspection) for c in app.cases)
            # A withdrawn application's latest decision is "withdrawn" (issue 19).
            decided = app.status in ("decided", "withdrawn")
            cited, hold = permits_on_exit(self.s, application_id)
            out.append(AppDecision(app.id, app.verdict if decided else None, cases, cited, hold))
        return out

    def decided_at(self, application_ids: Sequence[str]) -> dt.datetime | None:
        moments = [utc(self.s.get_one(ApplicationRow, a).decided_at) for a in application_ids]
        if not moments or any(m is None for m in moments):
            return None
        return max(m for m in moments if m is not None)

    def inspect(self, application_id: str, finding: Finding) -> str | None:
        s = self.s
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
                    updated_at=self.store.clock(),
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
        return self.store.update_case(
            s,
            case_id,
            state=CaseState.INSPECTION,
            fields={"inspection": finding.inspection},
            messages=[message],
            decide=self.store.decide,
        )

    def settle_inspection(
        self, application_id: str, agency: str, *, cleared: bool, officer: str, note: str
    ) -> str | None:
        case_id = f"{application_id}-{agency}"
        case = self.s.get_one(CaseRow, case_id)
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
        return self.store.update_case(
            self.s, case_id, state=state, fields=fields, messages=[message],
            decide=self.store.decide,
        )  # fmt: skip


class SqlTransits:
    def __init__(self, s: Session) -> None:
        self.s = s

    def add(self, transit: Transit) -> None:
        self.s.add(new_transit_row(transit))

    def transit(self, transit_id: str) -> Transit | None:
        row = self.s.get(TransitRow, transit_id)
        return None if row is None else transit_view(row)

    def open_to(self, checkpoint: str, plate: str) -> Transit | None:
        row = self.s.scalars(
            select(TransitRow).where(
                TransitRow.plate == plate,
                TransitRow.state == "open",
                TransitRow.exit_checkpoint == checkpoint,
            )
        ).first()
        return None if row is None else transit_view(row)

    def open_of(self, plate: str) -> Transit | None:
        row = self.s.scalars(
            select(TransitRow).where(TransitRow.plate == plate, TransitRow.state == "open")
        ).first()
        return None if row is None else transit_view(row)

    def all_open(self) -> list[Transit]:
        rows = self.s.scalars(select(TransitRow).where(TransitRow.state == "open"))
        return [transit_view(row) for row in rows]

    def save(self, transit: Transit) -> None:
        write_transit(self.s.get_one(TransitRow, transit.id), transit)

    def add_position(self, transit_id: str, point: TrackPoint) -> None:
        self.s.add(TransitPositionRow(transit_id=transit_id, at=point.at, lat=point.lat,
                                      lon=point.lon, seal=point.seal, offset_m=point.offset_m))  # fmt: skip

    def track(self, transit_id: str) -> tuple[TrackPoint, ...]:
        rows = self.s.scalars(
            select(TransitPositionRow).where(TransitPositionRow.transit_id == transit_id)
            .order_by(TransitPositionRow.at)
        )  # fmt: skip
        return tuple(track_point(row) for row in rows)


class SqlCheckpointUnit:
    """What `CheckpointStore.unit()` yields: the checkpoint's repositories on one Session."""

    def __init__(self, store: CheckpointStore, s: Session) -> None:
        self.store, self.s = store, s
        self.visits = SqlVisits(store, s)
        self.events = SqlDeviceEvents(s)
        self.applications = SqlCarriedApplications(store, s)
        self.transits = SqlTransits(s)

    def record(self, application_id: str | None, message: Message) -> None:
        self.store._add_message(self.s, application_id, message)

    def tell_exit(self, application_ids: Sequence[str], detail: dict[str, object]) -> None:
        for application_id in application_ids:
            enqueue_event(self.s, application_id, CHECKPOINT_EXIT, detail, self.store.clock)
