"""Bad input at the gate: each gets a clear error (or an alert) and changes nothing it should not."""

from __future__ import annotations

import json

import pytest
import requests

from gateway.trust.http_signatures import TRADER_TAG
from tests.checkpoint.conftest import Checkpoint, fresh_plate


def _problem(response: requests.Response) -> str:
    body = response.json()
    return str(body["type"]).rsplit(":", 1)[-1]


@pytest.fixture
def entered(checkpoint: Checkpoint) -> Checkpoint:
    application_id = checkpoint.lodge("fresh-apples-import", fresh_plate("123ABC02"))
    checkpoint.wait_decided(application_id)
    assert checkpoint.notice("123ABC02", [application_id]).status_code == 202
    assert checkpoint.stage("entry", "123ABC02").status_code == 201
    return checkpoint


def test_unsigned_event_is_refused_and_changes_nothing(entered: Checkpoint) -> None:
    before = entered.trail_size()
    response = entered.device("device-nurzholy-radiation").event(
        "radiation", "123ABC02", sign=False
    )
    assert response.status_code == 401 and _problem(response) == "unauthenticated"
    assert response.json()["detail"].startswith("This event is not signed")
    assert entered.trail_size() == before


def test_a_body_changed_after_signing_is_refused(entered: Checkpoint) -> None:
    before = entered.trail_size()
    device = entered.device("device-nurzholy-radiation")
    response = device.event("radiation", "123ABC02",
                            tamper=lambda b: b.replace(b'"alarm": false', b'"alarm": true'))  # fmt: skip
    assert response.status_code == 401 and "does not verify" in response.json()["detail"]
    assert entered.trail_size() == before


def test_a_signature_by_another_key_under_the_device_keyid_is_refused(entered: Checkpoint) -> None:
    impostor = entered.device("device-nurzholy-xray")
    impostor.keyid = entered.device("device-nurzholy-radiation").keyid
    response = impostor.event("radiation", "123ABC02")
    assert response.status_code == 401 and "does not verify" in response.json()["detail"]


def test_an_event_signed_with_the_trader_tag_is_refused(entered: Checkpoint) -> None:
    """A device signs with tag "nsw-device"; a signature made for a trader's read (tag
    "nsw-trader") is not accepted as an event, even by the device's own key."""
    before = entered.trail_size()
    device = entered.device("device-nurzholy-radiation")
    response = device.event("radiation", "123ABC02", event_id="radiation-tag-0001", tag=TRADER_TAG)
    assert response.status_code == 401 and _problem(response) == "unauthenticated"
    assert 'tag="nsw-trader", made for another purpose' in response.json()["detail"]
    assert entered.trail_size() == before
    # Nothing was taken: the same event signed as a device is accepted.
    accepted = device.event("radiation", "123ABC02", event_id="radiation-tag-0001")
    assert accepted.status_code == 201 and accepted.json()["status"] == "passed"


@pytest.mark.parametrize(
    ("slug", "certificate_problem", "fact"),
    [("device-revoked", "revoked-certificate", "revoked_at"),
     ("device-expired", "expired-certificate", "not_after")],
)  # fmt: skip
def test_a_device_with_a_revoked_or_expired_certificate_is_refused_and_changes_nothing(
    checkpoint: Checkpoint, slug: str, certificate_problem: str, fact: str
) -> None:
    """The device is bound to the radiation stage (its key is known), but the trust store refuses
    its certificate: a 401 problem naming why, and the alarm it reports is not believed."""
    application_id = checkpoint.lodge("fresh-apples-import", fresh_plate("123ABC02"))
    assert checkpoint.notice("123ABC02", [application_id]).status_code == 202
    visit_id = checkpoint.stage("entry", "123ABC02").json()["visit"]
    checkpoint.bind(slug, "radiation")
    visit, trail = checkpoint.officer("GET", f"/visits/{visit_id}").json(), checkpoint.trail_size()
    alarm = {"alarm": True, "dose_usv_h": 9.5, "background_usv_h": 0.1}
    response = checkpoint.device(slug).event(
        "radiation", "123ABC02", event_id="radiation-retired-1", readings=alarm
    )
    assert response.status_code == 401 and _problem(response) == "device-certificate-refused"
    problem = response.json()
    assert problem["device"] == slug and problem["certificate_problem"] == certificate_problem
    assert fact in problem and problem["detail"].startswith(f"The certificate of device {slug}")
    assert ("revoked" if "revoked" in slug else "expired") in problem["detail"]
    # Nothing changed: the visit, the trail, the application's cases.
    assert checkpoint.officer("GET", f"/visits/{visit_id}").json() == visit
    assert checkpoint.trail_size() == trail
    assert "inspection" not in {c["state"] for c in checkpoint.status(application_id)["cases"]}
    # Neither the event id nor the stage was taken: the bound, trusted device reports them.
    accepted = checkpoint.stage("radiation", "123ABC02", event_id="radiation-retired-1")
    assert accepted.status_code == 201 and accepted.json()["status"] == "passed"


