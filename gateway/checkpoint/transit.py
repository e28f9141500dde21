"""Transit corridors as data, and the pure rules that judge a vehicle's GNSS fixes against one.

A corridor (mappings/corridors/*.toml) is a polyline of waypoints with a width. Geometry is done
with pyproj and shapely, not by hand: lon/lat is projected to an azimuthal equidistant CRS centred
on the corridor (metres; distortion stays well under 1 % within ~600 km of the centre, i.e. a few
hundred metres on a 20 km half-width), the line is buffered there by half the width, and the offset
reported is the geodesic (WGS84 ellipsoid) distance to the nearest point of the centre line.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import shapely
from pyproj import CRS, Geod, Transformer
from shapely.geometry import LineString, Point

from gateway.checkpoint.errors import PositionRefused
from gateway.checkpoint.events import Position
from gateway.checkpoint.registry import Checkpoint
from gateway.errors import ConfigurationError
from gateway.i18n.text import Text

GEOD = Geod(ellps="WGS84")
CLOCK_SKEW = dt.timedelta(seconds=30)
STOP_RADIUS_M = 200.0  # two fixes closer than this: the vehicle has not moved


@dataclass(frozen=True)
class CorridorSpec:
    id: str
    name: str
    entry_checkpoint: str
    exit_checkpoint: str
    width_km: float
    max_duration_hours: float
    max_stop_minutes: float
    max_speed_kmh: float
    waypoints: tuple[tuple[float, float], ...]  # (lat, lon)


class Corridor:
    """A corridor's geometry in its own local metric CRS. Immutable after construction."""

    def __init__(self, spec: CorridorSpec) -> None:
        if len(spec.waypoints) < 2 or spec.width_km <= 0:
            raise ConfigurationError(
                Text("corridor %(id)s: two waypoints and a width are needed", id=spec.id)
            )
        self.spec = spec
        lat0 = sum(p[0] for p in spec.waypoints) / len(spec.waypoints)
        lon0 = sum(p[1] for p in spec.waypoints) / len(spec.waypoints)
        local = CRS.from_dict(
            {"proj": "aeqd", "lat_0": lat0, "lon_0": lon0, "datum": "WGS84", "units": "m"}
        )
        self._to_local = Transformer.from_crs("EPSG:4326", local, always_xy=True)
        self._to_geo = Transformer.from_crs(local, "EPSG:4326", always_xy=True)
        self.line = LineString([self._to_local.transform(lon, lat) for lat, lon in spec.waypoints])
        self.area = self.line.buffer(spec.width_km * 500.0)  # half the width either side
        shapely.prepare(self.area)

    def locate(self, lat: float, lon: float) -> tuple[bool, float]:
        """(inside the corridor, geodesic distance in metres to its centre line)."""
        x, y = self._to_local.transform(lon, lat)
        point = Point(x, y)
        nearest = self.line.interpolate(self.line.project(point))
        near_lon, near_lat = self._to_geo.transform(nearest.x, nearest.y)
        _, _, offset = GEOD.inv(lon, lat, near_lon, near_lat)
        return bool(self.area.covers(point)), float(offset)

    def point_at(self, fraction: float, offset_km: float = 0.0) -> tuple[float, float]:
        """(lat, lon) at `fraction` of the line's length, shifted `offset_km` north (simulators)."""
        p = self.line.interpolate(fraction, normalized=True)
        lon, lat = self._to_geo.transform(p.x, p.y + offset_km * 1000.0)
        return float(lat), float(lon)


@lru_cache(maxsize=64)
def corridor_of(spec: CorridorSpec) -> Corridor:
    """The corridor of `spec`, built once per process: a Corridor is immutable and pyproj's
    transformers are thread-safe (pyproj 3.1+), while building one's projections costs ~5 ms of
    CPU, which every gateway built in one process (the test suite builds hundreds) paid again."""
    return Corridor(spec)


_FIELDS = ("id", "name", "entry_checkpoint", "exit_checkpoint", "width_km", "max_duration_hours",
           "max_stop_minutes", "max_speed_kmh", "waypoints")  # fmt: skip


