"""The movements map (issue 21 item 5): Kazakhstan and its neighbours from the vendored Natural Earth
extract, the five China-border crossings, the corridors and the vehicles in transit, drawn by the
vendored Leaflet under the OMC's strict Content-Security-Policy, with nothing fetched from outside."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
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
    # the two crossings without a sourced position are drawn as approximate, and say so
    assert {c for c, v in drawn.items() if v["unconfirmed"]} == {"KZ-KOLZHAT", "KZ-MAIKAPSHAGAI"}
    assert {c["id"] for c in data["corridors"]} == {"china-uzbekistan", "dostyk-uzbekistan"}
    assert data["vehicles"] == []


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
def test_the_map_draws_borders_crossings_corridors_and_a_vehicle_in_transit_live(
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
    expect(the_map.locator(".checkpoint-mark.unconfirmed")).to_have_count(2)
    expect(the_map.locator("path.corridor")).to_have_count(2)
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
