"""The portal's application page lists its supporting documents and takes their files (issue 19,
item 3): only the exact bytes a signed entry lists are kept, a refusal shows the API's problem,
and another company's application answers as one that does not exist."""

from __future__ import annotations

import html
import io
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import TestResponse, encode_multipart

from tests.attachments import PDF, Entry, listing
from tests.portal.conftest import csrf

Client = Callable[[str], FlaskClient]


def text(answer: TestResponse) -> str:
    return " ".join(html.unescape(answer.get_data(as_text=True)).split())


def send(client: FlaskClient, application_id: str, body: bytes) -> TestResponse:
    page = f"/portal/applications/{application_id}"
    token = csrf(client, page)
    file = FileStorage(io.BytesIO(body), filename="invoice.pdf", content_type="application/pdf")
    boundary, data = encode_multipart(MultiDict({"csrf_token": token, "document": file}))
    return client.post(
        f"{page}/documents", data=data, content_type=f"multipart/form-data; boundary={boundary}"
    )


def test_a_listed_document_is_uploaded_from_the_application_page(
    portal_app: Flask, trader_client: Client, signed_sample: Any
) -> None:
    invoice = Entry(PDF)
    answer = portal_app.test_client().post(
        "/api/v1/applications",
        data=signed_sample("fresh-apples-import", edit=listing(invoice)),
        content_type="application/xml",
    )
    application_id = answer.get_json()["id"]
    steppe = trader_client("trader-steppe")
    page = steppe.get(f"/portal/applications/{application_id}")
    assert "Supporting documents" in text(page)
    assert "not yet" in text(page)
    assert 'id="awaited">Still awaited: INV-ATT-1.' in text(page)

    refused = send(steppe, application_id, PDF.replace(b"Catalog", b"Catalox"))
    assert refused.status_code == 404
    assert 'data-problem-type="urn:kz:nsw:problem:attachment-not-listed"' in text(refused)

    done = send(steppe, application_id, PDF)
    assert done.status_code == 302
    after = steppe.get(f"/portal/applications/{application_id}")
    assert "Document invoice INV-ATT-1 was uploaded." in text(after)
    assert "Still awaited" not in text(after)
    assert portal_app.extensions["nsw"].attachments.uploaded(application_id) == {invoice.digest}
    kinds = [e.kind for e in portal_app.extensions["nsw"].auditor.entries(application_id)]
    assert kinds.count("attachment") == 1 and kinds.count("attachment-refused") == 1

    altyn = trader_client("trader-altyn")
    other = send(altyn, application_id, PDF)
    assert other.status_code == 404  # another company's application: as if there were none


def test_an_uploaded_document_is_downloaded_by_its_trader_only(
    portal_app: Flask, trader_client: Client, signed_sample: Any
) -> None:
    invoice = Entry(PDF)
    api = portal_app.test_client()
    application_id = api.post(
        "/api/v1/applications",
        data=signed_sample("fresh-apples-import", edit=listing(invoice)),
        content_type="application/xml",
    ).get_json()["id"]
    api.post(  # registers trader-altyn
        "/api/v1/applications", data=signed_sample("live-cattle-import"),
        content_type="application/xml",
    )  # fmt: skip
    steppe = trader_client("trader-steppe")
    path = f"/portal/applications/{application_id}/documents/{invoice.digest}"
    assert steppe.get(path).status_code == 404  # not uploaded yet
    assert send(steppe, application_id, PDF).status_code == 302
    assert path in steppe.get(f"/portal/applications/{application_id}").get_data(as_text=True)

    own = steppe.get(path)
    assert own.status_code == 200 and own.data == PDF and own.mimetype == "application/pdf"
    assert own.headers["Content-Disposition"].startswith("attachment;")
    assert own.headers["X-Content-Type-Options"] == "nosniff"
    other = trader_client("trader-altyn").get(path)
    assert other.status_code == 404 and PDF not in other.data
