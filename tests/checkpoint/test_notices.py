"""Advance notices through the trusted intake: schema, signature, signer bound to the carrier."""

from __future__ import annotations

import requests

from tests.checkpoint.conftest import Checkpoint, fresh_plate


def _type(response: requests.Response) -> str:
    return str(response.json()["type"]).rsplit(":", 1)[-1]


def test_amended_notice_supersedes_the_earlier_and_both_stay_in_the_trail(
    checkpoint: Checkpoint,
) -> None:
    application_id = checkpoint.lodge("fresh-apples-import", fresh_plate("123ABC02"))
    first = checkpoint.notice("123ABC02", [application_id], reference="PAN-KTC-1")
    assert first.status_code == 202 and first.json()["supersedes"] is None
    amended = checkpoint.notice("123ABC02", [application_id], reference="PAN-KTC-1", version=2,
                                declared_kg=36800)  # fmt: skip
    assert amended.status_code == 202 and amended.json()["supersedes"] == first.json()["id"]
    notices = [
        m for m in checkpoint.services.store.messages(application_id) if m.kind == "arrival-notice"
    ]
    assert len(notices) == 2
    # The vehicle joins the amended notice only (the superseded one is not a second match).
    entry = checkpoint.stage("entry", "123ABC02").json()
    assert entry["status"] == "passed" and entry["notice"] == amended.json()["id"]
    # An older or equal version is refused.
    stale = checkpoint.notice("123ABC02", [application_id], reference="PAN-KTC-1", version=2)
    assert stale.status_code == 409 and _type(stale) == "notice-conflict"


def test_the_signer_must_be_the_carrier_or_the_declarant(checkpoint: Checkpoint) -> None:
    application_id = checkpoint.lodge("fresh-apples-import", fresh_plate("123ABC02"))
    before = checkpoint.trail_size()
    other = checkpoint.notice("123ABC02", [application_id], signer="trader-altyn")
    assert other.status_code == 403 and _type(other) == "signer-not-carrier"
    assert checkpoint.trail_size() == before
    # The declarant of every listed application may notify for its carrier.
    assert (
        checkpoint.notice("123ABC02", [application_id], signer="trader-steppe").status_code == 202
    )


def test_unknown_applications_and_checkpoints_are_refused(checkpoint: Checkpoint) -> None:
    response = checkpoint.notice("123ABC02", ["NSW-20260101-ABCDEF0123"])
    assert response.status_code == 422 and _type(response) == "unknown-application"


def test_an_unsigned_or_tampered_notice_is_refused(checkpoint: Checkpoint) -> None:
    from tests.checkpoint.conftest import notice_xml

    application_id = checkpoint.lodge("fresh-apples-import", fresh_plate("123ABC02"))
    body = notice_xml("123ABC02", [application_id], reference="PAN-X", version=1, declared_kg=1,
                      axles=5, transit=None, carrier_bin="181240044780", arrival=checkpoint.clock())  # fmt: skip
    response = requests.post(f"{checkpoint.url}/api/v1/checkpoint/notices", data=body,
                             headers={"Content-Type": "application/xml"}, timeout=30)  # fmt: skip
    assert response.status_code == 422 and _type(response) == "bad-signature"
    signed = checkpoint.notice("123ABC02", [application_id]).request.body
    assert isinstance(signed, bytes)
    tampered = signed.replace(b"<Axles>5</Axles>", b"<Axles>2</Axles>")
    response = requests.post(f"{checkpoint.url}/api/v1/checkpoint/notices", data=tampered,
                             headers={"Content-Type": "application/xml"}, timeout=30)  # fmt: skip
    assert response.status_code == 422 and _type(response) == "bad-signature"


def test_the_same_signed_notice_twice_is_idempotent(checkpoint: Checkpoint) -> None:
    import requests

    application_id = checkpoint.lodge("fresh-apples-import", fresh_plate("123ABC02"))
    first = checkpoint.notice("123ABC02", [application_id])
    size = checkpoint.trail_size()
    again = requests.post(f"{checkpoint.url}/api/v1/checkpoint/notices", data=first.request.body,
                          headers={"Content-Type": "application/xml"}, timeout=30)  # fmt: skip
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert checkpoint.trail_size() == size