def load_corridors(
    directory: Path, checkpoints: Mapping[str, Checkpoint] | None = None
) -> dict[str, Corridor]:
    """Every corridor in `directory`. A malformed file stops the gateway at start with a sentence
    naming the file and what is wrong: a corridor judged wrongly would raise false alerts or none.
    With `checkpoints`, its entry and exit must be known, and its ends lie within its half-width of
    those that have a position (so a line drawn from the wrong place is caught)."""
    corridors: dict[str, Corridor] = {}
    for path in sorted(Path(directory).glob("*.toml")):
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigurationError(
                Text("The corridor %(path)s cannot be read: %(exc)s", path=path, exc=exc)
            ) from exc
        missing = [name for name in _FIELDS if name not in raw]
        if missing:
            raise ConfigurationError(
                Text("The corridor %(path)s lacks %(list)s.", path=path, list=", ".join(missing))
            )
        try:
            spec = CorridorSpec(
                id=str(raw["id"]),
                name=str(raw["name"]),
                entry_checkpoint=str(raw["entry_checkpoint"]),
                exit_checkpoint=str(raw["exit_checkpoint"]),
                width_km=float(raw["width_km"]),
                max_duration_hours=float(raw["max_duration_hours"]),
                max_stop_minutes=float(raw["max_stop_minutes"]),
                max_speed_kmh=float(raw["max_speed_kmh"]),
                waypoints=tuple(_waypoint(path, i, p) for i, p in enumerate(raw["waypoints"], 1)),
            )
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(
                Text(
                    "The corridor %(path)s has a value of the wrong type: %(exc)s",
                    path=path,
                    exc=exc,
                )
            ) from exc
        if spec.id in corridors:
            raise ConfigurationError(
                Text(
                    "The corridor %(path)s repeats the id %(id)r of another file.",
                    path=path,
                    id=spec.id,
                )
            )
        corridor = corridor_of(spec)
        if checkpoints is not None:
            _check_ends(path, corridor, checkpoints)
        corridors[spec.id] = corridor
    return corridors


def _waypoint(path: Path, number: int, point: object) -> tuple[float, float]:
    if (
        not isinstance(point, list) or len(point) != 2
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in point)
        or not (-90 <= point[0] <= 90 and -180 <= point[1] <= 180)
    ):  # fmt: skip
        raise ConfigurationError(
            Text(
                "Waypoint %(number)s of the corridor %(path)s is %(point)r, not a [lat, lon] pair "
                "of degrees (latitude -90..90, longitude -180..180).",
                number=number,
                path=path,
                point=point,
            )
        )
    return float(point[0]), float(point[1])


def _check_ends(path: Path, corridor: Corridor, checkpoints: Mapping[str, Checkpoint]) -> None:
    spec = corridor.spec
    ends = ((spec.entry_checkpoint, spec.waypoints[0], "first"),
            (spec.exit_checkpoint, spec.waypoints[-1], "last"))  # fmt: skip
    for code, (lat, lon), which in ends:
        checkpoint = checkpoints.get(code)
        if checkpoint is None:
            raise ConfigurationError(
                Text(
                    "The corridor %(path)s names the checkpoint %(code)s, which is not configured.",
                    path=path,
                    code=code,
                )
            )
        if checkpoint.lat is None or checkpoint.lon is None:
            continue  # no sourced position to compare with
        _, _, metres = GEOD.inv(lon, lat, checkpoint.lon, checkpoint.lat)
        if metres > spec.width_km * 500.0:
            raise ConfigurationError(
                Text(
                    "The %(which)s waypoint of the corridor %(path)s is %(km)s km from its "
                    "checkpoint %(code)s, more than half the corridor's width (%(half)s km).",
                    which=which,
                    path=path,
                    km=format(metres / 1000, ".0f"),
                    code=code,
                    half=format(spec.width_km / 2, "g"),
                )
            )


@dataclass(frozen=True)
class Track:
    """What is known of a transit before this fix."""

    last_lat: float | None
    last_lon: float | None
    last_at: dt.datetime | None
    stopped_since: dt.datetime | None
    seal: str
    due_by: dt.datetime
    alerted: frozenset[str] = frozenset()  # alert keys already raised (kind or kind@since)


@dataclass(frozen=True)
class Alert:
    kind: str  # off-corridor | seal-opened | long-stop | overdue | impossible-speed
    detail: str
    key: str  # raise once per key


