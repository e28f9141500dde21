"""Assessment (issue 20 item 1): the customs stand-in's answer carries structured charges, the case
keeps them and the signed decision lists them, each document valid against its contract."""

from __future__ import annotations

from collections.abc import Callable

from lxml import etree

from gateway.payments.charge_json import charge_lines
from gateway.resources import contracts_root
from gateway.trust.xmlparse import parse_xml
from tests.gateway_fixtures import RunningGateway

DEC = "{urn:kz:nsw:decision:1}"


def test_customs_charges_reach_the_case_and_the_signed_decision(
    gateway: Callable[..., RunningGateway], signed_sample: Callable[..., bytes]
) -> None:
    gw = gateway()
    accepted = gw.client.submit(signed_sample("fresh-apples-import"))
    xml = gw.client.wait_for_decision(accepted["id"], deadline_s=60)

    # The case keeps what customs assessed, in KZT minor units, with legal basis, due day and KBK.
    cases = {c["agency"]: c for c in gw.client.status(accepted["id"])["cases"]}
    charges = cases["customs"]["charges"]
    assert {c["kind"] for c in charges} == {"customs-duty", "vat", "agency-fee"}
    assert all(isinstance(c["amount"], int) and c["currency"] == "KZT" for c in charges)
    assert {c["kind"]: c["kbk"] for c in charges} == {
        "customs-duty": "106104",
        "vat": "105102",
        "agency-fee": "106201",
    }
    # Each passes the payments domain's checks (KBK, positive amount, legal basis, due day).
    lines = charge_lines([("customs", charges)])
    assert all(line.beneficiary == "customs" for line in lines)
    fee = next(c for c in charges if c["kind"] == "agency-fee")
    assert fee["amount"] == 19_000_00  # decree No. 171: 19 000 KZT for the declaration
    assert all(cases[a]["charges"] == [] for a in cases if a != "customs")

    # The signed decision lists them and is valid against decision.xsd.
    schema = etree.XMLSchema(
        etree.parse(str(contracts_root() / "wsdl" / "application" / "decision.xsd"))
    )
    decision = parse_xml(xml)
    schema.assertValid(decision)
    listed = decision.findall(f"{DEC}Cases/{DEC}Case[@agency='customs']/{DEC}Charge")
    assert sorted((c.get("kind"), int(c.get("amountMinor", "0"))) for c in listed) == sorted(
        (c["kind"], c["amount"]) for c in charges
    )
    assert all(c.text for c in listed)  # the legal basis


def test_no_charges_for_a_transit(
    gateway: Callable[..., RunningGateway], signed_sample: Callable[..., bytes]
) -> None:
    gw = gateway()
    accepted = gw.client.submit(signed_sample("overweight-machinery-transit"))
    gw.client.wait_for_decision(accepted["id"], deadline_s=60)
    cases = gw.client.status(accepted["id"])["cases"]
    assert all(c["charges"] == [] for c in cases)
