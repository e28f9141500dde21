"""Read models for the OMC's checkpoints and movements pages (`gateway.omc.ports.FloorViews`)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.clock import iso
from gateway.omc.ports import ExitLine, FloorSnapshot, TransitRecord, VisitRecord
from gateway.storage.models import ApplicationRow, CaseRow, CheckpointVisitRow, TransitRow
from gateway.storage.repository import Store, utc


class SqlFloorViews:
    def __init__(self, store: Store) -> None:
        self.store = store

    def floor(self, checkpoints: Iterable[str], recent_exits: int) -> FloorSnapshot:
        with self.store.reading() as s:
            visits = s.scalars(
                select(CheckpointVisitRow)
                .where(CheckpointVisitRow.state != "exited")
                .order_by(CheckpointVisitRow.arrived_at)
            ).all()
            records = tuple(_visit(v) for v in visits)
            app_ids = sorted({a for v in records for a in v.applications})
            open_cases: dict[str, list[str]] = {}
            verdicts: dict[str, str | None] = {}
            if app_ids:
                for app_id, agency, state in s.execute(
                    select(CaseRow.application_id, CaseRow.agency, CaseRow.state).where(
                        CaseRow.application_id.in_(app_ids),
                        CaseRow.state.not_in(["granted", "refused"]),
                    )
                ):
                    open_cases.setdefault(app_id, []).append(f"{agency}: {state}")
                verdicts = dict(
                    s.execute(
                        select(ApplicationRow.id, ApplicationRow.verdict).where(
                            ApplicationRow.id.in_(app_ids)
                        )
                    ).all()
                )
            exits = {code: _recent_exits(s, code, recent_exits) for code in checkpoints}
        return FloorSnapshot(
            visits=records,
            open_cases={a: tuple(c) for a, c in open_cases.items()},
            verdicts=verdicts,
            exits=exits,
        )

    def transits(self, limit: int) -> list[TransitRecord]:
        with self.store.reading() as s:
            transits = s.scalars(
                select(TransitRow).order_by(TransitRow.started_at.desc()).limit(limit)
            ).all()
            return [
                TransitRecord(
                    id=t.id,
                    plate=t.plate,
                    corridor=t.corridor,
                    state=t.state,
                    seal=t.seal,
                    due_by=utc(t.due_by),
                    last_lat=t.last_lat,
                    last_lon=t.last_lon,
                    alerts=tuple(json.loads(t.alerts)),
                )
                for t in transits
            ]


def _recent_exits(s: Session, checkpoint: str, limit: int) -> tuple[ExitLine, ...]:
    """The last vehicles through the exit: automatic, or opened by hand and by whom."""
    visits = s.scalars(
        select(CheckpointVisitRow)
        .where(CheckpointVisitRow.checkpoint == checkpoint, CheckpointVisitRow.state == "exited")
        .order_by(CheckpointVisitRow.exited_at.desc())
        .limit(limit)
    ).all()
    return tuple(
        ExitLine(
            id=v.id,
            plate=v.plate,
            lane=v.lane,
            kind=v.exit_kind,
            cleared_by=v.cleared_by,
            at=_iso(v.exited_at),
        )
        for v in visits
    )


def _visit(v: CheckpointVisitRow) -> VisitRecord:
    return VisitRecord(
        id=v.id,
        checkpoint=v.checkpoint,
        lane=v.lane,
        plate=v.plate,
        state=v.state,
        reason=v.reason,
        arrived_at=utc(v.arrived_at),
        stages=json.loads(v.stages),
        applications=tuple(json.loads(v.applications)),
        findings=tuple(json.loads(v.findings)),
    )


def _iso(moment: dt.datetime | None) -> str | None:
    return iso(t) if (t := utc(moment)) else None
