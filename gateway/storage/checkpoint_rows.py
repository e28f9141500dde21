"""The checkpoint's rows as the views of gateway.checkpoint.views, and the views written back.

The nested parts (a visit's stages and findings, a transit's alerts, a notice's details) stay the
JSON text they always were: other readers (the OMC's floor) read that text."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from gateway.checkpoint.gate_rules import Declared
from gateway.checkpoint.views import (
    ArrivalNotice,
    GateFinding,
    StageMark,
    TrackPoint,
    Transit,
    TransitAlert,
    TransitPlan,
    Visit,
)
from gateway.storage.models import (
    ArrivalNoticeRow,
    CheckpointVisitRow,
    TransitPositionRow,
    TransitRow,
)
from gateway.storage.repository import utc


def _utc(moment: dt.datetime) -> dt.datetime:
    return utc(moment) or moment


def notice_view(row: ArrivalNoticeRow) -> ArrivalNotice:
    details = json.loads(row.details)
    vehicle, transit = details["vehicle"], details["transit"]
    return ArrivalNotice(
        row.id,
        tuple(json.loads(row.applications)),
        Declared(float(vehicle["declared_gross_kg"]), int(vehicle["axles"])),
        TransitPlan(transit["corridor"], transit["exit_checkpoint"], transit.get("seal_id"))
        if transit
        else None,
    )


# --- visits --------------------------------------------------------------------------------------


def visit_view(row: CheckpointVisitRow) -> Visit:
    stages = tuple(
        StageMark(name, dt.datetime.fromisoformat(v["at"]), v["status"], v["event"], v["lane"])
        for name, v in json.loads(row.stages).items()
    )
    return Visit(
        id=row.id, checkpoint=row.checkpoint, plate=row.plate, lane=row.lane, state=row.state,
        arrived_at=_utc(row.arrived_at), notice_id=row.notice_id,
        applications=tuple(json.loads(row.applications)), reason=row.reason, stages=stages,
        findings=tuple(GateFinding(**f) for f in json.loads(row.findings)),
        decision_ready_on_arrival=row.decision_ready_on_arrival,
        decision_ready_at=utc(row.decision_ready_at),
        exit_requested_at=utc(row.exit_requested_at), exited_at=utc(row.exited_at),
        exit_kind=row.exit_kind, cleared_by=row.cleared_by,
    )  # fmt: skip


def _visit_columns(visit: Visit) -> dict[str, Any]:
    """The columns a service may change, as stored."""
    return {
        "lane": visit.lane, "notice_id": visit.notice_id,
        "applications": json.dumps(list(visit.applications)), "state": visit.state,
        "reason": visit.reason, "stages": json.dumps({m.stage: m.as_dict() for m in visit.stages}),
        "findings": json.dumps([f.as_dict() for f in visit.findings]),
        "decision_ready_on_arrival": visit.decision_ready_on_arrival,
        "decision_ready_at": visit.decision_ready_at,
        "exit_requested_at": visit.exit_requested_at, "exited_at": visit.exited_at,
        "exit_kind": visit.exit_kind, "cleared_by": visit.cleared_by,
    }  # fmt: skip


def new_visit_row(visit: Visit) -> CheckpointVisitRow:
    return CheckpointVisitRow(
        id=visit.id, checkpoint=visit.checkpoint, plate=visit.plate, arrived_at=visit.arrived_at,
        **_visit_columns(visit),
    )  # fmt: skip


def write_visit(row: CheckpointVisitRow, visit: Visit) -> None:
    _write(row, _visit_columns(visit))


def _write(row: object, columns: dict[str, Any]) -> None:
    """Set the columns whose value changed (a time read back from SQLite is naive: compared as
    the UTC it is), so an unchanged visit or transit is not written again."""
    for name, value in columns.items():
        current = getattr(row, name)
        if isinstance(current, dt.datetime):
            current = _utc(current)
        if current != value:
            setattr(row, name, value)


# --- transits ------------------------------------------------------------------------------------


def _alert(data: dict[str, Any]) -> TransitAlert:
    return TransitAlert(
        data["kind"], data["detail"], data["key"], dt.datetime.fromisoformat(data["at"]),
        data["transit"], data["plate"], data.get("acknowledged_by"), data.get("acknowledged_at"),
    )  # fmt: skip


def transit_view(row: TransitRow) -> Transit:
    return Transit(
        id=row.id, plate=row.plate, notice_id=row.notice_id, application_id=row.application_id,
        corridor=row.corridor, exit_checkpoint=row.exit_checkpoint, state=row.state,
        started_at=_utc(row.started_at), due_by=_utc(row.due_by), closed_at=utc(row.closed_at),
        last_lat=row.last_lat, last_lon=row.last_lon, last_at=utc(row.last_at),
        stopped_since=utc(row.stopped_since), seal=row.seal,
        alerts=tuple(_alert(a) for a in json.loads(row.alerts)),
    )  # fmt: skip


def _transit_columns(transit: Transit) -> dict[str, Any]:
    return {
        "state": transit.state, "closed_at": transit.closed_at, "last_lat": transit.last_lat,
        "last_lon": transit.last_lon, "last_at": transit.last_at,
        "stopped_since": transit.stopped_since, "seal": transit.seal,
        "alerts": json.dumps([a.as_dict() for a in transit.alerts]),
    }  # fmt: skip


def new_transit_row(transit: Transit) -> TransitRow:
    return TransitRow(
        id=transit.id, plate=transit.plate, notice_id=transit.notice_id,
        application_id=transit.application_id, corridor=transit.corridor,
        exit_checkpoint=transit.exit_checkpoint, started_at=transit.started_at,
        due_by=transit.due_by, **_transit_columns(transit),
    )  # fmt: skip


def write_transit(row: TransitRow, transit: Transit) -> None:
    _write(row, _transit_columns(transit))


def track_point(row: TransitPositionRow) -> TrackPoint:
    return TrackPoint(_utc(row.at), row.lat, row.lon, row.seal, row.offset_m)
