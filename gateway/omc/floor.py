"""Read models for the checkpoints and movements pages: vehicles at each lane and stage, how long
each has waited and for what, and the last vehicles through each exit (how, and cleared by whom);
transits on a schematic map projected from the registry's coordinates and the corridors' waypoints
(drawn as SVG by the template; no tiles from outside), with their alerts, open and acknowledged."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

from gateway.bootstrap import Services
from gateway.checkpoint.registry import STAGES
from gateway.clock import iso
from gateway.omc.ports import VisitRecord
from gateway.omc.roles import Officer

MAP_W, MAP_H, MARGIN = 1000.0, 520.0, 40.0
RECENT_EXITS = 8  # per checkpoint


def checkpoint_floor(svc: Services, who: Officer) -> list[dict[str, Any]]:
    now = svc.clock()
    snapshot = svc.omc.floor.floor(svc.checkpoint.registry.checkpoints, RECENT_EXITS)
    rows = [_visit(v, now, snapshot.open_cases, snapshot.verdicts, who) for v in snapshot.visits]
    exits = snapshot.exits
    floor = []
    for code, cp in sorted(svc.checkpoint.registry.checkpoints.items()):
        lanes = [*cp.lanes, cp.manual_lane]
        floor.append(
            {
                "code": code,
                "name": cp.name,
                "stages": STAGES,
                "lanes": [
                    {
                        "lane": lane,
                        "vehicles": [
                            r for r in rows if r["checkpoint"] == code and r["lane"] == lane
                        ],
                    }
                    for lane in lanes
                ],
                "exited": exits[code],
            }
        )
    return floor


def _visit(v: VisitRecord, now: dt.datetime, open_cases: Mapping[str, tuple[str, ...]],
           verdicts: Mapping[str, str | None], who: Officer) -> dict[str, Any]:  # fmt: skip
    reached = [st for st in STAGES if st in v.stages]
    waiting = [f"{a}: {c}" for a in v.applications for c in open_cases.get(a, ())]
    findings = [f for f in v.findings if f.get("status") == "open"]
    return {
        "id": v.id,
        "checkpoint": v.checkpoint,
        "lane": v.lane,
        "plate": v.plate,
        "state": v.state,
        "reason": v.reason,
        "stage": reached[-1] if reached else "arriving",
        "waited_min": round(((now - (v.arrived_at or now)).total_seconds()) / 60, 1),
        "applications": [{"id": a, "verdict": verdicts.get(a)} for a in v.applications],
        "waiting_for": waiting,
        "findings": [
            dict(f) | {"mine": who.sees_agency(str(f.get("agency", "")))} for f in findings
        ],
    }


class Projection:
    """Equirectangular projection scaled to the SVG box: enough for a schematic, not a survey."""

    def __init__(self, points: list[tuple[float, float]]) -> None:
        lats = [p[0] for p in points] or [0.0]
        lons = [p[1] for p in points] or [0.0]
        self.k = math.cos(math.radians((min(lats) + max(lats)) / 2))
        self.lat_max, self.lon_min = max(lats), min(lons)
        width = max((max(lons) - self.lon_min) * self.k, 1e-6)
        height = max(self.lat_max - min(lats), 1e-6)
        self.scale = min((MAP_W - 2 * MARGIN) / width, (MAP_H - 2 * MARGIN) / height)

    def xy(self, lat: float, lon: float) -> tuple[float, float]:
        x = MARGIN + (lon - self.lon_min) * self.k * self.scale
        y = MARGIN + (self.lat_max - lat) * self.scale
        return round(x, 1), round(y, 1)


def movements(svc: Services) -> dict[str, Any]:
    registry = svc.checkpoint.registry.checkpoints
    corridors = svc.checkpoint.transits.corridors
    # A checkpoint with no sourced position (lat/lon left out of the mapping) is not drawn.
    placed = {
        code: (c.lat, c.lon)
        for code, c in registry.items()
        if c.lat is not None and c.lon is not None
    }
    points = list(placed.values())
    points += [p for c in corridors.values() for p in c.spec.waypoints]
    proj = Projection(points)
    vehicles = [
        {
            "id": t.id,
            "plate": t.plate,
            "corridor": t.corridor,
            "state": t.state,
            "seal": t.seal,
            "due_by": _iso(t.due_by),
            "xy": proj.xy(t.last_lat, t.last_lon)
            if t.last_lat is not None and t.last_lon is not None
            else None,
            "alerts": [dict(a) for a in t.alerts],
        }
        for t in svc.omc.floor.transits(200)
    ]
    return {
        "width": MAP_W,
        "height": MAP_H,
        "checkpoints": [
            {"code": code, "name": registry[code].name, "xy": proj.xy(*position)}
            for code, position in sorted(placed.items())
        ],
        "corridors": [
            {
                "id": cid,
                "name": c.spec.name,
                "points": " ".join(
                    f"{x},{y}" for x, y in (proj.xy(a, b) for a, b in c.spec.waypoints)
                ),
            }
            for cid, c in sorted(corridors.items())
        ],
        "vehicles": vehicles,
        "alerts": _alerts(vehicles),
    }


def _alerts(vehicles: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every transit alert: open ones first, then those acknowledged (by whom, when); newest first
    within each."""
    alerts = [
        a | {"transit": v["id"], "plate": v["plate"], "at": _iso(_parse(a.get("at")))}
        for v in vehicles
        for a in v["alerts"]
    ]
    alerts.sort(key=lambda a: str(a.get("at", "")), reverse=True)
    alerts.sort(key=lambda a: bool(a.get("acknowledged_by")))  # stable: keeps newest first
    return alerts


def _parse(text: object) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(str(text))
    except ValueError:
        return None


def _iso(moment: dt.datetime | None) -> str | None:
    return iso(moment) if moment else None
