"""Lodging applications through the API: what is accepted, what is refused, and how."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from gateway.pki.dev import DevPki
from tests.responses import json_of
from tests.trader_requests import identity, signature_headers

XML = {"Content-Type": "application/xml"}


def problem_code(response: TestResponse) -> str:
    assert response.mimetype == "application/problem+json", response.data[:300]
    return str(json_of(response)["type"]).rsplit(":", 1)[-1]


@pytest.fixture
def client(app_factory: Callable[..., Flask]) -> FlaskClient:
    return app_factory().test_client()


def test_accepted_application_gets_202_cases_and_outbox(
    client: FlaskClient, signed_sample: Callable[..., bytes], pki: DevPki
) -> None:
    response = client.post(
        "/api/v1/applications", data=signed_sample("fresh-apples-import"), headers=XML
    )
    assert response.status_code == 202, response.json
    body = json_of(response)
    assert body["id"].startswith("NSW-")
    assert body["agencies"] == ["customs", "transport", "police", "phytosanitary", "health"]
    assert response.headers["Location"] == f"/api/v1/applications/{body['id']}"
    with client.application.test_request_context():  # each link is where its route is
        assert body["links"] == {
            name: url_for(f"api.{name}", application_id=body["id"])
            for name in ("status", "decision", "receipt", "evidence")
        }
    steppe = identity(pki, "trader-steppe")
    path = body["links"]["status"]
    status = json_of(client.get(path, headers=signature_headers(steppe, path)))
    assert status["status"] == "in_progress"
    assert [c["state"] for c in status["cases"]] == ["queued"] * 5
    assert status["routing"]["phytosanitary"][0]["rule"] == "phytosanitary-decision-318"
    assert status["routing"]["police"][0]["rule"] == "police-road-entry"


def test_decision_before_it_exists_is_a_clear_not_yet(
    client: FlaskClient, signed_sample: Callable[..., bytes], pki: DevPki
) -> None:
    accepted = json_of(
        client.post("/api/v1/applications", data=signed_sample("live-cattle-import"), headers=XML)
    )
    path = accepted["links"]["decision"]
    response = client.get(path, headers=signature_headers(identity(pki, "trader-altyn"), path))
    assert response.status_code == 409
    assert problem_code(response) == "decision-not-ready"
    assert json_of(response)["waiting_for"] == ["customs", "transport", "police", "veterinary"]


def test_unknown_application_is_404_problem(
    client: FlaskClient, signed_sample: Callable[..., bytes], pki: DevPki
) -> None:
    # The key is registered by its first accepted submission.
    client.post("/api/v1/applications", data=signed_sample("fresh-apples-import"), headers=XML)
    path = "/api/v1/applications/NSW-20260101-0000000000"
    response = client.get(path, headers=signature_headers(identity(pki, "trader-steppe"), path))
    assert response.status_code == 404
    assert problem_code(response) == "not-found"


def test_same_signed_bytes_again_return_the_original(
    client: FlaskClient, signed_sample: Callable[..., bytes]
) -> None:
    signed = signed_sample("fresh-apples-import")
    first = client.post("/api/v1/applications", data=signed, headers=XML)
    again = client.post("/api/v1/applications", data=signed, headers=XML)
    assert (first.status_code, again.status_code) == (202, 200)
    assert json_of(again)["id"] == json_of(first)["id"]


def test_other_content_under_the_same_reference_is_a_conflict(
    client: FlaskClient, signed_sample: Callable[..., bytes]
) -> None:
    client.post("/api/v1/applications", data=signed_sample("fresh-apples-import"), headers=XML)
    changed = signed_sample(
        "fresh-apples-import", edit=lambda raw: raw.replace(b"Fuji", b"Golden Delicious")
    )
    response = client.post("/api/v1/applications", data=changed, headers=XML)
    assert response.status_code == 409
    assert problem_code(response) == "reference-conflict"


@pytest.mark.parametrize(
    ("signer", "code", "status"),
    [
        ("trader-expired", "expired-certificate", 422),
        ("trader-revoked", "revoked-certificate", 422),
        ("trader-altyn", "signer-not-declarant", 403),
    ],
)
def test_certificates_that_may_not_sign(
    client: FlaskClient, signed_sample: Callable[..., bytes], signer: str, code: str, status: int
) -> None:
    response = client.post(
        "/api/v1/applications",
        data=signed_sample("fresh-apples-import", signer=signer),
        headers=XML,
    )
    assert response.status_code == status
    assert problem_code(response) == code


def test_content_changed_after_signing_is_refused(
    client: FlaskClient, signed_sample: Callable[..., bytes]
) -> None:
    tampered = signed_sample("fresh-apples-import").replace(b">19800<", b">9800<", 1)
    response = client.post("/api/v1/applications", data=tampered, headers=XML)
    assert response.status_code == 422
    assert problem_code(response) == "bad-signature"


def test_unsigned_application_is_refused(client: FlaskClient) -> None:
    from gateway.resources import shipped

    raw = (shipped("samples") / "fresh-apples-import.xml").read_bytes()
    response = client.post("/api/v1/applications", data=raw, headers=XML)
    assert response.status_code == 422
    assert problem_code(response) == "bad-signature"
    assert "not signed" in json_of(response)["detail"]


@pytest.mark.parametrize(
    ("body", "headers", "code", "status"),
    [
        (b"<Application", XML, "malformed-xml", 400),
        (
            b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>',
            XML,
            "forbidden-xml-construct",
            400,
        ),
        (b"{}", {"Content-Type": "application/json"}, "unsupported-media-type", 415),
        (b"<a/>" + b" " * 6_000_000, XML, "body-too-large", 413),
        (b'<Application xmlns="urn:kz:nsw:application:1"/>', XML, "schema-violation", 422),
    ],
)
def test_bad_bytes_get_a_problem_document(
    client: FlaskClient, body: bytes, headers: dict[str, str], code: str, status: int
) -> None:
    response = client.post("/api/v1/applications", data=body, headers=headers)
    assert response.status_code == status
    assert problem_code(response) == code
