"""The OMC application page shows an application's versions and the permits that no longer
stand (issue 19); an agency's officer sees its own agency's permits only."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

from gateway.storage.models import CaseRow
from tests.lifecycle_documents import amends
from tests.responses import json_of

XML = {"Content-Type": "application/xml"}


def test_versions_and_superseded_permits_on_the_application_page(
    omc_app: Flask, client_as: Callable[[str], FlaskClient], signed_sample: Callable[..., bytes]
) -> None:
    api = omc_app.test_client()
    lodged = json_of(
        api.post("/api/v1/applications", data=signed_sample("fresh-apples-import"), headers=XML)
    )
    store = omc_app.extensions["nsw"].store
    with store.transaction() as s:  # customs and health granted, as their answers would
        for agency, permit in (("customs", "KZ-CUS-1"), ("health", "KZ-SEC-1")):
            case = s.get_one(CaseRow, f"{lodged['id']}-{agency}")
            case.state, case.permit_number = "granted", permit
    edit = amends(lodged["id"], lodged["application_sha256"], 1, quantity="19000")
    amended = api.post(
        f"/api/v1/applications/{lodged['id']}/versions",
        data=signed_sample("fresh-apples-import", edit=edit),
        headers=XML,
    )
    assert amended.status_code == 202, amended.json

    page = client_as("op").get(f"/omc/applications/{lodged['id']}").get_data(as_text=True)
    assert 'id="versions"' in page and "item 1 item.quantity: 19800 -&gt; 19000" in page
    assert 'id="permit-history"' in page
    assert "KZ-CUS-1" in page and "KZ-SEC-1" in page and "superseded" in page

    officer = client_as("cus").get(f"/omc/applications/{lodged['id']}").get_data(as_text=True)
    assert "KZ-CUS-1" in officer and "KZ-SEC-1" not in officer
