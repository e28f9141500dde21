"""What the checkpoint's services read from storage: frozen views of notices, visits, device events
and transits (gateway.checkpoint.ports says who returns them). A service changes a view with
`dataclasses.replace` and hands it back to be saved; none of them is an ORM row.

`as_dict` gives the JSON a device, an officer or the OMC is shown; it is also how storage keeps
the nested parts (stages, findings, alerts), so the stored JSON is what it always was."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from gateway.checkpoint.gate_rules import Declared, Finding


def new_id(prefix: str, now: dt.datetime) -> str:
    """An id for a new visit, notice or transit: prefix, day, 40 random bits."""
    return f"{prefix}-{now:%Y%m%d}-{secrets.token_hex(5).upper()}"


def _iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


# --- notices -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NoticeSaved:
    id: str
    version: int
    plate: str
    checkpoint: str
    applications: tuple[str, ...]
    supersedes: str | None
    created: bool  # False: the same signed bytes were sent before


@dataclass(frozen=True)
class TransitPlan:
    """The transit a notice declares: the corridor to follow and where the vehicle leaves it."""

    corridor: str
    exit_checkpoint: str
    seal_id: str | None = None


@dataclass(frozen=True)
class ArrivalNotice:
    """An active notice as the gate reads it."""

    id: str
    applications: tuple[str, ...]
    declared: Declared
    transit: TransitPlan | None = None


# --- visits --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StageMark:
    """One stage of a visit: when its reading was taken, how it ended, by which event and lane."""

    stage: str
    at: dt.datetime
    status: str  # passed | finding
    event: str
    lane: str

    def as_dict(self) -> dict[str, str]:
        return {"at": self.at.isoformat(), "status": self.status, "event": self.event,
                "lane": self.lane}  # fmt: skip


@dataclass(frozen=True)
class GateFinding:
    """A gate finding as the visit keeps it, until an officer records the inspection's result."""

    id: str  # F1, F2, ... within the visit
    rule: str
    stage: str
    agency: str
    lane: str
    why: str
    detail: str
    status: str = "open"  # open | cleared | refused
    resolved_by: str | None = None
    note: str | None = None

    @classmethod
    def of(cls, number: int, finding: Finding) -> GateFinding:
        return cls(f"F{number}", finding.rule, finding.stage, finding.agency, finding.lane,
                   finding.why, finding.detail)  # fmt: skip

    def as_dict(self) -> dict[str, Any]:
        shown: dict[str, Any] = {
            "id": self.id, "rule": self.rule, "stage": self.stage, "agency": self.agency,
            "lane": self.lane, "why": self.why, "detail": self.detail, "status": self.status,
        }  # fmt: skip
        if self.status != "open":
            shown |= {"resolved_by": self.resolved_by, "note": self.note}
        return shown


@dataclass(frozen=True)
class Visit:
    """One vehicle's pass through one checkpoint, from entry registration to the exit barrier."""

    id: str
    checkpoint: str
    plate: str
    lane: str
    state: str  # in_progress | manual | directed | exited
    arrived_at: dt.datetime
    notice_id: str | None = None
    applications: tuple[str, ...] = ()
    reason: str | None = None  # why manual / directed, for the officer
    stages: tuple[StageMark, ...] = ()
    findings: tuple[GateFinding, ...] = ()
    decision_ready_on_arrival: bool | None = None
    decision_ready_at: dt.datetime | None = None
    exit_requested_at: dt.datetime | None = None
    exited_at: dt.datetime | None = None
    exit_kind: str | None = None  # automatic | manual
    cleared_by: str | None = None

    def stage(self, name: str) -> StageMark | None:
        return next((m for m in self.stages if m.stage == name), None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "checkpoint": self.checkpoint, "plate": self.plate, "lane": self.lane,
            "state": self.state, "reason": self.reason, "notice": self.notice_id,
            "applications": list(self.applications),
            "stages": {m.stage: m.as_dict() for m in self.stages},
            "findings": [f.as_dict() for f in self.findings], "exit_kind": self.exit_kind,
            "cleared_by": self.cleared_by,
            "decision_ready_on_arrival": self.decision_ready_on_arrival,
            "arrived_at": _iso(self.arrived_at), "exited_at": _iso(self.exited_at),
        }  # fmt: skip


@dataclass(frozen=True)
class SeenEvent:
    """A device event accepted before: its bytes' digest and what the device was told."""

    body_sha256: str
    answer: dict[str, Any]


@dataclass(frozen=True)
class DeviceEventRecord:
    """An accepted device event or transit fix, kept so that a repeat gets the first answer."""

    event_id: str
    device: str
    visit_id: str | None  # the visit, or the transit of a fix
    stage: str  # a stage, or "position"
    body_sha256: str
    answer: dict[str, Any]
    received_at: dt.datetime


# --- transits ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TransitAlert:
    """An alert raised to the OMC about a transit; the OMC marks it acknowledged."""

    kind: str
    detail: str
    key: str  # one alert per key and transit
    at: dt.datetime
    transit: str
    plate: str
    acknowledged_by: str | None = None
    acknowledged_at: str | None = None

    def as_dict(self) -> dict[str, Any]:
        shown: dict[str, Any] = {"kind": self.kind, "detail": self.detail, "key": self.key,
                                 "at": self.at.isoformat(), "transit": self.transit,
                                 "plate": self.plate}  # fmt: skip
        if self.acknowledged_by is not None:
            shown |= {"acknowledged_by": self.acknowledged_by,
                      "acknowledged_at": self.acknowledged_at}  # fmt: skip
        return shown


@dataclass(frozen=True)
class TrackPoint:
    """One accepted GNSS fix of a transit."""

    at: dt.datetime
    lat: float
    lon: float
    seal: str
    offset_m: float  # distance from the corridor's centre line

    def as_dict(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "lat": self.lat, "lon": self.lon, "seal": self.seal,
                "offset_m": round(self.offset_m, 1)}  # fmt: skip


@dataclass(frozen=True)
class Transit:
    """A vehicle under transit monitoring along a declared corridor, until its exit checkpoint."""

    id: str
    plate: str
    notice_id: str | None
    application_id: str | None
    corridor: str
    exit_checkpoint: str
    state: str  # open | closed
    started_at: dt.datetime
    due_by: dt.datetime
    closed_at: dt.datetime | None = None
    last_lat: float | None = None
    last_lon: float | None = None
    last_at: dt.datetime | None = None
    stopped_since: dt.datetime | None = None
    seal: str = "closed"
    alerts: tuple[TransitAlert, ...] = ()

    def as_dict(self, track: tuple[TrackPoint, ...]) -> dict[str, Any]:
        return {
            "id": self.id, "plate": self.plate, "corridor": self.corridor, "state": self.state,
            "exit_checkpoint": self.exit_checkpoint, "seal": self.seal,
            "started_at": _iso(self.started_at), "due_by": _iso(self.due_by),
            "closed_at": _iso(self.closed_at), "alerts": [a.as_dict() for a in self.alerts],
            "track": [p.as_dict() for p in track],
        }  # fmt: skip