@dataclass(frozen=True)
class Judgement:
    accepted: bool
    offset_m: float | None
    stopped_since: dt.datetime | None
    alerts: list[Alert] = field(default_factory=list)


def judge(corridor: Corridor, track: Track, fix: Position, now: dt.datetime) -> Judgement:
    """Judge one fix. Raises `PositionRefused` for a fix that cannot be true in time (from the
    future, or not after the last one); a physically impossible jump is kept out of the track
    and raises an alert (a spoofed or faulty tracker is itself something the OMC must see)."""
    spec = corridor.spec
    if fix.at > now + CLOCK_SKEW:
        raise PositionRefused(
            Text(
                "The fix is dated %(at)s, after the gateway's time %(now)s: check the tracker's "
                "clock.",
                at=fix.at.isoformat(),
                now=now.isoformat(),
            )
        )
    if track.last_at is not None and fix.at <= track.last_at:
        raise PositionRefused(
            Text(
                "The fix is dated %(at)s, not after the last accepted fix (%(last_at)s); send "
                "fixes in order.",
                at=fix.at.isoformat(),
                last_at=track.last_at.isoformat(),
            )
        )
    alerts: list[Alert] = []
    moved = None
    if track.last_lat is not None and track.last_lon is not None and track.last_at is not None:
        _, _, moved = GEOD.inv(track.last_lon, track.last_lat, fix.lon, fix.lat)
        hours = (fix.at - track.last_at).total_seconds() / 3600
        speed = moved / 1000 / hours
        if speed > spec.max_speed_kmh:
            # Stored as English and said in the reader's language when read (gateway.i18n.stored).
            detail = Text(
                "%(km)s km in %(minutes)s min = %(speed)s km/h (> %(limit)s): fix not accepted",
                km=format(moved / 1000, ".1f"),
                minutes=format(hours * 60, ".1f"),
                speed=format(speed, ".0f"),
                limit=format(spec.max_speed_kmh, ".0f"),
            )
            return Judgement(
                False,
                None,
                track.stopped_since,
                [Alert("impossible-speed", detail, f"speed@{fix.at.isoformat()}")],
            )
    inside, offset = corridor.locate(fix.lat, fix.lon)
    was_inside = True
    if track.last_lat is not None and track.last_lon is not None:
        was_inside = corridor.locate(track.last_lat, track.last_lon)[0]
    if not inside and was_inside:
        alerts.append(
            Alert(
                "off-corridor",
                Text(
                    "%(km)s km from the centre line of %(corridor)s (half-width %(half)s km)",
                    km=format(offset / 1000, ".1f"),
                    corridor=spec.id,
                    half=format(spec.width_km / 2, ".1f"),
                ),
                f"off@{fix.at.isoformat()}",
            )
        )
    if fix.seal == "open" and track.seal != "open":
        alerts.append(
            Alert(
                "seal-opened",
                Text("the electronic seal reports open"),
                f"seal@{fix.at.isoformat()}",
            )
        )
    stopped_since = None
    if moved is not None and moved < STOP_RADIUS_M:
        stopped_since = track.stopped_since or track.last_at
        assert stopped_since is not None
        minutes = (fix.at - stopped_since).total_seconds() / 60
        key = f"stop@{stopped_since.isoformat()}"
        if minutes > spec.max_stop_minutes and key not in track.alerted:
            alerts.append(
                Alert(
                    "long-stop",
                    Text(
                        "stopped %(minutes)s min (> %(limit)s)",
                        minutes=format(minutes, ".0f"),
                        limit=format(spec.max_stop_minutes, ".0f"),
                    ),
                    key,
                )
            )
    alerts += overdue(track, fix.at)
    return Judgement(True, offset, stopped_since, alerts)


def overdue(track: Track, now: dt.datetime) -> list[Alert]:
    """The overdue alert, once, when the transit is past its due time at the exit checkpoint."""
    if now > track.due_by and "overdue" not in track.alerted:
        return [
            Alert(
                "overdue",
                Text("not at the exit checkpoint by %(due)s", due=track.due_by.isoformat()),
                "overdue",
            )
        ]
    return []
