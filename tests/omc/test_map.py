"""The movements map (issue 21 item 5): Kazakhstan and its neighbours from the vendored Natural Earth
extract, the main international routes, the five China-border crossings, the corridors and the
vehicles in transit, drawn by the vendored Leaflet under the OMC's strict Content-Security-Policy,
with nothing fetched from outside."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from gateway.checkpoint.registry import load_registry
from gateway.errors import ConfigurationError
from gateway.pki.dev import DevPki
from gateway.resources import shipped
from tests.browser import ARGS, CHROMIUM
from tests.omc.conftest import PASSWORD
from tests.omc.trucks import OmcFloor, in_transit_with_alert
from tests.paths import REPO_ROOT

STATIC = REPO_ROOT / "gateway/omc/static"
CHINA_CROSSINGS = ["KZ-BAKHTY", "KZ-DOSTYK", "KZ-KOLZHAT", "KZ-MAIKAPSHAGAI", "KZ-NURZHOLY"]


def _map_data(html: str) -> dict[str, Any]:
    found = re.search(r"<div id=\"map-data\" hidden data-map='([^']*)'>", html)
    assert found, "the movements page carries no map data"
    return dict(json.loads(found.group(1)))


def test_the_vendored_leaflet_is_the_published_one() -> None:
    table = (STATIC / "vendor/leaflet/README.md").read_text(encoding="utf-8")
    listed = dict(re.findall(r"^\| `([^`]+)` \| `([0-9a-f]{64})` \|$", table, re.M))
    assert {"leaflet.js", "leaflet.css", "images/layers.png"} <= set(listed)
    for name, digest in listed.items():
        data = (STATIC / "vendor/leaflet" / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest, f"{name} differs from leaflet 1.9.4"
    assert "eval(" not in (STATIC / "vendor/leaflet/leaflet.js").read_text(encoding="utf-8")


def test_the_base_map_is_a_small_natural_earth_extract_of_kazakhstan_and_its_neighbours() -> None:
    path = STATIC / "map/kz-region.geojson"
    assert path.stat().st_size < 1_000_000
    geo = json.loads(path.read_text(encoding="utf-8"))
    assert geo["type"] == "FeatureCollection" and "Natural Earth" in geo["source"]
    kinds = {f["id"]: f["properties"]["kind"] for f in geo["features"]}
    neighbours = {"China", "Russia", "Kyrgyzstan", "Uzbekistan", "Turkmenistan"}
    assert {n: "country" for n in {"Kazakhstan", *neighbours}}.items() <= kinds.items()
    assert kinds["Kazakhstan border"] == kinds["borders"] == "border"
    west, south, east, north = geo["bbox"]
    for feature in geo["features"]:
        assert feature["geometry"]["type"] in ("Polygon", "MultiPolygon", "MultiLineString")
        flat = json.dumps(feature["geometry"]["coordinates"], separators=(",", ":"))
        points = [(float(x), float(y)) for x, y in re.findall(r"\[(-?[\d.]+),(-?[\d.]+)\]", flat)]
        assert points, feature["id"]
        assert all(west <= x <= east and south <= y <= north for x, y in points), feature["id"]


def test_the_movements_page_carries_the_five_china_crossings_and_the_corridors(
    client_as: Callable[[str], FlaskClient],
) -> None:
    data = _map_data(client_as("op").get("/omc/movements").get_data(as_text=True))
    drawn = {c["code"]: c for c in data["checkpoints"]}
    assert set(CHINA_CROSSINGS) <= set(drawn)
    assert data["unplaced"] == []
    # the crossing without a sourced position is drawn as approximate, and says so
    assert {c for c, v in drawn.items() if v["unconfirmed"]} == {"KZ-KOLZHAT"}
    assert {c["id"] for c in data["corridors"]} == {"china-uzbekistan", "dostyk-uzbekistan"}
    assert data["vehicles"] == []


def test_the_main_routes_are_straight_lines_between_sourced_towns_written_by_the_tool(
    tmp_path: Path,
) -> None:
    """No roads data set is reachable: the routes layer is tools/map_routes.py's table, each point
    a town with the source of its coordinates, each line a route number with its source."""
    vendored = STATIC / "map/main-routes.geojson"
    fresh = tmp_path / "main-routes.geojson"
    subprocess.run(
        [sys.executable, str(REPO_ROOT / "tools/map_routes.py"), "-o", str(fresh)],
        check=True,
        capture_output=True,
    )
    assert fresh.read_bytes() == vendored.read_bytes(), "rerun tools/map_routes.py"
    geo = json.loads(vendored.read_text(encoding="utf-8"))
    towns = {(t["lon"], t["lat"]): name for name, t in geo["towns"].items() if t["source"]}
    assert len(towns) == len(geo["towns"]), "a town without a source, or two at one point"
    routes = {f["id"]: f for f in geo["features"]}
    assert set(routes) == {"AH5", "AH61", "AH68", "E127"}
    for rid, route in routes.items():
        props = route["properties"]
        assert props["kind"] == "route" and props["ref"] and props["name"] and props["source"], rid
        assert route["geometry"]["type"] == "LineString"
        points = [tuple(p) for p in route["geometry"]["coordinates"]]
        assert len(points) >= 2 and all(p in towns for p in points), rid
        assert [towns[p] for p in points] == props["towns"], rid


def test_a_route_through_a_crossing_starts_or_ends_where_the_crossing_is_drawn(
    pki: DevPki,
) -> None:
    registry = load_registry(shipped("mappings") / "checkpoints.toml", pki.directory).checkpoints
    geo = json.loads((STATIC / "map/main-routes.geojson").read_text(encoding="utf-8"))
    ends = {
        f["id"]: {tuple(f["geometry"]["coordinates"][0]), tuple(f["geometry"]["coordinates"][-1])}
        for f in geo["features"]
    }
    for route, code in [
        ("AH5", "KZ-NURZHOLY"),
        ("AH5", "KZ-ZHIBEKZHOLY"),
        ("AH68", "KZ-DOSTYK"),
        ("E127", "KZ-MAIKAPSHAGAI"),
    ]:
        crossing = registry[code]
        assert (crossing.lon, crossing.lat) in ends[route], (route, code)


def test_a_crossing_position_is_either_sourced_or_unconfirmed(pki: DevPki, tmp_path: Path) -> None:
    text = (shipped("mappings") / "checkpoints.toml").read_text(encoding="utf-8")
    bad = tmp_path / "checkpoints.toml"
    text = re.sub(r'^position = "unconfirmed"', 'position = "guessed"', text, count=1, flags=re.M)
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigurationError, match="position must be sourced or unconfirmed"):
        load_registry(bad, pki.directory)


@pytest.fixture
def operator_page(omc_floor: OmcFloor) -> Iterator[Any]:
    """Debian's Chromium (never a downloaded browser), signed in to the OMC as the operator."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_context(base_url=omc_floor.url).new_page()
        page.set_default_timeout(30_000)
        page.goto("/omc/login")
        page.fill("input[name=username]", "op")
        page.fill("input[name=password]", PASSWORD)
        page.click("section.login button[type=submit]")  # the header has the language switch
        page.wait_for_url(re.compile(r"/omc/$"))
        yield page
        browser.close()


