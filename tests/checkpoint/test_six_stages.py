"""Trucks through the six stages of the electronic checkpoint, over real sockets."""

from __future__ import annotations

import datetime as dt
from typing import Any

from gateway.clock import system_clock
from gateway.trust.certificates import TrustStore
from gateway.trust.xmlparse import parse_xml
from gateway.trust.xmlsig import verify_enveloped
from tests.checkpoint.conftest import Checkpoint, barrier_xml, fresh_plate

STAGES = ("entry", "radiation", "parameters", "scan", "documents")
BARRIER = "{urn:kz:nsw:barrier:1}"


def _through(cp: Checkpoint, plate: str, overrides: dict[str, dict[str, Any]] | None = None) -> list[dict[str, Any]]:  # fmt: skip
    answers = []
    for stage in STAGES:
        cp.clock.advance(minutes=2)
        response = cp.stage(stage, plate, readings=(overrides or {}).get(stage))
        assert response.status_code == 201, response.text
        answers.append(response.json())
    return answers


def _apples(cp: Checkpoint, plate: str = "123ABC02") -> str:
    application_id = cp.lodge("fresh-apples-import", fresh_plate(plate))
    assert cp.wait_decided(application_id)["verdict"] == "granted"  # customs charges are owed
    cp.pay(application_id)
    assert cp.notice(plate, [application_id]).status_code == 202
    return application_id


def test_released_truck_passes_six_stages_to_an_automatic_exit(checkpoint: Checkpoint) -> None:
    application_id = _apples(checkpoint)
    answers = _through(checkpoint, "123ABC02")
    assert answers[0]["decision_ready_on_arrival"] is True
    assert [a["status"] for a in answers] == ["passed"] * 5
    checkpoint.clock.advance(minutes=1)
    exit_answer = checkpoint.stage("exit", "123ABC02").json()
    assert exit_answer["status"] == "open-barrier"
    # The barrier command is signed by the gateway and names the vehicle and its application.
    trust = TrustStore.from_directory(checkpoint.pki.directory, system_clock)
    verified = verify_enveloped(parse_xml(barrier_xml(exit_answer)), trust, now=system_clock())
    assert (
        verified.signer.subject.endswith("CN=NSW Gateway")
        or "NSW Gateway" in verified.signer.subject
    )
    assert verified.signed.findtext(f"{BARRIER}Plate") == "123ABC02"
    assert verified.signed.findtext(f"{BARRIER}Kind") == "automatic"
    assert (
        verified.signed.findtext(f"{BARRIER}Applications/{BARRIER}ApplicationId") == application_id
    )
    # Notice, six events, their answers and the command are in the application's trail.
    kinds = [m.kind for m in checkpoint.services.store.messages(application_id)]
    assert kinds.count("device-event") == 6 and kinds.count("barrier-command") == 1
    assert "arrival-notice" in kinds
    # Time at the checkpoint is measured and split by stage.
    timing = checkpoint.officer("GET", "/timing").json()
    assert timing["vehicles"] == 1 and timing["ready_on_arrival_share"] == 1.0
    assert 8.9 < timing["time_at_checkpoint_min"]["p50"] < 9.1  # entry at 0, exit at 9 min
    # A second exit request after the barrier opened is a repeat; the visit is over.
    assert checkpoint.stage("exit", "123ABC02").status_code == 409


def test_overweight_truck_is_held_at_the_weighbridge_until_inspected(
    checkpoint: Checkpoint,
) -> None:
    application_id = _apples(checkpoint, "123ABC02")
    heavy = {"parameters": {"gross_mass_kg": 44900, "axle_loads_kg": [7000, 9400, 9400, 9500, 9600],
                            "length_m": 16.4, "width_m": 2.55, "height_m": 3.9}}  # fmt: skip
    answers = _through(checkpoint, "123ABC02", heavy)
    weighbridge = answers[2]
    assert weighbridge["status"] == "finding"
    assert weighbridge["direction"]["lane"] == "transport-control"
    assert {f["rule"] for f in weighbridge["findings"]} == {
        "gross-mass-over-declared",
        "gross-mass-over-limit",
    }
    # The finding joined the transport case and the decision was composed and signed again.
    app = checkpoint.status(application_id)
    transport = next(c for c in app["cases"] if c["agency"] == "transport")
    assert app["verdict"] == "inspection" and transport["state"] == "inspection"
    assert transport["inspection"].startswith("transport-control:")
    decision = checkpoint.services.store.decision_xml(application_id)
    assert decision is not None and b"<Outcome>inspection</Outcome>" in decision
    exit_answer = checkpoint.stage("exit", "123ABC02").json()
    assert exit_answer["status"] == "directed" and exit_answer["direction"]["agency"] == "transport"
    assert "barrier_command" not in exit_answer
    # The inspection clears the vehicle: the case is granted again, the decision released again.
    visit = exit_answer["visit"]
    for finding in ("F1", "F2"):
        result = checkpoint.officer("POST", f"/visits/{visit}/findings/{finding}/result",
                                    json={"officer": "Inspector A. Bekov", "cleared": True,
                                          "note": "reweighed on static scales: within permit"})  # fmt: skip
        assert result.status_code == 200, result.text
    assert checkpoint.status(application_id)["verdict"] == "released"
    checkpoint.clock.advance(minutes=30)
    assert checkpoint.stage("exit", "123ABC02").json()["status"] == "open-barrier"


