"""The document stage compares a scanned document with the one the signed application lodged
(issue 19, item 3): a device of that stage asks by SHA-256; a digest not listed is a finding."""

from __future__ import annotations

import hashlib
import json

import requests

from tests.attachments import PDF, Entry, listing
from tests.checkpoint.conftest import STAGE_DEVICES, Checkpoint, Device, fresh_plate

PATH = "/api/v1/checkpoint/documents/digest"


def test_the_document_stage_tells_a_lodged_document_from_another(checkpoint: Checkpoint) -> None:
    invoice = Entry(PDF.replace(b"/Catalog", b"/Catalog /Lang (doc-stage)"))
    application_id = checkpoint.lodge(
        "fresh-apples-import", edit=lambda raw: listing(invoice)(fresh_plate("")(raw))
    )
    docs = checkpoint.device(STAGE_DEVICES["documents"])

    def ask(sha256: str, who: Device = docs, app: str = application_id) -> requests.Response:
        return who.post(PATH, json.dumps({"application_id": app, "sha256": sha256}).encode())

    same = ask(invoice.digest)
    assert same.status_code == 200, same.text
    assert same.json()["match"] is True
    assert same.json()["entry"] == {
        "type": "invoice", "number": "INV-ATT-1", "media_type": "application/pdf",
        "size": len(invoice.data),
    }  # fmt: skip
    assert same.json()["uploaded"] is False  # lodged by digest, bytes never uploaded

    forged = hashlib.sha256(b"a paper invoice with another total").hexdigest()
    other = ask(forged)
    assert other.status_code == 200
    assert other.json()["match"] is False
    assert [d["sha256"] for d in other.json()["lodged"]] == [invoice.digest]

    xray = checkpoint.device(STAGE_DEVICES["scan"])
    refused = ask(invoice.digest, who=xray)
    assert refused.status_code == 403
    assert refused.json()["type"].endswith(":device-not-for-this")
    unknown = ask(invoice.digest, app="NSW-20260101-0000000000")
    assert unknown.status_code == 404
    unsigned = docs.post(PATH, b'{"application_id": "x", "sha256": "y"}', sign=False)
    assert unsigned.status_code == 401
