"""Transit monitoring: open a transit when a vehicle with a declared corridor leaves its entry
checkpoint, judge every GNSS fix and e-seal state (gateway.checkpoint.transit), raise alerts to the
OMC, and close the transit when the vehicle reaches its exit checkpoint."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.checkpoint.errors import DeviceNotForThis, EventIdReused, NoOpenTransit
from gateway.checkpoint.events import Position
from gateway.checkpoint.registry import TRACKER, Device
from gateway.checkpoint.store import CheckpointStore, new_id
from gateway.checkpoint.transit import Alert, Corridor, Track, judge, overdue
from gateway.storage.models import DeviceEventRow, TransitPositionRow, TransitRow
from gateway.storage.repository import Message, sha256_hex, utc

OMC = "omc"  # the Operative Management Centre: where alerts go


def _json(data: object) -> bytes:
    return json.dumps(data, sort_keys=True).encode()


class TransitMonitor:
    def __init__(self, store: CheckpointStore, corridors: dict[str, Corridor]) -> None:
        self.store = store
        self.corridors = corridors

    def open(
        self, s: Session, *, plate: str, notice_id: str, application_id: str | None,
        transit: dict[str, Any], at: dt.datetime,
    ) -> str:  # fmt: skip
        corridor = self.corridors[transit["corridor"]]
        row = TransitRow(
            id=new_id("TRN", at),
            plate=plate,
            notice_id=notice_id,
            application_id=application_id,
            corridor=corridor.spec.id,
            exit_checkpoint=transit["exit_checkpoint"],
            state="open",
            started_at=at,
            due_by=at + dt.timedelta(hours=corridor.spec.max_duration_hours),
            seal="closed",
            alerts="[]",
        )
        s.add(row)
        body = _json({"transit": row.id, "plate": plate, "corridor": row.corridor,
                      "exit_checkpoint": row.exit_checkpoint, "due_by": row.due_by.isoformat()})  # fmt: skip
        self.store.record(
            s, application_id, Message("transit-opened", "out", OMC, "application/json", body)
        )
        return row.id

    def close_at(self, s: Session, checkpoint: str, plate: str, at: dt.datetime) -> str | None:
        """The vehicle reached `checkpoint`: close its open transit if that is its exit."""
        row = s.scalars(
            select(TransitRow).where(
                TransitRow.plate == plate,
                TransitRow.state == "open",
                TransitRow.exit_checkpoint == checkpoint,
            )
        ).first()
        if row is None:
            return None
        row.state, row.closed_at = "closed", at
        body = _json(
            {"transit": row.id, "plate": plate, "closed_at": at.isoformat(), "at": checkpoint}
        )
        self.store.record(
            s, row.application_id, Message("transit-closed", "out", OMC, "application/json", body)
        )
        return row.id

    def record_position(
        self, device: Device, fix: Position, body: bytes
    ) -> tuple[dict[str, Any], bool]:
        """Judge and record one fix; returns (answer, created). A repeated event id with the same
        bytes returns the first answer; a refused fix (from the future, out of order) changes
        nothing and leaves no record."""
        if device.stage != TRACKER:
            raise DeviceNotForThis(f"Device {device.slug} is not a transit tracker.")
        now = self.store.clock()
        digest = sha256_hex(body)
        with self.store.transaction() as s:
            seen = s.get(DeviceEventRow, fix.event_id)
            if seen is not None:
                if seen.body_sha256 != digest:
                    raise EventIdReused(
                        f"Event id {fix.event_id} was already used for another report."
                    )
                return json.loads(seen.answer), False
            row = s.scalars(
                select(TransitRow).where(TransitRow.plate == fix.plate, TransitRow.state == "open")
            ).first()
            if row is None:
                raise NoOpenTransit(f"No transit is open for vehicle {fix.plate}.")
            corridor = self.corridors[row.corridor]
            judgement = judge(corridor, self._track(row), fix, now)
            self.store.record(
                s, row.application_id,
                Message("gnss-position", "in", f"device:{device.slug}", "application/json", body, device.slug),
            )  # fmt: skip
            if judgement.accepted:
                s.add(TransitPositionRow(transit_id=row.id, at=fix.at, lat=fix.lat, lon=fix.lon,
                                         seal=fix.seal, offset_m=judgement.offset_m or 0.0))  # fmt: skip
                row.last_lat, row.last_lon, row.last_at = fix.lat, fix.lon, fix.at
                row.stopped_since, row.seal = judgement.stopped_since, fix.seal
            raised = self._raise(s, row, judgement.alerts, fix.at)
            answer = {
                "transit": row.id,
                "accepted": judgement.accepted,
                "offset_m": round(judgement.offset_m, 1)
                if judgement.offset_m is not None
                else None,
                "alerts": raised,
            }
            s.add(DeviceEventRow(event_id=fix.event_id, device=device.slug, visit_id=row.id,
                                 stage="position", body_sha256=digest, answer=json.dumps(answer),
                                 received_at=now))  # fmt: skip
            return answer, True

    def sweep_overdue(self) -> list[dict[str, Any]]:
        """Raise the overdue alert for every open transit past its due time (run periodically)."""
        now = self.store.clock()
        raised: list[dict[str, Any]] = []
        with self.store.transaction() as s:
            for row in s.scalars(select(TransitRow).where(TransitRow.state == "open")):
                raised += self._raise(s, row, overdue(self._track(row), now), now)
        return raised

    def transit(self, transit_id: str) -> dict[str, Any] | None:
        with self.store.transaction() as s:
            row = s.get(TransitRow, transit_id)
            if row is None:
                return None
            track = s.scalars(
                select(TransitPositionRow).where(TransitPositionRow.transit_id == transit_id)
                .order_by(TransitPositionRow.at)
            )  # fmt: skip
            return {
                "id": row.id, "plate": row.plate, "corridor": row.corridor, "state": row.state,
                "exit_checkpoint": row.exit_checkpoint, "seal": row.seal,
                "started_at": _iso(row.started_at), "due_by": _iso(row.due_by),
                "closed_at": _iso(row.closed_at), "alerts": json.loads(row.alerts),
                "track": [{"at": _iso(p.at), "lat": p.lat, "lon": p.lon, "seal": p.seal,
                           "offset_m": round(p.offset_m, 1)} for p in track],
            }  # fmt: skip

    def open_transit_for(self, plate: str) -> str | None:
        with self.store.transaction() as s:
            return s.scalars(
                select(TransitRow.id).where(TransitRow.plate == plate, TransitRow.state == "open")
            ).first()

    @staticmethod
    def _track(row: TransitRow) -> Track:
        alerted = frozenset(a["key"] for a in json.loads(row.alerts))
        return Track(row.last_lat, row.last_lon, utc(row.last_at), utc(row.stopped_since),
                     row.seal, utc(row.due_by) or row.due_by, alerted)  # fmt: skip

    def _raise(
        self, s: Session, row: TransitRow, alerts: list[Alert], at: dt.datetime
    ) -> list[dict[str, Any]]:
        known = json.loads(row.alerts)
        new = [
            {
                "kind": a.kind,
                "detail": a.detail,
                "key": a.key,
                "at": at.isoformat(),
                "transit": row.id,
                "plate": row.plate,
            }
            for a in alerts
            if a.key not in {k["key"] for k in known}
        ]
        for alert in new:
            self.store.record(
                s,
                row.application_id,
                Message("transit-alert", "out", OMC, "application/json", _json(alert)),
            )
        if new:
            row.alerts = json.dumps(known + new)
        return new


def _iso(moment: dt.datetime | None) -> str | None:
    return (utc(moment) or moment).isoformat() if moment is not None else None
