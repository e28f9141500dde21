"""A trader downloads their own uploaded document (issue 19, item 3): a signed read like the
status; another company's application answers as an unknown one (404), and the document is
served as a download of its signed media type, never inline."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.attachments import PDF, Entry, listing
from tests.responses import json_of
from tests.trader_requests import identity, signature_headers

XML_BODY = {"Content-Type": "application/xml"}
INVOICE = Entry(PDF)


@pytest.fixture
def client(app_factory: Callable[..., Flask]) -> FlaskClient:
    return app_factory().test_client()


def get(client: FlaskClient, pki: Any, path: str, who: str = "trader-steppe") -> Any:
    return client.get(path, headers=signature_headers(identity(pki, who), path))


def test_the_trader_downloads_their_document_and_no_one_else_does(
    client: FlaskClient, signed_sample: Callable[..., bytes], pki: Any
) -> None:
    lodged = client.post(
        "/api/v1/applications",
        data=signed_sample("fresh-apples-import", edit=listing(INVOICE)),
        headers=XML_BODY,
    )
    assert lodged.status_code == 202, lodged.json
    lodged_id = json_of(lodged)["id"]
    path = f"/api/v1/applications/{lodged_id}/attachments/{INVOICE.digest}"

    before = get(client, pki, path)
    assert before.status_code == 404 and "not uploaded yet" in before.json["detail"]
    put = signature_headers(identity(pki, "trader-steppe"), path, method="PUT", body=PDF)
    assert client.put(path, data=PDF, headers=put).status_code == 201

    own = get(client, pki, path)
    assert own.status_code == 200 and own.data == PDF
    assert own.mimetype == "application/pdf"
    assert own.headers["Content-Disposition"] == 'attachment; filename="invoice-INV-ATT-1.pdf"'
    assert own.headers["X-Content-Type-Options"] == "nosniff"

    altyn = client.post(  # registers trader-altyn's key
        "/api/v1/applications", data=signed_sample("live-cattle-import"), headers=XML_BODY
    )
    assert altyn.status_code == 202
    other = get(client, pki, path, who="trader-altyn")
    unknown = get(client, pki, path.replace(lodged_id, "NSW-20260101-0000000000"))
    assert other.status_code == unknown.status_code == 404
    assert other.json["type"] == unknown.json["type"]
    assert PDF not in other.data
    assert client.get(path).status_code == 401  # unsigned
