"""Who may read an application (issue 4, item 5): RFC 9421 signatures by a registered trader key.

A read without proof or with a wrong proof gets 401, by another company 404 as for an unknown id
(tests/security/test_no_existence_leak.py), a problem document, never data; the declarant and its registered representatives get the application."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from http_message_signatures import HTTPMessageSigner, MappingKeyResolver, algorithms
from werkzeug.test import TestResponse

from gateway.pki.dev import DevPki
from gateway.trust.certificates import TrustedSigner
from gateway.trust.http_signatures import DEVICE_TAG, RequestView
from tests.responses import json_of
from tests.security.conftest import XML, problem_code
from tests.trader_requests import identity, keyid_of, signature_headers


@pytest.fixture
def lodged(client: FlaskClient, signed_sample: Callable[..., bytes]) -> dict[str, str]:
    """steppe's and altyn's applications lodged (which registers both their keys): path -> id."""
    ids: dict[str, str] = {}
    for sample in ("fresh-apples-import", "live-cattle-import"):
        response = client.post("/api/v1/applications", data=signed_sample(sample), headers=XML)
        assert response.status_code == 202
        ids[sample] = json_of(response)["id"]
    return ids


def _path(ids: dict[str, str], sample: str = "fresh-apples-import", suffix: str = "") -> str:
    return f"/api/v1/applications/{ids[sample]}{suffix}"


def _refused(response: TestResponse, status: int, code: str) -> None:
    assert response.status_code == status, response.json
    assert problem_code(response) == code
    assert "cases" not in json_of(response) and "declarant_bin" not in json_of(response)


@pytest.mark.parametrize("suffix", ["", "/decision", "/receipt", "/evidence"])
def test_reading_without_a_signature_is_401(
    client: FlaskClient, lodged: dict[str, str], suffix: str
) -> None:
    response = client.get(_path(lodged, suffix=suffix))
    _refused(response, 401, "unauthenticated")
    assert 'tag="nsw-trader"' in response.headers["Accept-Signature"]


def test_the_declarant_reads_status_decision_receipt_and_evidence(
    client: FlaskClient, lodged: dict[str, str], pki: DevPki
) -> None:
    steppe = identity(pki, "trader-steppe")
    path = _path(lodged)
    status = client.get(path, headers=signature_headers(steppe, path))
    assert status.status_code == 200 and json_of(status)["declarant_bin"] == "210540012341"
    decision = client.get(path + "/decision", headers=signature_headers(steppe, path + "/decision"))
    assert problem_code(decision) == "decision-not-ready"
    receipt = client.get(path + "/receipt", headers=signature_headers(steppe, path + "/receipt"))
    assert receipt.status_code == 200 and b"<ApplicationSHA256>" in receipt.data
    evidence = client.get(path + "/evidence", headers=signature_headers(steppe, path + "/evidence"))
    assert evidence.status_code == 200 and json_of(evidence)["entries"][0]["kind"] == "application"


@pytest.mark.parametrize("suffix", ["", "/decision", "/receipt", "/evidence"])
def test_another_trader_gets_404(
    client: FlaskClient, lodged: dict[str, str], pki: DevPki, suffix: str
) -> None:
    altyn = identity(pki, "trader-altyn")  # registered: it lodged the cattle import
    path = _path(lodged, suffix=suffix)
    _refused(client.get(path, headers=signature_headers(altyn, path)), 404, "not-found")


def test_unregistered_key_is_401(client: FlaskClient, lodged: dict[str, str], pki: DevPki) -> None:
    kaztrans = identity(pki, "trader-kaztrans")  # valid certificate, never lodged anything
    path = _path(lodged)
    response = client.get(path, headers=signature_headers(kaztrans, path))
    _refused(response, 401, "unauthenticated")
    assert "registered" in json_of(response)["detail"]


def test_replayed_request_is_401(client: FlaskClient, lodged: dict[str, str], pki: DevPki) -> None:
    path = _path(lodged)
    headers = signature_headers(identity(pki, "trader-steppe"), path)
    assert client.get(path, headers=headers).status_code == 200
    _refused(client.get(path, headers=headers), 401, "replayed-request")


def test_signature_for_another_path_is_401(
    client: FlaskClient, lodged: dict[str, str], pki: DevPki
) -> None:
    steppe = identity(pki, "trader-steppe")
    headers = signature_headers(steppe, _path(lodged, suffix="/receipt"))
    _refused(client.get(_path(lodged), headers=headers), 401, "unauthenticated")


@pytest.mark.parametrize("age", [dt.timedelta(minutes=6), dt.timedelta(minutes=-2)])
def test_stale_or_future_signature_is_401(
    client: FlaskClient, lodged: dict[str, str], pki: DevPki, age: dt.timedelta
) -> None:
    path = _path(lodged)
    when = dt.datetime.now(dt.UTC) - age
    headers = signature_headers(identity(pki, "trader-steppe"), path, now=when)
    _refused(client.get(path, headers=headers), 401, "unauthenticated")


def test_someone_elses_keyid_with_my_key_is_401(
    client: FlaskClient, lodged: dict[str, str], pki: DevPki
) -> None:
    steppe, altyn = identity(pki, "trader-steppe"), identity(pki, "trader-altyn")
    path = _path(lodged)
    headers = signature_headers(altyn, path, keyid=keyid_of(steppe))
    _refused(client.get(path, headers=headers), 401, "unauthenticated")


def test_hmac_with_the_declarants_keyid_is_401(
    client: FlaskClient, lodged: dict[str, str], pki: DevPki
) -> None:
    keyid = keyid_of(identity(pki, "trader-steppe"))
    path = _path(lodged)
    view = RequestView("GET", f"http://localhost{path}", {})
    secret = b"anyone-can-choose-this"
    HTTPMessageSigner(
        signature_algorithm=algorithms.HMAC_SHA256,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={keyid: secret}),
    ).sign(
        view,
        key_id=keyid,
        created=dt.datetime.now(dt.UTC),
        expires=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1),
        nonce="n-hmac",
        tag="nsw-trader",
        covered_component_ids=("@method", "@path", "@query"),
    )
    _refused(client.get(path, headers=dict(view.headers)), 401, "unauthenticated")


def test_signature_without_the_tag_or_nonce_is_401(
    client: FlaskClient, lodged: dict[str, str], pki: DevPki
) -> None:
    steppe = identity(pki, "trader-steppe")
    path = _path(lodged)
    headers = signature_headers(steppe, path)
    headers["Signature-Input"] = headers["Signature-Input"].replace('tag="nsw-trader"', 'tag="x"')
    _refused(client.get(path, headers=headers), 401, "unauthenticated")
    headers = signature_headers(steppe, path)
    headers["Signature-Input"] = (
        headers["Signature-Input"].split(";nonce=")[0] + ';tag="nsw-trader"'
    )
    _refused(client.get(path, headers=headers), 401, "unauthenticated")


def test_a_signature_made_for_a_device_is_refused(
    client: FlaskClient, lodged: dict[str, str], pki: DevPki
) -> None:
    """The declarant's own key, but tagged "nsw-device": made for another purpose, not a read."""
    path = _path(lodged)
    headers = signature_headers(identity(pki, "trader-steppe"), path, tag=DEVICE_TAG)
    response = client.get(path, headers=headers)
    _refused(response, 401, "unauthenticated")
    assert 'tag="nsw-device", made for another purpose' in json_of(response)["detail"]


