"""Hostile uploads of supporting documents (issue 19, item 3): a body larger than the cap however
it is sent, a signature lifted onto other bytes or another document, a replayed request — each is
refused and none stores anything or reaches the trail."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from flask import Flask

from gateway.pki.dev import DevPki
from tests.attachments import PDF, PNG, Entry, listing
from tests.integration.test_body_limit import chunked
from tests.security.conftest import XML
from tests.serving import serving
from tests.trader_requests import identity, signature_headers

CAP = 4096


@pytest.fixture
def gateway(app_factory: Callable[..., Flask]) -> Iterator[tuple[str, Flask]]:
    app = app_factory(max_attachment_bytes=CAP)
    with serving(app) as url:
        yield url, app


def lodge(url: str, signed_sample: Any, *entries: Entry) -> str:
    answer = requests.post(
        f"{url}/api/v1/applications",
        data=signed_sample("fresh-apples-import", edit=listing(*entries)),
        headers=XML,
        timeout=30,
    )
    assert answer.status_code == 202, answer.text
    return str(answer.json()["id"])


def nothing_kept(app: Flask, application_id: str) -> bool:
    svc = app.extensions["nsw"]
    kinds = [e.kind for e in svc.auditor.entries(application_id)]
    return svc.attachments.uploaded(application_id) == frozenset() and "attachment" not in kinds


def test_a_chunked_body_over_the_cap_is_refused_without_reading_it_all(
    gateway: tuple[str, Flask], signed_sample: Callable[..., bytes], pki: DevPki
) -> None:
    url, app = gateway
    entry = Entry(PDF)
    application_id = lodge(url, signed_sample, entry)
    path = f"/api/v1/applications/{application_id}/attachments/{entry.digest}"

    def body() -> Iterator[bytes]:
        yield PDF
        yield from chunked(10 * CAP)

    response = requests.put(
        url + path,
        data=body(),
        headers=signature_headers(identity(pki, "trader-steppe"), path, method="PUT", body=PDF),
        timeout=30,
    )
    assert response.status_code == 413
    assert response.json()["type"] == "urn:kz:nsw:problem:attachment-too-large"
    assert nothing_kept(app, application_id)


def test_a_signature_over_other_bytes_or_another_document_is_refused(
    gateway: tuple[str, Flask], signed_sample: Callable[..., bytes], pki: DevPki
) -> None:
    url, app = gateway
    pdf, png = Entry(PDF), Entry(PNG, type="cmr", number="CMR-1", media_type="image/png")
    application_id = lodge(url, signed_sample, pdf, png)
    steppe = identity(pki, "trader-steppe")
    pdf_path = f"/api/v1/applications/{application_id}/attachments/{pdf.digest}"
    png_path = f"/api/v1/applications/{application_id}/attachments/{png.digest}"
    # The trader signed the PDF's upload; the bytes sent are the PNG's (Content-Digest differs).
    swapped = requests.put(
        url + pdf_path,
        data=PNG,
        headers=signature_headers(steppe, pdf_path, method="PUT", body=PDF),
        timeout=30,
    )
    # A signed upload of the PDF replayed against the PNG's path (@path is covered).
    moved = requests.put(
        url + png_path,
        data=PDF,
        headers=signature_headers(steppe, pdf_path, method="PUT", body=PDF),
        timeout=30,
    )
    for response in (swapped, moved):
        assert response.status_code == 401, response.text
        assert response.json()["type"] == "urn:kz:nsw:problem:unauthenticated"
    assert nothing_kept(app, application_id)


def test_a_replayed_upload_is_refused(
    gateway: tuple[str, Flask], signed_sample: Callable[..., bytes], pki: DevPki
) -> None:
    url, app = gateway
    entry = Entry(PDF)
    application_id = lodge(url, signed_sample, entry)
    path = f"/api/v1/applications/{application_id}/attachments/{entry.digest}"
    headers = signature_headers(identity(pki, "trader-steppe"), path, method="PUT", body=PDF)
    first = requests.put(url + path, data=PDF, headers=headers, timeout=30)
    again = requests.put(url + path, data=PDF, headers=headers, timeout=30)
    assert first.status_code == 201
    assert again.status_code == 401
    assert again.json()["type"] == "urn:kz:nsw:problem:replayed-request"
    kinds = [e.kind for e in app.extensions["nsw"].auditor.entries(application_id)]
    assert kinds.count("attachment") == 1
