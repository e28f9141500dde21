"""Roles are enforced on the server: every OMC page and action, whatever the page shows."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from gateway.omc.roles import Perm
from tests.omc.conftest import csrf

PUBLIC = {
    "omc.login",
    "omc.logout",
    "omc.static",
    "omc.set_language",
}  # the switch: sign-in page too
PAGES = {  # path -> roles that may open it
    "/omc/applications": {"op", "phy", "cus", "aud"},
    "/omc/agencies": {"op", "phy", "cus", "aud", "adm"},
    "/omc/checkpoints": {"op", "phy", "cus", "aud"},
    "/omc/movements": {"op", "phy", "cus", "aud"},
    "/omc/charts": {"op", "phy", "cus", "aud"},
    "/omc/charts/data.json": {"op", "phy", "cus", "aud"},
    "/omc/audit": {"op", "aud"},
    "/omc/admin": {"adm"},
}


def test_every_omc_view_declares_the_permission_it_needs(omc_app: Flask) -> None:
    for rule in omc_app.url_map.iter_rules():
        if rule.endpoint.startswith("omc.") and rule.endpoint not in PUBLIC:
            view = omc_app.view_functions[rule.endpoint]
            assert isinstance(getattr(view, "omc_permission", None), Perm), rule.endpoint


@pytest.mark.parametrize("username", ["op", "phy", "cus", "aud", "adm"])
def test_each_role_opens_only_its_pages(
    client_as: Callable[[str], FlaskClient], username: str
) -> None:
    client = client_as(username)
    for path, allowed in PAGES.items():
        status = client.get(path).status_code
        assert status == (200 if username in allowed else 403), (username, path, status)


def test_nothing_is_served_before_sign_in(omc_app: Flask) -> None:
    client = omc_app.test_client()
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 302 and "/omc/login" in response.headers["Location"]
    token = csrf(client)
    refused = client.post("/omc/actions/retry/any", data={"csrf_token": token, "confirm": "yes"})
    assert refused.status_code == 401


@pytest.mark.parametrize("username", ["aud", "adm"])
def test_read_only_roles_cannot_act(
    escalated: tuple[str, str], client_as: Callable[[str], FlaskClient], username: str
) -> None:
    app_id, case_id = escalated
    client = client_as(username)
    token = csrf(client, "/omc/agencies")
    for path, form in [
        (f"/omc/actions/retry/{case_id}", {}),
        ("/omc/actions/acknowledge/t1/k1", {}),
        ("/omc/actions/inspection/v1/f1", {"result": "cleared", "note": "ok"}),
        ("/omc/actions/clear/v1", {"reason": "x"}),
    ]:
        response = client.post(path, data={"csrf_token": token, "confirm": "yes", **form})
        assert response.status_code == 403, (username, path)
    state = client_as("op").get(f"/omc/applications/{app_id}").get_data(as_text=True)
    assert "escalated" in state


def test_an_agency_officer_cannot_open_or_act_on_another_agencys_case(
    escalated: tuple[str, str], client_as: Callable[[str], FlaskClient]
) -> None:
    app_id, case_id = escalated  # fresh apples: customs, phytosanitary, ...
    assert case_id.endswith("-customs")
    phy = client_as("phy")
    page = phy.get(f"/omc/applications/{app_id}")
    assert page.status_code == 200
    assert f'data-case="{case_id}"' not in page.get_data(as_text=True)  # only its own case
    token = csrf(phy, "/omc/agencies")
    refused = phy.post(
        f"/omc/actions/retry/{case_id}", data={"csrf_token": token, "confirm": "yes"}
    )
    assert refused.status_code == 403
    customs_seq = _message_seq_of(phy.application, case_id)
    assert phy.get(f"/omc/trail/{customs_seq}").status_code == 403


def test_an_agency_officer_cannot_open_an_application_without_its_case(
    omc_app: Flask, signed_sample: Callable[..., bytes]
) -> None:
    from tests.omc.conftest import sign_in

    answer = omc_app.test_client().post(
        "/api/v1/applications",
        data=signed_sample("live-cattle-import"),
        content_type="application/xml",
    )
    app_id = answer.get_json()["id"]  # customs, transport, police, veterinary: no health case
    omc_app.extensions["nsw-omc-accounts"].add(
        "sanepid", "agency-officer", "p" * 12, "health", by="t"
    )
    officer = omc_app.test_client()
    assert sign_in(officer, "sanepid", "p" * 12).status_code == 302
    assert officer.get(f"/omc/applications/{app_id}").status_code == 403
    assert app_id not in officer.get("/omc/applications").get_data(as_text=True)


def _message_seq_of(app: Flask, case_id: str) -> int:
    from sqlalchemy import select

    from gateway.storage.models import MessageRow

    app.extensions["nsw"].auditor.integrate()  # its place in the log, as the integrator gives it
    store = app.extensions["nsw"].store
    with store.transaction() as s:
        return int(s.scalars(select(MessageRow.seq).where(MessageRow.case_id == case_id)).first())
