"""The OMC application page lists the supporting documents (issue 19, item 3) and lets operators,
auditors and the officers of an agency that wants a document download it; another agency's
officer may not, and the download is never shown inline."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.attachments import PDF, XML, Entry, listing
from tests.responses import json_of
from tests.trader_requests import identity, signature_headers

XML_BODY = {"Content-Type": "application/xml"}
# fresh-apples-import goes to customs, health and phytosanitary; only phytosanitary wants this.
CERT = Entry(
    XML, type="phytosanitary-certificate", number='PHY/1 "x"', media_type="application/xml"
)
INVOICE = Entry(PDF)  # listed, never uploaded


@pytest.fixture
def lodged(omc_app: Flask, signed_sample: Callable[..., bytes], pki: Any) -> str:
    api = omc_app.test_client()
    response = api.post(
        "/api/v1/applications",
        data=signed_sample("fresh-apples-import", edit=listing(CERT, INVOICE)),
        headers=XML_BODY,
    )
    assert response.status_code == 202, response.json
    application_id: str = json_of(response)["id"]
    path = f"/api/v1/applications/{application_id}/attachments/{CERT.digest}"
    headers = signature_headers(identity(pki, "trader-steppe"), path, method="PUT", body=XML)
    assert api.put(path, data=XML, headers=headers).status_code == 201
    return application_id


def document(client: FlaskClient, application_id: str, sha256: str) -> Any:
    return client.get(f"/omc/applications/{application_id}/documents/{sha256}")


def test_the_page_lists_every_document_with_its_digest_and_who_wants_it(
    lodged: str, client_as: Callable[[str], FlaskClient]
) -> None:
    page = client_as("op").get(f"/omc/applications/{lodged}").get_data(as_text=True)
    assert 'id="documents"' in page
    assert CERT.digest in page and INVOICE.digest in page
    assert "application/xml" in page and f"{len(PDF)} bytes" in page
    assert f"/omc/applications/{lodged}/documents/{CERT.digest}" in page
    assert f"/omc/applications/{lodged}/documents/{INVOICE.digest}" not in page  # not uploaded
    officer = client_as("cus").get(f"/omc/applications/{lodged}").get_data(as_text=True)
    assert CERT.digest in officer and f"/documents/{CERT.digest}" not in officer


@pytest.mark.parametrize("who", ["op", "aud", "phy"])
def test_operators_auditors_and_the_agency_that_wants_it_download_it(
    lodged: str, client_as: Callable[[str], FlaskClient], who: str
) -> None:
    response = document(client_as(who), lodged, CERT.digest)
    assert response.status_code == 200
    assert response.data == XML
    assert response.mimetype == "application/xml"
    disposition = response.headers["Content-Disposition"]
    assert disposition == 'attachment; filename="phytosanitary-certificate-PHY_1__x_.xml"'
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"].startswith("sandbox")


def test_another_agencys_officer_may_not_download_it(
    lodged: str, client_as: Callable[[str], FlaskClient]
) -> None:
    response = document(client_as("cus"), lodged, CERT.digest)
    assert response.status_code == 403
    assert XML.decode() not in response.get_data(as_text=True)
    # an agency with no case in the application: refused before anything of it is read
    assert document(client_as("trn"), lodged, CERT.digest).status_code == 403


def test_an_administrator_or_no_one_may_not_download_it(
    omc_app: Flask, lodged: str, client_as: Callable[[str], FlaskClient]
) -> None:
    assert document(client_as("adm"), lodged, CERT.digest).status_code == 403
    anonymous = document(omc_app.test_client(), lodged, CERT.digest)
    assert anonymous.status_code == 302 and XML not in anonymous.data


def test_a_document_not_uploaded_or_not_listed_is_not_found(
    lodged: str, client_as: Callable[[str], FlaskClient]
) -> None:
    op = client_as("op")
    missing = document(op, lodged, INVOICE.digest)
    assert missing.status_code == 404 and "not uploaded yet" in missing.get_data(as_text=True)
    assert document(op, lodged, "0" * 64).status_code == 404
    assert document(op, lodged, "not-a-digest").status_code == 404