def test_an_unknown_device_is_refused(entered: Checkpoint) -> None:
    trader = entered.device("trader-altyn")  # a valid certificate, but no registered device
    response = trader.event("radiation", "123ABC02")
    assert response.status_code == 401 and _problem(response) == "unknown-device"


def test_a_device_may_report_only_its_own_stage(entered: Checkpoint) -> None:
    response = entered.device("device-nurzholy-xray").event("radiation", "123ABC02")
    assert response.status_code == 403 and _problem(response) == "device-not-for-this"


def test_stages_out_of_order_are_refused(entered: Checkpoint) -> None:
    before = entered.trail_size()
    response = entered.stage("scan", "123ABC02")
    assert response.status_code == 409 and _problem(response) == "stage-out-of-order"
    assert "radiation, parameters" in response.json()["detail"]
    response = entered.stage("radiation", "777NOPE1")
    assert response.status_code == 409 and "no entry registration" in response.json()["detail"]
    assert entered.trail_size() == before


def test_a_repeated_stage_is_refused_but_a_repeated_event_is_idempotent(
    entered: Checkpoint,
) -> None:
    device = entered.device("device-nurzholy-radiation")
    body = json.dumps({"event_id": "radiation-0001", "checkpoint": "KZ-NURZHOLY",
                       "stage": "radiation", "lane": "L1", "plate": "123ABC02",
                       "measured_at": entered.clock().isoformat(),
                       "readings": {"alarm": False, "dose_usv_h": 0.1, "background_usv_h": 0.1}}).encode()  # fmt: skip
    first = device.post("/api/v1/checkpoint/events", body)
    assert first.status_code == 201
    size = entered.trail_size()
    # The same event sent again (signed afresh): the first answer, nothing new in the trail.
    again = device.post("/api/v1/checkpoint/events", body)
    assert again.status_code == 200 and again.json() == first.json()
    assert entered.trail_size() == size
    # A new reading of a stage already passed is a repeat.
    repeat = entered.stage("radiation", "123ABC02")
    assert repeat.status_code == 409 and _problem(repeat) == "stage-repeated"
    # Reusing an event id for different content is refused.
    other = entered.stage("parameters", "123ABC02", event_id="radiation-0001")
    assert other.status_code in (403, 409)
    reused = entered.device("device-nurzholy-radiation").event(
        "radiation", "123ABC02", event_id="radiation-0001",
        readings={"alarm": True, "dose_usv_h": 9.0, "background_usv_h": 0.1},
    )  # fmt: skip
    assert reused.status_code == 409 and _problem(reused) == "event-id-reused"
    assert entered.trail_size() == size


def test_a_replayed_signed_request_is_refused(entered: Checkpoint) -> None:
    device = entered.device("device-nurzholy-radiation")
    assert device.event("radiation", "123ABC02", nonce="fixed-nonce-123456").status_code == 201
    replay = device.event("radiation", "123ABC02", nonce="fixed-nonce-123456")
    assert replay.status_code == 401 and _problem(replay) == "replayed-request"


def test_an_entry_twice_is_a_repeat(entered: Checkpoint) -> None:
    response = entered.stage("entry", "123ABC02")
    assert response.status_code == 409 and "already registered" in response.json()["detail"]


def test_readings_from_the_future_or_off_contract_are_refused(checkpoint: Checkpoint) -> None:
    device = checkpoint.device("device-nurzholy-anpr")
    body = {"event_id": "entry-future-1", "checkpoint": "KZ-NURZHOLY", "stage": "entry",
            "lane": "L1", "plate": "123ABC02", "measured_at": "2099-01-01T00:00:00+00:00",
            "readings": {}}  # fmt: skip
    response = device.post("/api/v1/checkpoint/events", json.dumps(body).encode())
    assert response.status_code == 422 and "clock" in response.json()["detail"]
    body |= {"measured_at": checkpoint.clock().isoformat(), "readings": {"colour": "red"}}
    response = device.post("/api/v1/checkpoint/events", json.dumps(body).encode())
    assert response.status_code == 422 and "colour" in response.json()["detail"]
    body |= {"readings": {}, "lane": "L9"}
    response = device.post("/api/v1/checkpoint/events", json.dumps(body).encode())
    assert response.status_code == 422 and "no lane L9" in response.json()["detail"]


def test_one_plate_matching_two_notices_goes_to_the_manual_lane(checkpoint: Checkpoint) -> None:
    first = checkpoint.lodge("fresh-apples-import", fresh_plate("123ABC02"))
    second = checkpoint.lodge("fresh-apples-import", fresh_plate("123ABC02"))
    a = checkpoint.notice("123ABC02", [first]).json()["id"]
    b = checkpoint.notice("123ABC02", [second]).json()["id"]
    entry = checkpoint.stage("entry", "123ABC02").json()
    assert entry["status"] == "manual" and entry["notice"] is None
    assert "matches 2 active notices" in entry["direction"]["why"]
    assert a in entry["direction"]["why"] and b in entry["direction"]["why"]
    # Neither application's cases were touched.
    for application_id in (first, second):
        kinds = [m.kind for m in checkpoint.services.store.messages(application_id)]
        assert "device-event" not in kinds and "gate-finding" not in kinds
