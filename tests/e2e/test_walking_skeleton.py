"""The whole path through real sockets: signed application -> agencies -> one signed decision."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from gateway.clock import system_clock
from gateway.pki.dev import DevPki
from gateway.trust.certificates import TrustStore
from gateway.trust.xmlparse import parse_xml
from gateway.trust.xmlsig import verify_enveloped
from tests.gateway_fixtures import RunningGateway

DEC = "{urn:kz:nsw:decision:1}"


@pytest.mark.parametrize(
    ("sample", "verdict", "states"),
    [
        (
            "fresh-apples-import",
            "granted",  # customs charges duty and VAT: released once paid
            {
                "customs": "granted",
                "transport": "granted",
                "police": "granted",
                "phytosanitary": "granted",
                "health": "granted",
            },
        ),
        (
            "chilled-lamb-import",
            "granted",  # customs charges duty and VAT: released once paid
            {
                "customs": "granted",
                "transport": "granted",
                "police": "granted",
                "veterinary": "granted",
                "health": "granted",
            },
        ),
        (
            "live-cattle-import",
            "refused",
            {
                "customs": "granted",
                "transport": "granted",
                "police": "granted",
                "veterinary": "refused",
            },
        ),
        (
            "overweight-machinery-transit",
            "inspection",
            {"customs": "granted", "transport": "inspection", "police": "inspection"},
        ),
    ],
)
def test_sample_reaches_its_signed_decision(
    gateway: Callable[..., RunningGateway],
    signed_sample: Callable[..., bytes],
    pki: DevPki,
    sample: str,
    verdict: str,
    states: dict[str, str],
) -> None:
    gw = gateway()
    accepted = gw.client.submit(signed_sample(sample))

    xml = gw.client.wait_for_decision(accepted["id"], deadline_s=60)

    # The decision verifies under the same policy the gateway applies to traders, with the gateway's
    # certificate, and carries the SHA-256 of the exact application bytes received.
    verified = verify_enveloped(
        parse_xml(xml), TrustStore.from_directory(pki.directory, system_clock), now=system_clock()
    )
    assert "NSW Gateway" in verified.signer.subject
    assert verified.signed.findtext(f"{DEC}Outcome") == verdict
    status = gw.client.status(accepted["id"])
    assert verified.signed.findtext(f"{DEC}ApplicationSHA256") == status["application_sha256"]
    assert status["status"] == "decided" and status["verdict"] == verdict
    assert {c["agency"]: c["state"] for c in status["cases"]} == states
    for case in status["cases"]:
        if case["state"] == "granted":
            assert case["permit_number"]

    # Every message is kept byte-exact: the application, each request and answer, the decision.
    kinds = [m.kind for m in gw.services.store.messages(accepted["id"])]
    assert kinds[0] == "application" and kinds[-1] == "decision"
    assert kinds.count("agency-request") == kinds.count("agency-answer") == len(states)


def test_refusal_reasons_reach_the_decision(
    gateway: Callable[..., RunningGateway], signed_sample: Callable[..., bytes]
) -> None:
    gw = gateway()
    accepted = gw.client.submit(signed_sample("live-cattle-import"))
    decision = parse_xml(gw.client.wait_for_decision(accepted["id"], deadline_s=60))
    case = decision.find(f"{DEC}Cases/{DEC}Case[@agency='veterinary']")
    assert case is not None and case.get("outcome") == "refused"
    reasons = case.findall(f"{DEC}Reason")
    assert reasons and all(r.get("code") for r in reasons)


def test_agency_without_endpoint_escalates_instead_of_losing_the_case(
    gateway: Callable[..., RunningGateway],
    agencies: dict[str, str],
    signed_sample: Callable[..., bytes],
) -> None:
    gw = gateway(max_attempts=2, agency_urls={**agencies, "customs": ""})
    accepted = gw.client.submit(signed_sample("overweight-machinery-transit"))

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        cases = {c["agency"]: c for c in gw.client.status(accepted["id"])["cases"]}
        if cases["customs"]["state"] == "escalated" and cases["transport"]["state"] == "inspection":
            break
        time.sleep(0.05)
    assert cases["customs"]["state"] == "escalated"
    assert "No endpoint" in cases["customs"]["last_error"]
    assert gw.client.decision(accepted["id"]) is None
