"""Transit monitoring: corridor geometry, the rules for fixes, and a monitored transit end to end."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from gateway.checkpoint.errors import PositionRefused
from gateway.checkpoint.events import Position
from gateway.checkpoint.transit import Corridor, Track, judge, load_corridors
from gateway.resources import shipped
from tests.checkpoint.conftest import Checkpoint, fresh_plate

T0 = dt.datetime(2026, 11, 27, 6, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def corridor() -> Corridor:
    return load_corridors(shipped("mappings") / "corridors")["china-uzbekistan"]


def _track(**changes: Any) -> Track:
    base: dict[str, Any] = dict(last_lat=None, last_lon=None, last_at=None, stopped_since=None, seal="closed",
                due_by=T0 + dt.timedelta(hours=48))  # fmt: skip
    return Track(**(base | changes))


def _fix(lat: float, lon: float, minutes: float, seal: str = "closed") -> Position:
    return Position("gnss-00000001", "512KTC08", T0 + dt.timedelta(minutes=minutes), lat, lon, seal)


def test_almaty_is_inside_and_bishkek_direction_offsets_are_measured(corridor: Corridor) -> None:
    inside, offset = corridor.locate(43.25, 76.95)  # Almaty, a waypoint
    assert inside and offset < 1
    # 0.5 degree of latitude (~55 km) north of the Almaty-Kordai leg: outside a 40 km corridor.
    inside, offset = corridor.locate(43.70, 75.80)
    assert not inside and 40_000 < offset < 70_000


def test_leaving_the_corridor_raises_one_alert(corridor: Corridor) -> None:
    lat, lon = corridor.point_at(0.30)
    out_lat, out_lon = corridor.point_at(0.31, offset_km=60)
    track = _track(last_lat=lat, last_lon=lon, last_at=T0)
    judged = judge(corridor, track, _fix(out_lat, out_lon, 60), T0 + dt.timedelta(hours=2))
    assert judged.accepted and [a.kind for a in judged.alerts] == ["off-corridor"]
    # Still outside on the next fix: no second alert for the same excursion.
    again = _track(last_lat=out_lat, last_lon=out_lon, last_at=T0 + dt.timedelta(minutes=60))
    assert (
        judge(corridor, again, _fix(out_lat, out_lon + 0.05, 90), T0 + dt.timedelta(hours=2)).alerts
        == []
    )


def test_seal_opening_long_stop_and_overdue(corridor: Corridor) -> None:
    lat, lon = corridor.point_at(0.5)
    opened = judge(corridor, _track(last_lat=lat, last_lon=lon, last_at=T0), _fix(lat, lon, 5, "open"),
                   T0 + dt.timedelta(hours=1))  # fmt: skip
    assert [a.kind for a in opened.alerts] == ["seal-opened"]
    stopped = _track(last_lat=lat, last_lon=lon, last_at=T0 + dt.timedelta(minutes=200),
                     stopped_since=T0)  # fmt: skip
    long_stop = judge(corridor, stopped, _fix(lat, lon, 250), T0 + dt.timedelta(hours=5))
    assert [a.kind for a in long_stop.alerts] == ["long-stop"]
    late = _track(last_lat=lat, last_lon=lon, last_at=T0, due_by=T0 + dt.timedelta(minutes=10))
    lat2, lon2 = corridor.point_at(0.52)
    assert "overdue" in [
        a.kind
        for a in judge(corridor, late, _fix(lat2, lon2, 30), T0 + dt.timedelta(hours=1)).alerts
    ]


def test_fixes_from_the_future_out_of_order_or_impossibly_fast(corridor: Corridor) -> None:
    lat, lon = corridor.point_at(0.1)
    with pytest.raises(PositionRefused, match="after the gateway's time"):
        judge(corridor, _track(), _fix(lat, lon, 60), T0)
    with pytest.raises(PositionRefused, match="not after the last accepted fix"):
        judge(corridor, _track(last_lat=lat, last_lon=lon, last_at=T0 + dt.timedelta(minutes=5)),
              _fix(lat, lon, 5), T0 + dt.timedelta(hours=1))  # fmt: skip
    far_lat, far_lon = corridor.point_at(0.9)  # ~900 km in ten minutes
    judged = judge(corridor, _track(last_lat=lat, last_lon=lon, last_at=T0), _fix(far_lat, far_lon, 10),
                   T0 + dt.timedelta(hours=1))  # fmt: skip
    assert not judged.accepted and [a.kind for a in judged.alerts] == ["impossible-speed"]


def test_a_monitored_transit_from_nur_zholy_to_zhibek_zholy(
    checkpoint: Checkpoint, corridor: Corridor
) -> None:
    cp = checkpoint
    application_id = cp.lodge("fresh-apples-import", fresh_plate("512KTC08"))
    cp.pay(application_id)
    notice = cp.notice("512KTC08", [application_id], transit=("china-uzbekistan", "KZ-ZHIBEKZHOLY"))
    assert notice.status_code == 202, notice.text
    for stage in ("entry", "radiation", "parameters", "scan", "documents", "exit"):
        cp.clock.advance(minutes=2)
        answer = cp.stage(stage, "512KTC08").json()
    assert answer["status"] == "open-barrier"
    tracker = cp.device("device-gnss-tracker")
    transit_id = cp.services.checkpoint.transits.open_transit_for("512KTC08")
    assert transit_id is not None
    # Along the corridor: accepted, no alert.
    for fraction in (0.02, 0.05, 0.08):
        cp.clock.advance(minutes=20)
        lat, lon = corridor.point_at(fraction)
        result = tracker.position("512KTC08", lat, lon).json()
        assert result["accepted"] and result["alerts"] == []
    # A deviation, then the seal opens: one alert each, to the OMC, in the trail.
    cp.clock.advance(minutes=60)
    lat, lon = corridor.point_at(0.10, offset_km=45)
    assert [a["kind"] for a in tracker.position("512KTC08", lat, lon).json()["alerts"]] == [
        "off-corridor"
    ]
    cp.clock.advance(minutes=60)
    lat, lon = corridor.point_at(0.12)
    assert [
        a["kind"] for a in tracker.position("512KTC08", lat, lon, seal="open").json()["alerts"]
    ] == ["seal-opened"]
    # A fix from the future is refused and changes nothing.
    before = cp.trail_size()
    future = tracker.position("512KTC08", lat, lon, at=cp.clock() + dt.timedelta(hours=3))
    assert future.status_code == 422 and "tracker's clock" in future.json()["detail"]
    assert cp.trail_size() == before
    # The overdue sweep, with the clock moved past the corridor's allowance.
    cp.clock.advance(hours=49)
    swept = cp.officer("POST", "/transits/sweep").json()["alerts"]
    assert [a["kind"] for a in swept] == ["overdue"]
    assert cp.officer("POST", "/transits/sweep").json()["alerts"] == []
    # Reaching the exit checkpoint closes the transit.
    cp.device("device-zhibekzholy-anpr").event("entry", "512KTC08", checkpoint="KZ-ZHIBEKZHOLY")
    transit = cp.officer("GET", f"/transits/{transit_id}").json()
    assert transit["state"] == "closed" and len(transit["track"]) == 5
    assert [a["kind"] for a in transit["alerts"]] == ["off-corridor", "seal-opened", "overdue"]
    kinds = [m.kind for m in cp.services.store.messages(application_id)]
    assert kinds.count("transit-alert") == 3 and "transit-closed" in kinds
    assert tracker.position("512KTC08", lat, lon).status_code == 404


def test_every_gateway_of_a_process_shares_one_built_corridor() -> None:
    # A corridor's projections are built once per process (transit.corridor_of): a second gateway
    # reads the same files and gets the same immutable objects, not another ~5 ms of pyproj setup.
    first = load_corridors(shipped("mappings") / "corridors")
    second = load_corridors(shipped("mappings") / "corridors")
    assert first and all(second[name] is corridor for name, corridor in first.items())
