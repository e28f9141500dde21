"""A supporting document end to end (issue 19, item 3), through the stand-ins on both databases:
the agency whose mapping wants it waits until it is uploaded, then receives it and checks its
digest; the other agencies are not held up; the evidence bundle carries it and verifies offline."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gateway.cli.trader import status_lines
from gateway.pki.dev import DevPki
from gateway.trail.verify import verify_bundle
from gateway.trust.certificates import load_certificates
from simulators.documents import RECEIVED
from tests.attachments import PDF, XML, Entry, listing
from tests.gateway_fixtures import RunningGateway
from tests.polling import wait_until

CASES = [
    # REST: inline base64 in the veterinary committee's JSON.
    ("chilled-lamb-import", "veterinary", "veterinary-certificate", "application/pdf",
     PDF.replace(b"/Catalog", b"/Catalog /Lang (e2e-vet)")),
    # SOAP: an Attachment element in the phytosanitary service's signed body.
    ("fresh-apples-import", "phytosanitary", "phytosanitary-certificate", "application/xml",
     XML.replace(b"CN-1", b"CN-E2E-PHYTO")),
]  # fmt: skip


@pytest.mark.parametrize(("name", "agency", "kind", "media_type", "data"), CASES)
def test_the_agency_that_wants_the_document_waits_for_it_then_checks_it(
    gateway: Callable[..., RunningGateway],
    signed_sample: Callable[..., bytes],
    pki: DevPki,
    name: str,
    agency: str,
    kind: str,
    media_type: str,
    data: bytes,
) -> None:
    gw = gateway()
    entry = Entry(data, type=kind, number="CERT-E2E-1", media_type=media_type)
    RECEIVED.pop(entry.digest, None)  # the stand-ins live for the session: forget earlier runs
    application_id = gw.client.submit(signed_sample(name, edit=listing(entry)))["id"]

    def others_answered() -> dict[str, str] | None:
        cases = {c["agency"]: c["state"] for c in gw.client.status(application_id)["cases"]}
        others = [state for code, state in cases.items() if code != agency]
        return cases if "queued" not in others else None

    cases = wait_until(others_answered, 60, "the agencies that want no document answer")
    assert cases[agency] == "queued"  # waiting for the document, visibly
    status = gw.client.status(application_id)
    assert [(d["sha256"], d["uploaded"], d["wanted_by"]) for d in status["documents"]] == [
        (entry.digest, False, [agency])
    ]
    assert any(
        line.split()[:2] == [agency, "queued"] and "waiting for the upload of" in line
        for line in status_lines(status)
    )
    assert entry.digest not in RECEIVED

    uploaded = gw.client.attach(application_id, data)
    assert uploaded["uploaded"] is True
    gw.client.wait_for_decision(application_id, deadline_s=60)
    assert RECEIVED[entry.digest] == data  # the stand-in checked the digest and kept the bytes

    bundle = gw.services.auditor.bundle(application_id)
    requests = [e for e in bundle["entries"] if e["kind"] == "agency-request"]
    assert len(requests) == len(cases)
    checks = verify_bundle(
        bundle, load_certificates(pki.directory / "root-ca.pem"), pki.certificate("gateway")
    )
    assert [c.line() for c in checks if not c.ok] == []
    assert any(c.ok and "equals an entry" in c.check for c in checks)