@pytest.mark.slow
@pytest.mark.skipif(not shutil.which(CHROMIUM), reason="Debian's chromium is not installed")
def test_the_map_draws_borders_routes_crossings_corridors_and_a_vehicle_in_transit_live(
    omc_floor: OmcFloor, operator_page: Any
) -> None:
    from playwright.sync_api import expect

    page = operator_page
    origin = omc_floor.url
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(origin) else outside.append(r.url))
    violations: list[str] = []
    page.on(
        "console", lambda m: violations.append(m.text) if "Content Security" in m.text else None
    )
    page.goto("/omc/movements")
    expect(page.locator("#live.on")).to_be_visible()

    the_map = page.locator("#map")
    expect(the_map).to_have_class(re.compile(r"\bbase-drawn\b"))
    expect(the_map.locator('path.country.kz[data-feature="Kazakhstan"]')).to_have_count(1)
    expect(the_map.locator('path.country[data-feature="China"]')).to_have_count(1)
    expect(the_map.locator('path.border.kz[data-feature="Kazakhstan border"]')).to_be_visible()
    assert the_map.locator("path.country").count() >= 10
    for code in CHINA_CROSSINGS:
        expect(the_map.locator(f'.checkpoint-mark[data-checkpoint="{code}"]')).to_be_visible()
    expect(the_map.locator(".checkpoint-mark.unconfirmed")).to_have_count(1)
    expect(the_map.locator("path.corridor")).to_have_count(2)
    # the main international routes, under the corridors, each with its number in its tooltip
    expect(the_map).to_have_class(re.compile(r"\broutes-drawn\b"))
    expect(the_map.locator("path.route")).to_have_count(4)
    ah5 = the_map.locator('path.route[data-route="AH5"]')
    expect(ah5).to_be_visible()
    routes_pane = the_map.locator(".leaflet-routes-pane")
    overlay_pane = the_map.locator(".leaflet-overlay-pane")
    below = routes_pane.evaluate("e => Number(getComputedStyle(e).zIndex)")
    above = overlay_pane.evaluate("e => Number(getComputedStyle(e).zIndex)")
    assert below < above, "the routes are drawn over the corridors"
    # a route's tooltip names it: the middle of AH61 (Western Europe - Western China), where no
    # corridor lies over it
    middle = the_map.locator('path.route[data-route="AH61"]').evaluate(
        """p => { const at = p.getPointAtLength(p.getTotalLength() / 2);
                  const on = at.matrixTransform(p.getScreenCTM()); return [on.x, on.y]; }"""
    )
    page.mouse.move(middle[0], middle[1])
    expect(page.locator(".leaflet-tooltip")).to_contain_text("AH61 · Western Europe")
    expect(the_map.locator(".vehicle-mark")).to_have_count(0)

    _, transit, _ = in_transit_with_alert(omc_floor)  # after the page opened: drawn live
    vehicle = the_map.locator(f'.vehicle-mark.alerting[data-transit="{transit}"]')
    expect(vehicle).to_be_visible()
    expect(vehicle).to_contain_text("512KTC08")
    # the vehicle is drawn where it is: on the corridor's first leg, near Nur Zholy
    nurzholy = the_map.locator('.checkpoint-mark[data-checkpoint="KZ-NURZHOLY"]').bounding_box()
    almaty_way = vehicle.bounding_box()
    assert nurzholy and almaty_way and abs(nurzholy["y"] - almaty_way["y"]) < 60

    assert outside == [], f"the map fetched from outside the gateway: {outside}"
    assert violations == [], violations
