"""Read models for the checkpoints and movements pages: vehicles at each lane and stage, how long
each has waited and for what, and the last vehicles through each exit (how, and cleared by whom);
transits with their alerts, open and acknowledged, and what the movements map draws over its
Natural Earth base layer (crossings, corridors, vehicles; drawn by Leaflet, no tiles from outside)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from gateway.checkpoint.registry import STAGES, Checkpoint
from gateway.checkpoint.transit import Corridor
from gateway.clock import iso
from gateway.omc.ports import VisitRecord
from gateway.omc.roles import Officer

if TYPE_CHECKING:
    from gateway.bootstrap import Services

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


def movements(svc: Services) -> dict[str, Any]:
    """The movements page: transits (newest first) with their alerts, and `map`, what the OMC's
    map draws over its base layer: every crossing with a position, the corridors, and each open
    transit at its last reported position (flagged when it has an open alert)."""
    registry = svc.checkpoint.registry.checkpoints
    corridors = svc.checkpoint.transits.corridors
    vehicles = [
        {
            "id": t.id,
            "plate": t.plate,
            "corridor": t.corridor,
            "state": t.state,
            "seal": t.seal,
            "due_by": _iso(t.due_by),
            "position": None
            if t.last_lat is None or t.last_lon is None
            else [t.last_lat, t.last_lon],
            "alerts": [dict(a) for a in t.alerts],
        }
        for t in svc.omc.floor.transits(200)
    ]
    return {"vehicles": vehicles, "alerts": _alerts(vehicles),
            "map": _map(registry, corridors, vehicles)}  # fmt: skip


def _map(registry: Mapping[str, Checkpoint], corridors: Mapping[str, Corridor],
         vehicles: list[dict[str, Any]]) -> dict[str, Any]:  # fmt: skip
    # A crossing with no position at all (lat/lon left out of the mapping) is listed, not drawn.
    placed = {code: c for code, c in registry.items() if c.lat is not None and c.lon is not None}
    return {
        "checkpoints": [_crossing(code, c) for code, c in sorted(placed.items())],
        "unplaced": sorted(set(registry) - set(placed)),
        "corridors": [
            {"id": cid, "name": c.spec.name, "points": [list(p) for p in c.spec.waypoints]}
            for cid, c in sorted(corridors.items())
        ],
        "vehicles": [_vehicle(v) for v in vehicles if v["position"] and v["state"] == "open"],
    }


def _crossing(code: str, c: Checkpoint) -> dict[str, Any]:
    return {
        "code": code,
        "name": c.name,
        "lat": c.lat,
        "lon": c.lon,
        "unconfirmed": c.position_unconfirmed,
    }


def _vehicle(v: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": v["id"],
        "plate": v["plate"],
        "corridor": v["corridor"],
        "seal": v["seal"],
        "lat": v["position"][0],
        "lon": v["position"][1],
        "open_alerts": sum(1 for a in v["alerts"] if not a.get("acknowledged_by")),
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
