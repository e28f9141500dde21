"""Transit monitoring: open a transit when a vehicle with a declared corridor leaves its entry
checkpoint, judge every GNSS fix and e-seal state (gateway.checkpoint.transit), raise alerts to the
OMC, and close the transit when the vehicle reaches its exit checkpoint."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, replace
from typing import Any

from gateway.checkpoint.errors import DeviceNotForThis, EventIdReused, NoOpenTransit
from gateway.checkpoint.events import Position
from gateway.checkpoint.ports import CheckpointUnit, CheckpointUnits
from gateway.checkpoint.registry import TRACKER, Device
from gateway.checkpoint.transit import Alert, Corridor, Track, judge, overdue
from gateway.checkpoint.views import (
    DeviceEventRecord,
    TrackPoint,
    Transit,
    TransitAlert,
    TransitPlan,
    new_id,
)
from gateway.clock import Clock
from gateway.i18n.text import Text
from gateway.trail.messages import Message

OMC = "omc"  # the Operative Management Centre: where alerts go


def _json(data: object) -> bytes:
    return json.dumps(data, sort_keys=True).encode()


@dataclass(frozen=True)
class TrackedTransit:
    """A transit and its track, as an officer or the OMC reads it."""

    transit: Transit
    track: tuple[TrackPoint, ...]

    def as_dict(self) -> dict[str, Any]:
        return self.transit.as_dict(self.track)


class TransitMonitor:
    def __init__(
        self, units: CheckpointUnits, clock: Clock, corridors: dict[str, Corridor]
    ) -> None:
        self.units = units
        self.clock = clock
        self.corridors = corridors

    def open(
        self, u: CheckpointUnit, *, plate: str, notice_id: str, application_id: str | None,
        plan: TransitPlan, at: dt.datetime,
    ) -> str:  # fmt: skip
        corridor = self.corridors[plan.corridor]
        transit = Transit(
            id=new_id("TRN", at),
            plate=plate,
            notice_id=notice_id,
            application_id=application_id,
            corridor=corridor.spec.id,
            exit_checkpoint=plan.exit_checkpoint,
            state="open",
            started_at=at,
            due_by=at + dt.timedelta(hours=corridor.spec.max_duration_hours),
            seal="closed",
        )
        u.transits.add(transit)
        body = _json({"transit": transit.id, "plate": plate, "corridor": transit.corridor,
                      "exit_checkpoint": transit.exit_checkpoint,
                      "due_by": transit.due_by.isoformat()})  # fmt: skip
        u.record(application_id, Message("transit-opened", "out", OMC, "application/json", body))
        return transit.id

    def close_at(
        self, u: CheckpointUnit, checkpoint: str, plate: str, at: dt.datetime
    ) -> str | None:
        """The vehicle reached `checkpoint`: close its open transit if that is its exit."""
        transit = u.transits.open_to(checkpoint, plate)
        if transit is None:
            return None
        u.transits.save(replace(transit, state="closed", closed_at=at))
        body = _json(
            {"transit": transit.id, "plate": plate, "closed_at": at.isoformat(), "at": checkpoint}
        )
        u.record(
            transit.application_id,
            Message("transit-closed", "out", OMC, "application/json", body),
        )
        return transit.id

    def record_position(
        self, device: Device, fix: Position, body: bytes
    ) -> tuple[dict[str, Any], bool]:
        """Judge and record one fix; returns (answer, created). A repeated event id with the same
        bytes returns the first answer; a refused fix (from the future, out of order) changes
        nothing and leaves no record."""
        if device.stage != TRACKER:
            raise DeviceNotForThis(
                Text("Device %(slug)s is not a transit tracker.", slug=device.slug)
            )
        now = self.clock()
        digest = hashlib.sha256(body).hexdigest()
        with self.units.unit() as u:
            seen = u.events.seen(fix.event_id)
            if seen is not None:
                if seen.body_sha256 != digest:
                    raise EventIdReused(
                        Text(
                            "Event id %(event_id)s was already used for another report.",
                            event_id=fix.event_id,
                        )
                    )
                return seen.answer, False
            transit = u.transits.open_of(fix.plate)
            if transit is None:
                raise NoOpenTransit(
                    Text("No transit is open for vehicle %(plate)s.", plate=fix.plate)
                )
            corridor = self.corridors[transit.corridor]
            judgement = judge(corridor, _track(transit), fix, now)
            u.record(
                transit.application_id,
                Message("gnss-position", "in", f"device:{device.slug}", "application/json", body, device.slug),
            )  # fmt: skip
            if judgement.accepted:
                u.transits.add_position(transit.id, TrackPoint(fix.at, fix.lat, fix.lon, fix.seal,
                                                               judgement.offset_m or 0.0))  # fmt: skip
                transit = replace(
                    transit, last_lat=fix.lat, last_lon=fix.lon, last_at=fix.at,
                    stopped_since=judgement.stopped_since, seal=fix.seal,
                )  # fmt: skip
            transit, raised = self._raise(u, transit, judgement.alerts, fix.at)
            u.transits.save(transit)
            answer = {
                "transit": transit.id,
                "accepted": judgement.accepted,
                "offset_m": round(judgement.offset_m, 1)
                if judgement.offset_m is not None
                else None,
                "alerts": raised,
            }
            u.events.add(DeviceEventRecord(fix.event_id, device.slug, transit.id, "position",
                                           digest, answer, now))  # fmt: skip
            return answer, True

    def sweep_overdue(self) -> list[dict[str, Any]]:
        """Raise the overdue alert for every open transit past its due time (run periodically)."""
        now = self.clock()
        raised: list[dict[str, Any]] = []
        with self.units.unit() as u:
            for transit in u.transits.all_open():
                changed, new = self._raise(u, transit, overdue(_track(transit), now), now)
                if new:
                    u.transits.save(changed)
                raised += new
        return raised

    def transit(self, transit_id: str) -> TrackedTransit | None:
        with self.units.unit() as u:
            transit = u.transits.transit(transit_id)
            if transit is None:
                return None
            return TrackedTransit(transit, u.transits.track(transit_id))

    def open_transit_for(self, plate: str) -> str | None:
        with self.units.unit() as u:
            transit = u.transits.open_of(plate)
            return None if transit is None else transit.id

    def _raise(
        self, u: CheckpointUnit, transit: Transit, alerts: list[Alert], at: dt.datetime
    ) -> tuple[Transit, list[dict[str, Any]]]:
        """Record the alerts not raised before for this transit; returns the transit with them
        and what was raised."""
        known = {a.key for a in transit.alerts}
        new = [
            TransitAlert(a.kind, a.detail, a.key, at, transit.id, transit.plate)
            for a in alerts
            if a.key not in known
        ]
        for alert in new:
            u.record(
                transit.application_id,
                Message("transit-alert", "out", OMC, "application/json", _json(alert.as_dict())),
            )
        if new:
            transit = replace(transit, alerts=(*transit.alerts, *new))
        return transit, [a.as_dict() for a in new]


def _track(transit: Transit) -> Track:
    alerted = frozenset(a.key for a in transit.alerts)
    return Track(transit.last_lat, transit.last_lon, transit.last_at, transit.stopped_since,
                 transit.seal, transit.due_by, alerted)  # fmt: skip
