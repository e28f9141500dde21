"""Every value from outside is checked at the edge (issue 15, item 2): an over-long string or an
out-of-range integer in a path, query, form or signature parameter is a 4xx problem document, on
SQLite and PostgreSQL alike, never a 500 from the database."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from gateway.pki.dev import DevPki
from tests.omc.conftest import OMC, OPERATOR_TOKEN, add_accounts, sign_in
from tests.responses import json_of
from tests.trader_requests import identity, signature_headers

XML = {"Content-Type": "application/xml"}
BEARER = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
HUGE = str(2**64)  # past BIGINT
LONG = "x" * 10_000


@pytest.fixture
def app(app_factory: Callable[..., Flask]) -> Flask:
    """The gateway with the OMC, its accounts, and one token for both the audit and the
    operations APIs."""
    made = app_factory(**OMC, audit_tokens=(OPERATOR_TOKEN,))
    add_accounts(made)
    return made


@pytest.fixture
def lodged(app: Flask, signed_sample: Callable[..., bytes]) -> str:
    """The id of steppe's fresh-apples application (which registers steppe's key)."""
    response = app.test_client().post(
        "/api/v1/applications", data=signed_sample("fresh-apples-import"), headers=XML
    )
    assert response.status_code == 202, response.get_data(as_text=True)
    return str(json_of(response)["id"])


def signed_in(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    assert sign_in(client, username).status_code == 302
    return client


def problem_type(response: TestResponse) -> str:
    assert response.mimetype == "application/problem+json", response.get_data(as_text=True)[:300]
    return str(json_of(response)["type"]).rsplit(":", 1)[-1]


# --- RFC 9421 parameters: the nonce as reported ------------------------------------------------


def test_signed_read_with_an_over_long_nonce_is_401_not_500(
    app: Flask, lodged: str, pki: DevPki
) -> None:
    path = f"/api/v1/applications/{lodged}"
    steppe = identity(pki, "trader-steppe")
    for length in (129, 10_000):
        headers = signature_headers(steppe, path, nonce="n" * length)
        response = app.test_client().get(path, headers=headers)
        assert response.status_code == 401, response.get_data(as_text=True)
        assert problem_type(response) == "unauthenticated"
        assert '"nonce" must be a string of 1 to 128' in json_of(response)["detail"]
    # As long as its column (RequestNonceRow.nonce, String(128)) is still a nonce.
    headers = signature_headers(steppe, path, nonce="n" * 128)
    assert app.test_client().get(path, headers=headers).status_code == 200

    # A keyid that is no fingerprint is refused before any look-up.
    headers = signature_headers(identity(pki, "trader-steppe"), path, keyid="K" * 5000)
    response = app.test_client().get(path, headers=headers)
    assert response.status_code == 401
    assert '"keyid" must be the SHA-256 fingerprint' in json_of(response)["detail"]


# --- the trader API ----------------------------------------------------------------------------


def test_trader_api_path_parameters_are_bounded(app: Flask, lodged: str, pki: DevPki) -> None:
    steppe = identity(pki, "trader-steppe")
    client = app.test_client()
    for path, status in [
        (f"/api/v1/applications/{'N' * 41}", 404),  # one past ApplicationRow.id
        (f"/api/v1/applications/{LONG}", 404),
        (f"/api/v1/traders/{'1' * 13}/notification-url", 422),  # a BIN is 12 digits
        (f"/api/v1/traders/{LONG}/notification-url", 404),
    ]:
        response = client.get(path, headers=signature_headers(steppe, path))
        assert response.status_code == status, (path[:60], response.get_data(as_text=True))
        assert response.mimetype == "application/problem+json"


# --- the OMC: the huge trail number as reported, forms and path parameters -----------------------


def test_omc_trail_entry_with_a_huge_number_is_404_not_500(app: Flask) -> None:
    op = signed_in(app, "op")
    for seq in (HUGE, str(2**63), "9" * 5000):
        assert op.get(f"/omc/trail/{seq}").status_code == 404, seq[:30]
    response = op.get(f"/omc/trail/{2**63 - 1}")  # the top of BIGINT: a query, no entry
    assert response.status_code == 404
    assert f"There is no trail entry {2**63 - 1}" in response.get_data(as_text=True)


def test_omc_forms_and_paths_are_bounded(app: Flask, lodged: str) -> None:
    op = signed_in(app, "op")
    token = _csrf(op)
    answer = op.post("/omc/actions/clear/V-1", data={"csrf_token": token, "reason": "r" * 2001})
    assert answer.status_code == 400
    answer = op.post(f"/omc/actions/retry/{'C' * 49}", data={"csrf_token": token})
    assert answer.status_code == 404
    assert op.get(f"/omc/applications/{'N' * 41}").status_code == 404
    adm = signed_in(app, "adm")
    answer = adm.post(
        "/omc/admin/accounts/op",
        data={"csrf_token": _csrf(adm), "change": "password", "password": "p" * 1025},
    )
    assert answer.status_code == 400


def _csrf(client: FlaskClient) -> str:
    from tests.omc.conftest import csrf

    return csrf(client, "/omc/")


# --- the audit and operations APIs ---------------------------------------------------------------


QUERIES = [
    f"/api/v1/audit/proofs/inclusion?seq=0&size={HUGE}",
    f"/api/v1/audit/proofs/inclusion?seq={HUGE}&size=1",
    f"/api/v1/audit/proofs/consistency?first=1&second={HUGE}",
    f"/api/v1/audit/tree-head?size={HUGE}",
    "/api/v1/audit/tree-head?size=%C2%B2",  # "²": isdigit() says yes, int() says no
    f"/api/v1/operations/cases?state={LONG}",
    f"/api/v1/operations/notifications?state={'s' * 17}",
]


def test_audit_and_operations_query_parameters_are_bounded(app: Flask) -> None:
    for query in QUERIES:
        response = app.test_client().get(query, headers=BEARER)
        assert response.status_code == 400, (query[:60], response.get_data(as_text=True))
        assert problem_type(response) == "invalid-parameter"


def test_operations_path_parameters_are_bounded(app: Flask) -> None:
    client = app.test_client()
    assert (
        client.post(f"/api/v1/operations/notifications/{HUGE}/retry", headers=BEARER).status_code
        == 404
    )
    response = client.post(f"/api/v1/operations/cases/{'C' * 49}/retry", headers=BEARER)
    assert response.status_code == 404
    assert problem_type(response) == "not-found"


# --- the checkpoint's officer endpoints ----------------------------------------------------------


def test_checkpoint_officer_values_are_bounded(app: Flask) -> None:
    client = app.test_client()
    assert client.get(f"/api/v1/checkpoint/visits/{'V' * 41}", headers=BEARER).status_code == 404
    response = client.get(f"/api/v1/checkpoint/timing?checkpoint={LONG}", headers=BEARER)
    assert response.status_code == 400
    response = client.post(
        "/api/v1/checkpoint/visits/V-1/clearance", json={"officer": "o" * 129}, headers=BEARER
    )
    assert response.status_code == 400
    assert problem_type(response) == "invalid-parameter"


# --- REST callbacks ----------------------------------------------------------------------------


def test_rest_callback_with_an_over_long_case_id_is_refused_as_invalid(
    app: Flask, pki: DevPki
) -> None:
    from simulators.callbacks import signed_json
    from simulators.security import AgencyKeys

    target = "http://localhost/api/v1/callbacks/health"
    body = json.dumps({"caseId": "C" * 49, "status": "approved"}).encode()
    message = signed_json(target, body, AgencyKeys.load("health", pki.directory))
    response = app.test_client().post(target, data=body, headers=dict(message.headers))
    assert response.status_code == 400, response.get_data(as_text=True)
    assert problem_type(response) == "invalid-callback"
    assert "'caseId' must be a case id" in json_of(response)["detail"]
