"""An application's life after lodging through the stand-in agencies (issue 19): a withdrawal
cancels every open case at its stand-in and the permits with it; an amendment is sent only to the
agencies it concerns, and a new decision version names the one it replaces."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pytest
from lxml import etree

from gateway.checkpoint.exit_permit import AppDecision, exit_verdict
from gateway.checkpoint.registry import STAGES
from gateway.resources import shipped
from gateway.trail.verify import verify_bundle
from gateway.trust.certificates import load_certificates
from gateway.trust.xmlparse import parse_xml
from tests.gateway_fixtures import AGENCY_CODES, RunningGateway
from tests.lifecycle_documents import amends, withdrawal
from tests.polling import wait_until
from tests.trader_requests import identity

DEC = "{urn:kz:nsw:decision:1}"


def _valid_decision(xml: bytes) -> Any:
    """The decision, checked against wsdl/application/decision.xsd (Version, Replaces, withdrawn)."""
    schema = etree.XMLSchema(etree.parse(str(shipped("wsdl") / "application" / "decision.xsd")))
    decision = parse_xml(xml)
    schema.assertValid(decision)
    return decision


def _evidence_verifies(gw: RunningGateway, pki: Any, application_id: str) -> None:
    """The application's evidence bundle, amendments and withdrawal included, verifies offline."""
    checks = verify_bundle(
        gw.services.auditor.bundle(application_id),
        load_certificates(pki.directory / "root-ca.pem"),
        load_certificates(pki.directory / "gateway.pem")[0],
    )
    assert [c.line() for c in checks if not c.ok] == []


@pytest.fixture
def standins(own_agency: Callable[..., Any]) -> dict[str, Any]:
    """A stand-in of every agency for this test alone: their case books start empty."""
    return {code: own_agency(code) for code in AGENCY_CODES}


@pytest.fixture
def gw(gateway: Callable[..., RunningGateway], standins: dict[str, Any]) -> RunningGateway:
    return gateway(agency_urls={code: s.url for code, s in standins.items()})


def test_a_withdrawal_cancels_each_open_case_at_its_standin_and_the_exit_refuses_it(
    gw: RunningGateway, standins: dict[str, Any], signed_sample: Callable[..., bytes], pki: Any
) -> None:
    lodged = gw.client.submit(signed_sample("fresh-apples-import"))
    first = gw.client.wait_for_decision(lodged["id"], deadline_s=60)
    granted = {c["agency"]: c["permit_number"] for c in gw.client.status(lodged["id"])["cases"]}

    answer = gw.client.withdraw(
        lodged["id"], withdrawal(identity(pki, "trader-steppe"), lodged["id"], "no-longer-shipping")
    )
    assert sorted(answer["cancelling"]) == sorted(lodged["agencies"])

    # Each stand-in was asked through its own contract's cancel operation and cancelled the
    # permit it had issued; the gateway records each acknowledgement.
    def all_cancelled() -> bool:
        cases = gw.client.status(lodged["id"])["cases"]
        return all(c["state"] == "cancelled" for c in cases)

    wait_until(all_cancelled, 60, "every case cancelled at its agency")
    for agency in lodged["agencies"]:
        record = standins[agency].cases.get(f"{lodged['id']}-{agency}")
        assert record.cancelled and record.reason == "no-longer-shipping", agency
        assert record.cancelled_permit == granted[agency], agency
    status = gw.client.status(lodged["id"])
    assert {p["permit_number"] for p in status["permit_history"]} == {
        p for p in granted.values() if p
    }
    assert {p["state"] for p in status["permit_history"]} == {"cancelled"}

    # The signed withdrawn decision is version 2 and names the one it replaces.
    decision = _valid_decision(gw.client.decision(lodged["id"]) or b"")
    assert decision.findtext(f"{DEC}Outcome") == "withdrawn"
    assert decision.findtext(f"{DEC}Version") == "2"
    replaces = decision.find(f"{DEC}Replaces")
    assert replaces is not None and replaces.get("version") == "1"
    assert replaces.get("sha256") == hashlib.sha256(first).hexdigest()

    # The gate reads the latest decision: the exit refuses the application, saying why.
    verdict = exit_verdict(
        manual_reason=None, manual_lane="manual", stages_passed=set(STAGES),
        findings=[], decisions=[AppDecision(lodged["id"], status["verdict"])],
    )  # fmt: skip
    assert verdict.kind == "directed" and "withdrawn" in verdict.why
    _evidence_verifies(gw, pki, lodged["id"])


def test_an_amendment_reaches_only_the_agencies_it_concerns(
    gw: RunningGateway, standins: dict[str, Any], signed_sample: Callable[..., bytes], pki: Any
) -> None:
    sample = "overweight-machinery-transit"  # customs, transport, police; held for inspection
    lodged = gw.client.submit(signed_sample(sample))
    first = gw.client.wait_for_decision(lodged["id"], deadline_s=60)
    before = {c["agency"]: c for c in gw.client.status(lodged["id"])["cases"]}

    # A corrected quantity: customs re-checks it; transport and the police do not look again.
    answer = gw.client.amend(
        lodged["id"],
        signed_sample(sample, edit=amends(lodged["id"], lodged["application_sha256"], 1,
                                          quantity="11")),
    )  # fmt: skip
    assert answer["version"] == 2
    assert answer["agencies"]["reopened"] == ["customs"]
    assert answer["agencies"]["untouched"] == ["transport", "police"]

    def redecided() -> bytes | None:
        xml = gw.client.decision(lodged["id"])
        return xml if xml is not None and xml != first else None

    second = _valid_decision(wait_until(redecided, 60, "the new decision version"))
    assert second.findtext(f"{DEC}Version") == "2"
    replaces = second.find(f"{DEC}Replaces")
    assert replaces is not None and replaces.get("sha256") == hashlib.sha256(first).hexdigest()
    assert second.findtext(f"{DEC}Outcome") == "inspection"  # transport's inspection stands

    case_id = f"{lodged['id']}-customs"
    assert ("amend", case_id, 2) in standins["customs"].cases.log
    for agency in ("transport", "police"):
        assert [op for op, *_ in standins[agency].cases.log] == ["request"], agency
    status = gw.client.status(lodged["id"])
    after = {c["agency"]: c for c in status["cases"]}
    assert after["transport"] == before["transport"] and after["police"] == before["police"]
    superseded = [p for p in status["permit_history"] if p["state"] == "superseded"]
    assert [p["permit_number"] for p in superseded] == [before["customs"]["permit_number"]]
    assert after["customs"]["permit_number"] != before["customs"]["permit_number"]
    assert standins["customs"].cases.get(case_id).superseded == [before["customs"]["permit_number"]]
    assert [v["version"] for v in status["versions"]] == [1, 2]
    _evidence_verifies(gw, pki, lodged["id"])