def test_a_revoked_certificate_stops_reading_at_once(
    client: FlaskClient, lodged: dict[str, str], pki: DevPki
) -> None:
    """Registration only makes a key findable: the trust store judges it at every request."""
    services = client.application.extensions["nsw"]
    cert = pki.certificate("trader-revoked")
    revoked = identity(pki, "trader-revoked")
    services.trader_certs.register(
        TrustedSigner(cert, (cert,), "210540012341", None, "revoked", keyid_of(revoked)), "operator"
    )
    path = _path(lodged)
    response = client.get(path, headers=signature_headers(revoked, path))
    _refused(response, 401, "unauthenticated")
    assert "revoked" in json_of(response)["detail"]


def test_registered_representative_reads_until_revoked(
    client: FlaskClient, lodged: dict[str, str], pki: DevPki
) -> None:
    from gateway.domain.identifiers import Bin
    from gateway.trust.representatives import Role

    services = client.application.extensions["nsw"]
    kaztrans = identity(pki, "trader-kaztrans")
    services.trader_certs.register(services.trust.verify(kaztrans.certificate), "operator")
    path = _path(lodged)
    _refused(client.get(path, headers=signature_headers(kaztrans, path)), 404, "not-found")
    services.representatives.register(Bin("210540012341"), Bin("181240044780"), Role.CARRIER)
    assert client.get(path, headers=signature_headers(kaztrans, path)).status_code == 200
    services.representatives.revoke(Bin("210540012341"), Bin("181240044780"))
    _refused(client.get(path, headers=signature_headers(kaztrans, path)), 404, "not-found")