def test_radiation_alarm_holds_the_vehicle_and_notifies_sanitary_quarantine(
    checkpoint: Checkpoint,
) -> None:
    # The machinery transit has no health case: the alarm brings the sanitary-quarantine service in.
    application_id = checkpoint.lodge("overweight-machinery-transit", fresh_plate("512KTC08"))
    checkpoint.wait_decided(application_id)
    assert checkpoint.notice("512KTC08", [application_id], declared_kg=41800).status_code == 202
    alarm = {"radiation": {"alarm": True, "dose_usv_h": 2.4, "background_usv_h": 0.1}}
    answers = _through(checkpoint, "512KTC08", alarm)
    assert answers[1]["status"] == "finding"
    assert answers[1]["direction"] == {
        "lane": "radiation-hold", "agency": "health",
        "why": "Radiation portal alarm: vehicle held; the sanitary-quarantine service is notified.",
    }  # fmt: skip
    health = next(c for c in checkpoint.status(application_id)["cases"] if c["agency"] == "health")
    assert health["state"] == "inspection"
    notified = [
        m for m in checkpoint.services.store.messages(application_id) if m.kind == "gate-finding"
    ]
    assert any(m.counterpart == "agency:health" for m in notified)
    exit_answer = checkpoint.stage("exit", "512KTC08").json()
    assert (
        exit_answer["status"] == "directed" and exit_answer["direction"]["lane"] == "radiation-hold"
    )


def test_no_notice_registers_the_vehicle_and_sends_it_to_the_manual_lane(
    checkpoint: Checkpoint,
) -> None:
    entry = checkpoint.stage("entry", "999ZZZ01").json()
    assert entry["status"] == "manual" and entry["lane"] == "M1"
    assert "No advance notice for vehicle 999ZZZ01" in entry["direction"]["why"]
    for stage in STAGES[1:]:
        assert checkpoint.stage(stage, "999ZZZ01", lane="M1").json()["status"] == "manual"
    exit_answer = checkpoint.stage("exit", "999ZZZ01", lane="M1").json()
    assert exit_answer["status"] == "manual" and "barrier_command" not in exit_answer
    # An officer clears it by hand: a separate action, recorded with who did it.
    cleared = checkpoint.officer("POST", f"/visits/{entry['visit']}/clearance",
                                 json={"officer": "Officer D. Nurlanov", "reason": "declared at the border"})  # fmt: skip
    assert cleared.status_code == 200
    command = parse_xml(barrier_xml(cleared.json()))
    assert command.findtext(f"{BARRIER}Kind") == "manual"
    assert command.findtext(f"{BARRIER}ClearedBy") == "Officer D. Nurlanov"
    visit = checkpoint.officer("GET", f"/visits/{entry['visit']}").json()
    assert visit["exit_kind"] == "manual" and visit["cleared_by"] == "Officer D. Nurlanov"
    assert checkpoint.officer("POST", f"/visits/{entry['visit']}/clearance",
                              json={"officer": "Someone"}).status_code == 409  # fmt: skip


def test_the_exit_waits_while_the_decision_is_not_ready(checkpoint: Checkpoint) -> None:
    application_id = _apples(checkpoint)
    # Pretend the decision is not made yet by routing one more case that is still queued.
    from gateway.storage.models import CaseRow

    with checkpoint.services.store.transaction() as s:
        s.add(CaseRow(id=f"{application_id}-extra", application_id=application_id, position=9,
                      agency="extra", state="pending", reasons="[]", conditions="[]", extra="{}",
                      attempts=0, updated_at=dt.datetime.now(dt.UTC)))  # fmt: skip
        from gateway.storage.models import ApplicationRow

        s.get_one(ApplicationRow, application_id).status = "in_progress"
    _through(checkpoint, "123ABC02")
    waiting = checkpoint.stage("exit", "123ABC02").json()
    assert waiting["status"] == "wait" and "extra" in waiting["direction"]["why"]
