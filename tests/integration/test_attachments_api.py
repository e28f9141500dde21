"""Uploading supporting documents (issue 19, item 3): only the bytes the signed application lists
are accepted, each refusal with its own problem type, and a refused upload changes nothing."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from gateway.pki.dev import DevPki
from gateway.trail.verify import verify_bundle
from gateway.trust.certificates import load_certificates
from tests.attachments import PDF, PNG, XML, Entry, listing
from tests.responses import json_of
from tests.trader_requests import identity, signature_headers

XML_BODY = {"Content-Type": "application/xml"}


def problem_code(response: Any) -> str:
    assert response.mimetype == "application/problem+json", response.data[:300]
    return str(response.json["type"]).rsplit(":", 1)[-1]


@pytest.fixture
def app(app_factory: Callable[..., Flask]) -> Flask:
    return app_factory()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def lodge(
    client: FlaskClient, signed_sample: Any, *entries: Entry, name: str = "fresh-apples-import"
) -> Any:
    response = client.post(
        "/api/v1/applications", data=signed_sample(name, edit=listing(*entries)), headers=XML_BODY
    )
    assert response.status_code == 202, response.json
    return json_of(response)["id"]


def put(
    client: FlaskClient,
    pki: Any,
    application_id: str,
    sha256: str,
    data: bytes,
    who: str = "trader-steppe",
) -> Any:
    path = f"/api/v1/applications/{application_id}/attachments/{sha256}"
    headers = signature_headers(identity(pki, who), path, method="PUT", body=data)
    return client.put(path, data=data, headers=headers)


def status(client: FlaskClient, pki: Any, application_id: str, who: str = "trader-steppe") -> Any:
    path = f"/api/v1/applications/{application_id}"
    return client.get(path, headers=signature_headers(identity(pki, who), path)).json


def trail_kinds(app: Flask, application_id: str) -> list[str]:
    return [e.kind for e in app.extensions["nsw"].auditor.entries(application_id)]


def test_the_signed_document_is_accepted_once_cited_in_the_trail_and_in_the_bundle(
    app: Flask, client: FlaskClient, signed_sample: Callable[..., bytes], pki: DevPki
) -> None:
    pdf, png = Entry(PDF), Entry(PNG, type="cmr", number="CMR-1", media_type="image/png")
    application_id = lodge(client, signed_sample, pdf, png)
    assert [d["uploaded"] for d in status(client, pki, application_id)["documents"]] == [
        False,
        False,
    ]

    first = put(client, pki, application_id, pdf.digest, PDF)
    assert first.status_code == 201, first.json
    assert first.json == {
        "type": "invoice", "number": "INV-ATT-1", "media_type": "application/pdf",
        "size": len(PDF), "sha256": pdf.digest, "uploaded": True,
    }  # fmt: skip
    again = put(client, pki, application_id, pdf.digest, PDF)
    assert again.status_code == 200
    assert [d["uploaded"] for d in status(client, pki, application_id)["documents"]] == [
        True,
        False,
    ]
    assert trail_kinds(app, application_id).count("attachment") == 1

    bundle = app.extensions["nsw"].auditor.bundle(application_id)
    assert [a["sha256"] for a in bundle["attachments"]] == [pdf.digest]
    checks = verify_bundle(
        bundle, load_certificates(pki.directory / "root-ca.pem"), pki.certificate("gateway")
    )
    assert [c.line() for c in checks if not c.ok] == []
    assert any("equals an entry" in c.check and c.ok for c in checks)


def test_the_offline_verifier_refuses_a_document_that_is_not_the_signed_one(
    app: Flask, client: FlaskClient, signed_sample: Callable[..., bytes], pki: DevPki
) -> None:
    import base64

    pdf = Entry(PDF)
    application_id = lodge(client, signed_sample, pdf)
    assert put(client, pki, application_id, pdf.digest, PDF).status_code == 201
    bundle = app.extensions["nsw"].auditor.bundle(application_id)
    forged = PDF.replace(b"Catalog", b"Catalox")
    bundle["attachments"][0]["content"] = base64.b64encode(forged).decode()
    checks = verify_bundle(
        bundle, load_certificates(pki.directory / "root-ca.pem"), pki.certificate("gateway")
    )
    assert any("SHA-256 of the content" in c.check for c in checks if not c.ok)


@pytest.mark.parametrize(
    ("entry", "body", "status_code", "code"),
    [
        # Another document of the same size than the one signed.
        (Entry(PDF), PDF.replace(b"Catalog", b"Catalox"), 422, "attachment-digest-mismatch"),
        (Entry(PDF), PDF + b"\n", 422, "attachment-size-mismatch"),
        # PNG bytes that the signed entry calls a PDF (their digest is the signed one).
        (Entry(PNG, media_type="application/pdf"), PNG, 415, "attachment-content-type-mismatch"),
        # A polyglot: a real PNG with a ZIP riding behind it, signed as a PNG.
        (
            Entry(PNG + b"PK\x03\x04payload", media_type="image/png"),
            PNG + b"PK\x03\x04payload",
            415,
            "attachment-content-type-mismatch",
        ),
        # XML with a DTD: the hardened parser refuses it.
        (
            Entry(
                b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e "x">]><d>&e;</d>',
                media_type="application/xml",
            ),
            b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e "x">]><d>&e;</d>',
            415,
            "attachment-content-type-mismatch",
        ),
    ],
)
def test_bytes_that_are_not_the_signed_document_are_refused_and_change_nothing(
    app: Flask,
    client: FlaskClient,
    signed_sample: Callable[..., bytes],
    pki: DevPki,
    entry: Entry,
    body: bytes,
    status_code: int,
    code: str,
) -> None:
    application_id = lodge(client, signed_sample, entry)
    before = trail_kinds(app, application_id)
    response = put(client, pki, application_id, entry.digest, body)
    assert response.status_code == status_code, response.json
    assert problem_code(response) == code
    assert [d["uploaded"] for d in status(client, pki, application_id)["documents"]] == [False]
    # On the record (signed by the declarant), by digest; nothing else changed.
    assert trail_kinds(app, application_id) == [*before, "attachment-refused"]
    refused = app.extensions["nsw"].auditor.bundle(application_id)["entries"][-1]
    record = json.loads(base64.b64decode(refused["body"]))
    assert (record["sha256"], record["problem"]) == (entry.digest, code)
    assert record["sent_sha256"] == hashlib.sha256(body).hexdigest()
    assert app.extensions["nsw"].attachments.contents(application_id, [entry.digest]) == {}


def test_a_digest_the_application_does_not_list_is_404(
    client: FlaskClient, signed_sample: Callable[..., bytes], pki: DevPki
) -> None:
    application_id = lodge(client, signed_sample, Entry(PDF))
    response = put(client, pki, application_id, Entry(XML).digest, XML)
    assert response.status_code == 404
    assert problem_code(response) == "attachment-not-listed"


def test_another_trader_may_not_upload_and_changes_nothing(
    app: Flask, client: FlaskClient, signed_sample: Callable[..., bytes], pki: DevPki
) -> None:
    pdf = Entry(PDF)
    application_id = lodge(client, signed_sample, pdf)
    lodge(client, signed_sample, name="live-cattle-import")  # registers trader-altyn's key
    response = put(client, pki, application_id, pdf.digest, PDF, who="trader-altyn")
    assert response.status_code == 403
    assert problem_code(response) == "not-your-application"
    assert app.extensions["nsw"].attachments.uploaded(application_id) == frozenset()
    # Another company's request writes nothing, not even a refusal, to this application's trail.
    assert "attachment-refused" not in trail_kinds(app, application_id)


def test_an_unsigned_upload_is_401(
    client: FlaskClient, signed_sample: Callable[..., bytes]
) -> None:
    pdf = Entry(PDF)
    application_id = lodge(client, signed_sample, pdf)
    response = client.put(
        f"/api/v1/applications/{application_id}/attachments/{pdf.digest}", data=PDF
    )
    assert response.status_code == 401
    assert problem_code(response) == "unauthenticated"


def test_an_oversize_upload_is_refused_before_its_body_is_read(
    app_factory: Callable[..., Flask], signed_sample: Callable[..., bytes], pki: DevPki
) -> None:
    client = app_factory(max_attachment_bytes=64).test_client()
    refused = client.post(  # intake already says an entry over the cap will never be accepted
        "/api/v1/applications",
        data=signed_sample("fresh-apples-import", edit=listing(Entry(PDF * 2))),
        headers=XML_BODY,
    )
    assert (refused.status_code, problem_code(refused)) == (413, "attachment-too-large")
    small = Entry(b"%PDF-1.0\n%%EOF\n")
    application_id = lodge(client, signed_sample, small)
    response = put(client, pki, application_id, small.digest, PDF * 2)
    assert response.status_code == 413
    assert problem_code(response) == "attachment-too-large"
    assert response.json["limit"] == 64


@pytest.mark.parametrize(
    ("entry", "status_code", "code"),
    [
        (Entry(PDF, media_type="text/html"), 415, "attachment-media-type"),
        (Entry(PDF, size=30 * 1024 * 1024), 413, "attachment-too-large"),
        (Entry(PDF, type="licence", size=0), 422, "schema-violation"),  # Size is positive
    ],
)
def test_intake_refuses_entries_it_would_never_accept_bytes_for(
    client: FlaskClient,
    signed_sample: Callable[..., bytes],
    entry: Entry,
    status_code: int,
    code: str,
) -> None:
    response = client.post(
        "/api/v1/applications",
        data=signed_sample("fresh-apples-import", edit=listing(entry)),
        headers=XML_BODY,
    )
    assert response.status_code == status_code, response.json
    assert problem_code(response) == code


def test_intake_refuses_one_document_listed_twice(
    client: FlaskClient, signed_sample: Callable[..., bytes]
) -> None:
    response = client.post(
        "/api/v1/applications",
        data=signed_sample(
            "fresh-apples-import", edit=listing(Entry(PDF), Entry(PDF, number="INV-AGAIN"))
        ),
        headers=XML_BODY,
    )
    assert response.status_code == 422
    assert problem_code(response) == "attachment-entry-invalid"


def test_a_refusal_is_said_in_the_reader_s_language(
    client: FlaskClient, signed_sample: Callable[..., bytes], pki: DevPki
) -> None:
    pdf = Entry(PDF)
    application_id = lodge(client, signed_sample, pdf)
    path = f"/api/v1/applications/{application_id}/attachments/{pdf.digest}"
    other = PDF.replace(b"Catalog", b"Catalox")
    headers = signature_headers(identity(pki, "trader-steppe"), path, method="PUT", body=other)
    response = client.put(path, data=other, headers=headers | {"Accept-Language": "ru"})
    assert response.status_code == 422
    assert json_of(response)["detail"].startswith("SHA-256 загруженного файла")
    assert pdf.digest in json_of(response)["detail"]
