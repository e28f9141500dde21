"""An amendment that changes a supporting document's digest (issue 19, items 1 and 3): another
file is a new document to upload; the agency that wants it is asked again and waits for the new
bytes, receives them and checks their digest; the bundle, both documents in it, verifies."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway.trail.verify import verify_bundle
from gateway.trust.certificates import load_certificates
from simulators.documents import RECEIVED
from tests.attachments import PDF, Entry, listing
from tests.lifecycle_documents import amends
from tests.polling import wait_until

SAMPLE, AGENCY = "chilled-lamb-import", "veterinary"
FIRST = PDF.replace(b"/Catalog", b"/Catalog /Lang (amend-1)")
CORRECTED = PDF.replace(b"/Catalog", b"/Catalog /Lang (amend-2)")


def certificate(data: bytes) -> Entry:
    return Entry(data, type="veterinary-certificate", number="VET-AMEND-1")


def test_a_new_digest_is_a_new_document_that_the_agency_waits_for(
    gateway: Callable[..., Any], signed_sample: Callable[..., bytes], pki: Any
) -> None:
    gw = gateway()
    first, corrected = certificate(FIRST), certificate(CORRECTED)
    for entry in (first, corrected):
        RECEIVED.pop(entry.digest, None)  # the stand-ins live for the session
    lodged = gw.client.submit(signed_sample(SAMPLE, edit=listing(first)))
    gw.client.attach(lodged["id"], FIRST)
    decision = gw.client.wait_for_decision(lodged["id"], deadline_s=60)
    assert RECEIVED[first.digest] == FIRST

    def amended(raw: bytes) -> bytes:
        edit = amends(lodged["id"], lodged["application_sha256"], 1)
        return edit(listing(corrected)(raw))

    answer = gw.client.amend(lodged["id"], signed_sample(SAMPLE, edit=amended))
    assert AGENCY in answer["agencies"]["reopened"]
    assert any("SHA-256" in change for change in answer["changes"])
    status = gw.client.status(lodged["id"])
    assert [(d["sha256"], d["uploaded"], d["wanted_by"]) for d in status["documents"]] == [
        (corrected.digest, False, [AGENCY])
    ]
    vet = next(c for c in status["cases"] if c["agency"] == AGENCY)
    assert vet["state"] == "queued"  # asked again, and waiting for the new bytes
    assert corrected.digest not in RECEIVED

    gw.client.attach(lodged["id"], CORRECTED)

    def redecided() -> bytes | None:
        xml = gw.client.decision(lodged["id"])
        return xml if xml is not None and xml != decision else None

    wait_until(redecided, 60, "the decision version after the new document")
    assert RECEIVED[corrected.digest] == CORRECTED  # checked by the stand-in, digest and all

    bundle = gw.services.auditor.bundle(lodged["id"])
    assert {a["sha256"] for a in bundle["attachments"]} == {first.digest, corrected.digest}
    checks = verify_bundle(
        bundle,
        load_certificates(pki.directory / "root-ca.pem"),
        pki.certificate("gateway"),
    )
    assert [c.line() for c in checks if not c.ok] == []
