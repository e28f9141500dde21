"""Pure rules: gate findings from readings, the exit permit, time at the border, the contract."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from gateway.checkpoint.events import parse_position, parse_stage_event
from gateway.checkpoint.exit_permit import AppDecision, CaseView, OpenFinding, exit_verdict
from gateway.checkpoint.gate_rules import Declared, evaluate, load_gate_rules
from gateway.checkpoint.registry import STAGES
from gateway.checkpoint.timing import percentile, summarise, visit_timing
from gateway.pki.dev import DevPki, init_dev_pki, load_dev_pki
from gateway.pki.profiles import DEVICES
from gateway.resources import shipped
from simulators.schema_check import SchemaChecker
from tests.checkpoint.conftest import GOOD_READINGS

RULES = load_gate_rules(shipped("mappings") / "gate_rules.toml")
DECLARED = Declared(36200, 5)


def _rules(stage: str, **readings: object) -> set[str]:
    return {f.rule for f in evaluate(RULES, stage, GOOD_READINGS[stage] | readings, DECLARED)}


def test_good_readings_raise_nothing() -> None:
    for stage in STAGES:
        assert _rules(stage) == set()


def test_mass_tolerance_is_a_band_around_the_declared_mass() -> None:
    assert _rules("parameters", gross_mass_kg=37200) == set()  # +2.8 %
    assert _rules("parameters", gross_mass_kg=37400) == {"gross-mass-over-declared"}  # +3.3 %
    assert _rules("parameters", gross_mass_kg=34000) == {"gross-mass-over-declared"}  # -6 %
    # No notice: nothing declared to compare with, but the legal limit still applies.
    findings = evaluate(
        RULES, "parameters", GOOD_READINGS["parameters"] | {"gross_mass_kg": 39000}, None
    )
    assert {f.rule for f in findings} == {"gross-mass-over-limit"}


def test_axle_dimension_radiation_scanner_and_document_rules() -> None:
    assert _rules("parameters", axle_loads_kg=[6500, 10400, 7300, 7400, 4600]) == {
        "axle-load-over-limit"
    }
    assert _rules("parameters", height_m=4.2) == {"dimensions-over-limit"}
    assert _rules("radiation", alarm=True) == {"radiation-alarm"}
    assert _rules("radiation", dose_usv_h=0.35) == {"radiation-alarm"}  # > 2 x background
    assert _rules("scan", anomaly=True) == {"scanner-anomaly"}
    finding = evaluate(RULES, "documents", {"presented": ["invoice"]}, DECLARED)[0]
    assert (finding.agency, finding.lane, finding.detail) == (
        "customs",
        "documents",
        "Missing: cmr.",
    )


def test_exit_opens_only_when_released_every_stage_passed_and_no_finding() -> None:
    released = [AppDecision("A", "released", (CaseView("customs", "granted"),))]
    passed = set(STAGES[:-1])
    args: dict[str, Any] = dict(
        manual_reason=None, manual_lane="M1", stages_passed=passed, findings=[]
    )
    assert exit_verdict(**args, decisions=released).kind == "open"
    assert (
        exit_verdict(**args | {"stages_passed": passed - {"scan"}}, decisions=released).kind
        == "directed"
    )
    found = exit_verdict(**args | {"findings": [OpenFinding("transport", "transport-control", "x")]},
                         decisions=released)  # fmt: skip
    assert (found.kind, found.lane, found.agency) == ("directed", "transport-control", "transport")
    pending = [AppDecision("A", None, (CaseView("health", "pending"),))]
    assert exit_verdict(**args, decisions=pending).kind == "wait"
    held = [
        AppDecision(
            "A", "inspection", (CaseView("transport", "inspection", "transport-control: weigh"),)
        )
    ]
    verdict = exit_verdict(**args, decisions=held)
    assert (verdict.kind, verdict.lane, verdict.agency) == (
        "directed",
        "transport-control",
        "transport",
    )
    assert (
        exit_verdict(**args | {"manual_reason": "no notice"}, decisions=released).kind == "manual"
    )
    assert exit_verdict(**args, decisions=[]).kind == "manual"


def test_visit_timing_splits_stages_and_waiting() -> None:
    t0 = dt.datetime(2026, 11, 27, 6, 0, tzinfo=dt.UTC)
    times = {s: t0 + dt.timedelta(minutes=3 * i) for i, s in enumerate(STAGES[:-1])}
    timing = visit_timing(
        times, t0 + dt.timedelta(minutes=14), t0 + dt.timedelta(minutes=44), False
    )
    assert timing.total_s == 44 * 60 and timing.waiting_s == 30 * 60
    assert timing.stages_s == {
        "radiation": 180,
        "parameters": 180,
        "scan": 180,
        "documents": 180,
        "exit": 120,
    }
    report = summarise([timing])
    assert report.ready_on_arrival_share == 0 and report.total_min.p50 == 44
    assert percentile([1, 2, 3, 4], 50) == 2.5


def test_the_simulator_bodies_match_the_contract() -> None:
    contract = json.loads(
        (shipped("wsdl") / "checkpoint" / "device-events.openapi.json").read_text()
    )
    checker = SchemaChecker(contract)
    event = {"event_id": "ev-00000001", "checkpoint": "KZ-NURZHOLY", "stage": "scan", "lane": "L2",
             "plate": "123ABC02", "measured_at": "2026-11-27T06:00:00+00:00", "readings": {"anomaly": False}}  # fmt: skip
    assert checker.problems(event, {"$ref": "#/components/schemas/StageEvent"}) == []
    assert parse_stage_event(json.dumps(event).encode()).stage == "scan"
    fix = {"event_id": "gnss-0000001", "plate": "123ABC02", "at": "2026-11-27T06:00:00+00:00",
           "lat": 43.2, "lon": 76.9, "seal": "closed"}  # fmt: skip
    assert checker.problems(fix, {"$ref": "#/components/schemas/Position"}) == []
    assert parse_position(json.dumps(fix).encode()).seal == "closed"


def test_an_older_dev_pki_gets_the_missing_device_certificates(tmp_path: Path) -> None:
    pki = init_dev_pki(tmp_path / "pki")
    # Make it look like a PKI made before the devices existed.
    manifest = json.loads(pki.manifest_path.read_text())
    manifest["parties"] = [p for p in manifest["parties"] if p["role"] != "device"]
    pki.manifest_path.write_text(json.dumps(manifest))
    for spec in DEVICES:
        (pki.directory / f"{spec.slug}.pem").unlink()
        (pki.directory / f"{spec.slug}.key").unlink()
    before = {p["slug"]: p["sha256"] for p in manifest["parties"]}
    again = init_dev_pki(pki.directory)
    assert {p.slug for p in again.parties} == set(before) | {d.slug for d in DEVICES}
    assert {p.slug: p.sha256 for p in again.parties if p.slug in before} == before
    reloaded = load_dev_pki(pki.directory)
    device = reloaded.certificate("device-nurzholy-wim")
    device.verify_directly_issued_by(reloaded.certificate("issuing-ca"))
    shutil.rmtree(tmp_path / "pki")


@pytest.mark.parametrize("stage", STAGES)
def test_each_stage_has_a_device_at_nur_zholy(stage: str, pki: DevPki) -> None:
    from gateway.checkpoint.registry import load_registry

    registry = load_registry(shipped("mappings") / "checkpoints.toml", pki.directory)
    assert stage in registry.checkpoints["KZ-NURZHOLY"].devices


def test_exit_stays_shut_for_granted_but_unpaid_and_says_why() -> None:
    passed = set(STAGES[:-1])
    args: dict[str, Any] = dict(
        manual_reason=None, manual_lane="M1", stages_passed=passed, findings=[]
    )
    unpaid = [
        AppDecision("A", "released", (CaseView("customs", "granted"),)),
        AppDecision("B", "granted", (CaseView("customs", "granted"),)),
    ]
    verdict = exit_verdict(**args, decisions=unpaid)
    assert (verdict.kind, verdict.lane, verdict.agency) == (
        "directed",
        "customs-payment",
        "customs",
    )
    assert "B is granted but not released" in verdict.why and "payment-order" in verdict.why
