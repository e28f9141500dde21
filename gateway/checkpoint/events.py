"""Device events and transit positions as typed values (contract: wsdl/checkpoint/
device-events.openapi.json). Constructors refuse anything the contract does not allow, with a
sentence naming the field; nothing downstream sees the raw JSON."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from dataclasses import dataclass
from typing import Any

from gateway.checkpoint.errors import InvalidEvent
from gateway.checkpoint.registry import STAGES
from gateway.i18n.text import Text

EVENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{7,63}")
PLATE = re.compile(r"[A-Z0-9]{2,12}")
CHECKPOINT = re.compile(r"KZ-[A-Z]{2,29}")  # CheckpointVisitRow.checkpoint is String(32)
LANE = re.compile(r"[A-Z0-9]{1,8}")
MAX_BODY = 64 * 1024
NOTE_MAX = 2000

# Readings each stage must carry: name -> accepted Python types (bool is not a number here).
_READINGS: dict[str, dict[str, tuple[type, ...]]] = {
    "entry": {},
    "radiation": {"alarm": (bool,), "dose_usv_h": (int, float), "background_usv_h": (int, float)},
    "parameters": {
        "gross_mass_kg": (int, float),
        "axle_loads_kg": (list,),
        "length_m": (int, float),
        "width_m": (int, float),
        "height_m": (int, float),
    },
    "scan": {"anomaly": (bool,)},
    "documents": {"presented": (list,)},
    "exit": {},
}
_OPTIONAL = {"entry": {"trailer_plate", "confidence"}, "scan": {"note"}}


def _object(body: bytes) -> dict[str, Any]:
    if len(body) > MAX_BODY:
        raise InvalidEvent(
            Text(
                "The event is %(body)s bytes; the limit is %(MAX_BODY)s.",
                body=len(body),
                MAX_BODY=MAX_BODY,
            )
        )
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidEvent(Text("The body is not JSON: %(exc)s", exc=exc)) from exc
    if not isinstance(data, dict):
        raise InvalidEvent(Text("The body must be a JSON object."))
    return data


def _text(data: dict[str, Any], name: str, pattern: re.Pattern[str]) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise InvalidEvent(
            Text(
                "%(name)r must be a string matching %(pattern)s.",
                name=name,
                pattern=pattern.pattern,
            ),
            field=name,
        )
    return value


def _moment(data: dict[str, Any], name: str) -> dt.datetime:
    value = data.get(name)
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError:
        moment = None
    if not isinstance(value, str) or moment is None or moment.tzinfo is None:
        raise InvalidEvent(
            Text("%(name)r must be an RFC 3339 date-time with an offset.", name=name), field=name
        )
    return moment.astimezone(dt.UTC)


def _only(data: dict[str, Any], allowed: set[str], where: str) -> None:
    extra = sorted(set(data) - allowed)
    if extra:
        raise InvalidEvent(
            Text(
                "%(where)s has fields the contract does not define: %(extra)s.",
                where=where,
                extra=extra,
            )
        )


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_optional(readings: dict[str, Any]) -> None:
    """The optional readings are kept in the visit's stages: each of its type and bounded."""
    trailer = readings.get("trailer_plate")
    if trailer is not None and not (isinstance(trailer, str) and PLATE.fullmatch(trailer)):
        raise InvalidEvent(
            Text("'trailer_plate' must match %(pattern)s.", pattern=PLATE.pattern),
            field="trailer_plate",
        )
    if "confidence" in readings and not _number(readings["confidence"]):
        raise InvalidEvent(Text("'confidence' must be a number."), field="confidence")
    note = readings.get("note")
    if note is not None and not (isinstance(note, str) and len(note) <= NOTE_MAX):
        raise InvalidEvent(
            Text("'note' must be a string of at most %(NOTE_MAX)s characters.", NOTE_MAX=NOTE_MAX)
        )


@dataclass(frozen=True)
class StageEvent:
    event_id: str
    checkpoint: str
    stage: str
    lane: str
    plate: str
    measured_at: dt.datetime
    readings: dict[str, Any]


def parse_stage_event(body: bytes) -> StageEvent:
    data = _object(body)
    _only(
        data,
        {"event_id", "checkpoint", "stage", "lane", "plate", "measured_at", "readings"},
        "The event",
    )
    stage = data.get("stage")
    if stage not in STAGES:
        raise InvalidEvent(
            Text("'stage' must be one of %(list)s.", list=", ".join(STAGES)), field="stage"
        )
    readings = data.get("readings")
    if not isinstance(readings, dict):
        raise InvalidEvent(Text("'readings' must be an object."), field="readings")
    required = _READINGS[stage]
    _only(readings, set(required) | _OPTIONAL.get(stage, set()), f"The {stage} readings")
    for name, types in required.items():
        value = readings.get(name)
        numeric = (int, float) == types
        if (numeric and not _number(value)) or (not numeric and not isinstance(value, types)):
            raise InvalidEvent(
                Text(
                    "The %(stage)s reading %(name)r is missing or of the wrong type.",
                    stage=stage,
                    name=name,
                )
            )
    if stage == "parameters" and not all(_number(v) for v in readings["axle_loads_kg"]):
        raise InvalidEvent(Text("'axle_loads_kg' must be a list of numbers."))
    if stage == "documents" and not all(isinstance(v, str) for v in readings["presented"]):
        raise InvalidEvent(Text("'presented' must be a list of document types."))
    _check_optional(readings)
    return StageEvent(
        event_id=_text(data, "event_id", EVENT_ID),
        checkpoint=_text(data, "checkpoint", CHECKPOINT),
        stage=str(stage),
        lane=_text(data, "lane", LANE),
        plate=_text(data, "plate", PLATE),
        measured_at=_moment(data, "measured_at"),
        readings=dict(readings),
    )


@dataclass(frozen=True)
class Position:
    event_id: str
    plate: str
    at: dt.datetime
    lat: float
    lon: float
    seal: str  # closed | open


def parse_position(body: bytes) -> Position:
    data = _object(body)
    _only(data, {"event_id", "plate", "at", "lat", "lon", "seal"}, "The position")
    lat, lon = data.get("lat"), data.get("lon")
    if not _number(lat) or not -90 <= float(lat) <= 90:  # type: ignore[arg-type]
        raise InvalidEvent(Text("'lat' must be a number from -90 to 90."), field="lat")
    if not _number(lon) or not -180 <= float(lon) <= 180:  # type: ignore[arg-type]
        raise InvalidEvent(Text("'lon' must be a number from -180 to 180."), field="lon")
    if data.get("seal") not in ("closed", "open"):
        raise InvalidEvent(Text("'seal' must be 'closed' or 'open'."), field="seal")
    return Position(
        event_id=_text(data, "event_id", EVENT_ID),
        plate=_text(data, "plate", PLATE),
        at=_moment(data, "at"),
        lat=float(lat),  # type: ignore[arg-type]
        lon=float(lon),  # type: ignore[arg-type]
        seal=str(data["seal"]),
    )
