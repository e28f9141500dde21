"""The traffic `nsw omc screenshots` makes before taking its pictures: vehicles on the checkpoint's
lanes and one in transit with alerts, driven by the checkpoint simulator (a real process)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from devtools.screenshot_traffic import IN_TRANSIT, put_vehicles_on_the_floor
from gateway.pki.dev import DevPki
from tests.gateway_fixtures import RunningGateway
from tests.omc.conftest import OMC, add_accounts, sign_in

pytestmark = pytest.mark.slow


def test_the_screenshots_show_vehicles_at_the_lanes_and_in_transit(
    gateway: Callable[..., RunningGateway], pki: DevPki, tmp_path: Path
) -> None:
    gw = gateway(**OMC)
    add_accounts(gw.app)
    put_vehicles_on_the_floor(gw.url, pki, gw.services, tmp_path)
    operator = gw.app.test_client()
    assert sign_in(operator, "op").status_code == 302

    floor = operator.get("/omc/checkpoints").get_data(as_text=True)
    waiting = re.findall(
        r'<div class="vehicle (\w+)" data-visit="[^"]+">\s*<strong>(\w+)</strong>', floor
    )
    assert sorted(waiting) == [
        ("directed", "512KTC08"),
        ("directed", "777XYZ01"),
        ("manual", "999ZZZ01"),
    ]
    exited = re.findall(r'<tr data-exited="[^"]+"><td>(\w+)</td>', floor)
    assert sorted(exited) == ["123ABC02", IN_TRANSIT]

    movements = operator.get("/omc/movements").get_data(as_text=True)
    drawn = re.search(r"<div id=\"map-data\" hidden data-map='([^']*)'>", movements)
    assert drawn, "the movements page carries no map data"
    (vehicle,) = json.loads(drawn.group(1))["vehicles"]  # the map's vehicle marker, with its alert
    assert vehicle["plate"] == IN_TRANSIT and vehicle["open_alerts"] == 1
    alerts = re.findall(
        r'<tr data-alert="[^"]+" class="(\w+)"><td>(\w+)</td>\s*<td><span class="pill \w+">([\w-]+)<',
        movements,
    )
    assert sorted(alerts) == [
        ("acknowledged", IN_TRANSIT, "off-corridor"), ("open", IN_TRANSIT, "seal-opened"),
    ]  # fmt: skip
