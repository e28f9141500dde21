"""Vehicles for the OMC's checkpoint and movements views, sent through the gateway's real device API
(readings signed by the devices' certificates, RFC 9421): a truck held at the weighbridge, one
without an advance notice in the manual lane, and one in transit whose e-seal opened."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from gateway.checkpoint.registry import STAGES
from tests.checkpoint.conftest import Checkpoint, fresh_plate

CORRIDOR = "china-uzbekistan"
HEAVY: dict[str, Any] = {  # 44.9 t declared as 36.2 t: over the declared mass and the legal limit
    "gross_mass_kg": 44900, "axle_loads_kg": [7000, 9400, 9400, 9500, 9600],
    "length_m": 16.4, "width_m": 2.55, "height_m": 3.9,
}  # fmt: skip


@dataclass
class OmcFloor:
    """The gateway serving the OMC (`app`) and its checkpoint (`cp`: lodge, notify, drive)."""

    cp: Checkpoint
    app: Flask

    @property
    def url(self) -> str:
        return self.cp.url

    def client_as(self, username: str) -> FlaskClient:
        from tests.omc.conftest import sign_in

        client = self.app.test_client()
        response = sign_in(client, username)
        assert response.status_code == 302, response.get_data(as_text=True)
        return client


def held_at_weighbridge(floor: OmcFloor, plate: str = "123ABC02") -> tuple[str, str]:
    """A released application whose truck weighs far more than declared: its transport case is
    set to inspection with two open findings (F1, F2). Returns (application id, visit id)."""
    cp = floor.cp
    application_id = cp.lodge("fresh-apples-import", fresh_plate(plate))
    assert cp.wait_decided(application_id)["verdict"] == "granted"  # customs charges are owed
    cp.pay(application_id)
    assert cp.notice(plate, [application_id]).status_code == 202
    visit = ""
    for stage in STAGES[:-1]:
        cp.clock.advance(minutes=2)
        answer = cp.stage(stage, plate, readings=HEAVY if stage == "parameters" else None)
        assert answer.status_code == 201, answer.text
        visit = answer.json()["visit"]
    assert cp.status(application_id)["verdict"] == "inspection"
    return application_id, visit


def without_notice(floor: OmcFloor, plate: str = "999ZZZ01") -> str:
    """A truck no notice announced: registered and sent to the manual lane. Returns the visit id."""
    entry = floor.cp.stage("entry", plate)
    assert entry.status_code == 201 and entry.json()["status"] == "manual", entry.text
    return str(entry.json()["visit"])


def in_transit_with_alert(floor: OmcFloor, plate: str = "512KTC08") -> tuple[str, str, str]:
    """A truck that left Nur Zholy in monitored transit; its first fix reports the e-seal open.
    Returns (application id, transit id, alert key)."""
    cp = floor.cp
    application_id = cp.lodge("fresh-apples-import", fresh_plate(plate))
    cp.pay(application_id)
    notice = cp.notice(plate, [application_id], transit=(CORRIDOR, "KZ-ZHIBEKZHOLY"))
    assert notice.status_code == 202, notice.text
    for stage in STAGES:
        cp.clock.advance(minutes=2)
        answer = cp.stage(stage, plate)
        assert answer.status_code == 201, answer.text
    assert answer.json()["status"] == "open-barrier"
    transit = cp.services.checkpoint.transits.open_transit_for(plate)
    assert transit is not None
    cp.clock.advance(minutes=20)
    lat, lon = cp.services.checkpoint.transits.corridors[CORRIDOR].point_at(0.02)
    fix = cp.device("device-gnss-tracker").position(plate, lat, lon, seal="open")
    assert fix.status_code == 201, fix.text
    alerts = fix.json()["alerts"]
    assert [a["kind"] for a in alerts] == ["seal-opened"]
    return application_id, transit, str(alerts[0]["key"])
