"""OMC fixtures: an app with a session key, accounts of every role, and signed-in test clients;
`omc_floor`, the gateway serving the OMC on 127.0.0.1 with stand-in agencies and a checkpoint."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from gateway.app import create_app
from gateway.bootstrap import build_services
from gateway.cli.client import GatewayClient
from gateway.pki.dev import DevPki
from tests.gateway_fixtures import gateway_config
from tests.omc.trucks import OmcFloor
from tests.serving import serving

SECRET = "test-omc-session-key-0123456789abcdef"
PASSWORD = "correct horse battery staple"
METRICS_TOKEN = "scraper-token-for-tests"
OPERATOR_TOKEN = "operator-token-for-tests"  # the checkpoint and operations APIs, not /metrics
OMC = {
    "secret_key": SECRET,
    "session_cookie_secure": False,
    "metrics_tokens": (METRICS_TOKEN,),
    "operator_tokens": (OPERATOR_TOKEN,),
}
ACCOUNTS = {
    "op": ("operator", None),
    "phy": ("agency-officer", "phytosanitary"),
    "cus": ("agency-officer", "customs"),
    "aud": ("auditor", None),
    "adm": ("admin", None),
    "trn": ("agency-officer", "transport"),
}
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def add_accounts(app: Flask) -> None:
    accounts = app.extensions["nsw-omc-accounts"]
    for name, (role, agency) in ACCOUNTS.items():
        accounts.add(name, role, PASSWORD, agency, by="test")


def csrf(client: FlaskClient, path: str = "/omc/login") -> str:
    found = TOKEN.search(client.get(path).get_data(as_text=True))
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def sign_in(client: FlaskClient, username: str, password: str = PASSWORD) -> Any:
    return client.post(
        "/omc/login",
        data={"username": username, "password": password, "csrf_token": csrf(client)},
    )


@pytest.fixture
def omc_app(app_factory: Callable[..., Flask]) -> Flask:
    app = app_factory(**OMC)
    add_accounts(app)
    return app


@pytest.fixture
def client_as(omc_app: Flask) -> Callable[[str], FlaskClient]:
    """client_as(username): a test client signed in as one of ACCOUNTS."""

    def make(username: str) -> FlaskClient:
        client = omc_app.test_client()
        response = sign_in(client, username)
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return make


@pytest.fixture
def escalated(omc_app: Flask, signed_sample: Callable[..., bytes]) -> tuple[str, str]:
    """An application (fresh apples) whose cases are all escalated, with the failed customs request
    in the trail: (application id, customs case id)."""
    from gateway.storage.repository import Message

    answer = omc_app.test_client().post(
        "/api/v1/applications",
        data=signed_sample("fresh-apples-import"),
        content_type="application/xml",
    )
    assert answer.status_code == 202, answer.get_data(as_text=True)
    app_id = answer.get_json()["id"]
    store = omc_app.extensions["nsw"].store
    case_id = f"{app_id}-customs"
    with store.transaction() as s:
        store._add_message(
            s, app_id,
            Message("agency-request", "out", "agency:customs", "application/xml", b"<r/>", case_id=case_id),
        )  # fmt: skip
    assert case_id in store.escalate_overdue(-1)
    return app_id, case_id


@pytest.fixture
def omc_floor(pki: DevPki, database_url: str, agencies: dict[str, str]) -> Iterator[OmcFloor]:
    """The gateway with the OMC, dispatcher threads and the stand-in agencies on a real socket,
    its clock movable (the checkpoint's devices date their readings by it), accounts as ACCOUNTS."""
    from tests.checkpoint.conftest import Checkpoint, MovableClock

    clock = MovableClock()
    config = gateway_config(pki, database_url, agencies, poll_interval_s=0.05, **OMC)
    services = build_services(config, clock)
    app = create_app(config, services)
    add_accounts(app)
    with serving(app) as url:
        yield OmcFloor(Checkpoint(url, services, pki, clock, GatewayClient(url)), app)
    services.close()
