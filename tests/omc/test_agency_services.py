"""Issue 21 item 1: the OMC shows the six services of agencies.toml and their officers' roles."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

SERVICES = {
    "customs": "customs officer",
    "transport": "transport control inspector",
    "police": "road police officer",
    "veterinary": "veterinary inspector",
    "phytosanitary": "phytosanitary (plant quarantine) inspector",
    "health": "sanitary-epidemiological inspector",
}


def _rows(page: str) -> dict[str, str]:
    return dict(re.findall(r'<tr data-agency="([a-z]+)">(.*?)</tr>', page, re.S))


def test_the_operator_sees_six_services_each_with_its_officers(
    client_as: Callable[[str], FlaskClient],
) -> None:
    page = client_as("op").get("/omc/agencies").get_data(as_text=True)
    rows = _rows(page)
    assert sorted(rows) == sorted(SERVICES)
    assert "(6 services)" in page
    for code, title in SERVICES.items():
        assert title in rows[code], code
    # The accounts of role agency-officer are listed under their own service only.
    assert 'data-officer="phy"' in rows["phytosanitary"]
    assert 'data-officer="cus"' in rows["customs"]
    assert 'data-officer="trn"' in rows["transport"]
    assert "no account" in rows["police"] and "no account" in rows["veterinary"]
    assert "data-officer" not in rows["health"]


def test_an_officer_added_for_the_road_police_appears_under_it(
    omc_app: Flask, client_as: Callable[[str], FlaskClient]
) -> None:
    omc_app.extensions["nsw-omc-accounts"].add(
        "patrol", "agency-officer", "p" * 12, "police", by="test"
    )
    rows = _rows(client_as("op").get("/omc/agencies/body").get_data(as_text=True))
    assert 'data-officer="patrol"' in rows["police"]
    assert "no account" not in rows["police"]


def test_an_agency_officer_sees_only_its_own_service(
    client_as: Callable[[str], FlaskClient],
) -> None:
    rows = _rows(client_as("phy").get("/omc/agencies").get_data(as_text=True))
    assert list(rows) == ["phytosanitary"]
