"""Assessment (issue 20 item 1): the customs stand-in's answer carries structured charges, the case
keeps them and the signed decision lists them, each document valid against its contract."""

from __future__ import annotations

from collections.abc import Callable

from lxml import etree

from gateway.billing.permits import PermitBook
from gateway.clock import system_clock
from gateway.payments.charge_json import charge_lines
from gateway.resources import contracts_root
from gateway.storage.permits import PermitStore
from gateway.trust.xmlparse import parse_xml
from tests.gateway_fixtures import RunningGateway
from tests.payments.conftest import Paying

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
    # Health's sanitary permit fee is the only other charge (a REST agency, see the next test).
    others = {a: c["charges"] for a, c in cases.items() if a != "customs" and c["charges"]}
    assert list(others) == ["health"]

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


def test_rest_agencies_fees_reach_the_decision_and_the_order_breakdown(
    paying_gateway: Callable[..., Paying], signed_sample: Callable[..., bytes]
) -> None:
    paying = paying_gateway()
    accepted = paying.client.submit(signed_sample("chilled-lamb-import"))
    xml = paying.client.wait_for_decision(accepted["id"], deadline_s=60)

    # The veterinary and health stand-ins (REST, JSON) answer with a fee each, in whole tiyn,
    # with its legal basis and due day; the case keeps it as customs' charges are kept.
    cases = {c["agency"]: c for c in paying.client.status(accepted["id"])["cases"]}
    for agency in ("veterinary", "health"):
        (fee,) = cases[agency]["charges"]
        assert fee["kind"] == "agency-fee" and fee["currency"] == "KZT"
        assert isinstance(fee["amount"], int) and fee["amount"] > 0
        assert "illustrative" in fee["legalBasis"] and fee["due"]
        assert fee["kbk"] is None  # no KBK for these fees is confirmed (reference row 11, R)

    # The signed decision lists them under their agency's case.
    decision = parse_xml(xml)
    for agency in ("veterinary", "health"):
        listed = decision.findall(f"{DEC}Cases/{DEC}Case[@agency='{agency}']/{DEC}Charge")
        assert [int(c.get("amountMinor", "0")) for c in listed] == [
            cases[agency]["charges"][0]["amount"]
        ]

    # The one payment order's breakdown names each beneficiary with what it is owed.
    order = paying.client.payment_order(accepted["id"])["order"]
    breakdown = {b["beneficiary"]: b["amount"] for b in order["breakdown"]}
    assert set(breakdown) == {"customs", "health", "veterinary"}
    for agency in ("veterinary", "health"):
        assert breakdown[agency] == cases[agency]["charges"][0]["amount"]
    assert sum(breakdown.values()) == order["total"]
    fee_lines = [line for line in order["lines"] if line["beneficiary"] != "customs"]
    assert {line["beneficiary"] for line in fee_lines} == {"health", "veterinary"}


def test_health_grants_a_sanitary_permit_with_a_balance_to_the_importer(
    gateway: Callable[..., RunningGateway], signed_sample: Callable[..., bytes]
) -> None:
    gw = gateway()
    # Fruit juice (2009): food that only the sanitary service controls, so its permit is the one
    # the item draws on (apples themselves draw on the phytosanitary permit: no health permit).
    juice = signed_sample(
        "fresh-apples-import",
        edit=lambda raw: raw.replace(
            b"<HSCode>0808108000</HSCode>", b"<HSCode>2009710000</HSCode>"
        ),
    )
    accepted = gw.client.submit(juice)
    gw.client.wait_for_decision(accepted["id"], deadline_s=60)
    cases = {c["agency"]: c for c in gw.client.status(accepted["id"])["cases"]}
    assert "phytosanitary" not in cases
    health = cases["health"]
    assert health["state"] == "granted" and health["permit_number"].startswith("KZ-SEC")

    # Stored like the veterinary and phytosanitary permits: the importer (consignee) holds it,
    # for the apples' HS code, twice the consignment's net mass in kg (simulator data).
    book = PermitBook(PermitStore(gw.services.store.engine, system_clock), system_clock)
    shown = book.show(health["permit_number"])
    assert (shown["agency"], shown["holder"], shown["goods"]["hsCode"]) == (
        "health", "210540012341", "2009710000",
    )  # fmt: skip
    assert (shown["granted"], shown["unit"], shown["state"]) == ("39600.000", "kg", "valid")
