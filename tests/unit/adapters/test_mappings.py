"""The agency mappings as data: XSLT and JSON request mappings, answer mappings, the safe parser."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lxml import etree

from adapters.answer_mapping import AnswerMapping, JsonReader, XmlReader
from adapters.base import Outcome
from adapters.errors import MalformedAnswer, MappingFailed
from adapters.json_mapping import JsonMapping
from adapters.xslt_mapping import XsltMapping
from gateway.errors import ForbiddenXmlConstruct
from gateway.trust.xmlparse import parse_xml
from wire.xmlparse import XmlRefused, parse_untrusted
from wire.xsd import XsdValidator

ROOT = Path(__file__).resolve().parents[3]
MAPPINGS = ROOT / "mappings" / "agencies"
CUS = "{urn:kz:kgd:customs:declaration:1}"
PHY = "{urn:kz:moa:phyto:1}"
RSM = "{urn:un:unece:uncefact:data:standard:SPSCertificate:17}"
RAM = "{urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:21}"
PARAMS = {"case-id": "case-1", "application-id": "app-1", "callback-url": ""}
SIGNATURE = (
    b'<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo/>'
    b"<ds:SignatureValue>AAAA</ds:SignatureValue></ds:Signature></Application>"
)


def application(name: str, signed: bool = False) -> etree._Element:
    raw = (ROOT / "samples" / f"{name}.xml").read_bytes()
    if signed:  # an enveloped signature as the last child, as intake delivers it
        raw = raw.replace(b"</Application>", SIGNATURE)
    return parse_untrusted(raw)


def xslt(code: str) -> XsltMapping:
    return XsltMapping(MAPPINGS / code / "request.xslt")


def schema(code: str) -> XsdValidator:
    return XsdValidator(ROOT / "wsdl" / code / f"{code}.xsd")


# ----- XSLT (SOAP agencies) -----


@pytest.mark.parametrize("code", ["customs", "phytosanitary"])
@pytest.mark.parametrize(
    "name",
    [
        "fresh-apples-import",
        "chilled-lamb-import",
        "live-cattle-import",
        "overweight-machinery-transit",
    ],
)
def test_xslt_output_is_valid_and_ignores_the_signature(code, name) -> None:  # type: ignore[no-untyped-def]
    plain = xslt(code).render(application(name), PARAMS)
    signed = xslt(code).render(application(name, signed=True), PARAMS)
    assert schema(code).errors(plain) == []
    assert etree.tostring(plain) == etree.tostring(signed)
    assert b"Signature" not in etree.tostring(signed)


def test_customs_request_fields() -> None:
    out = xslt("customs").render(application("overweight-machinery-transit"), PARAMS)
    assert out.tag == f"{CUS}RegisterDeclarationRequest"
    assert out.findtext(f"{CUS}CaseId") == "case-1"
    assert out.findtext(f"{CUS}ApplicationId") == "app-1"
    assert out.find(f"{CUS}CallbackUrl") is None  # empty parameter: left out
    assert out.findtext(f"{CUS}ProcedureCode") == "TT80"
    item = out.find(f"{CUS}Goods/{CUS}Item")
    assert item is not None
    assert item.findtext(f"{CUS}CommodityCode") == "8431490000"
    value = item.find(f"{CUS}CustomsValue")
    assert value is not None and (value.text, value.get("currency")) == ("212000.00", "USD")
    # The declarant is named only when the application names it (here it is the carrier only).
    assert out.find(f"{CUS}Declarant/{CUS}Name") is None


def test_phytosanitary_request_is_the_consignment_as_an_sps_certificate() -> None:
    out = xslt("phytosanitary").render(application("fresh-apples-import"), PARAMS)
    assert out.tag == f"{PHY}CheckConsignmentRequest"
    doc = out.find(f"{RSM}SPSCertificate/{RSM}SPSExchangedDocument")
    assert doc is not None
    # The certificate the trader quotes, not the invoice or the CMR.
    assert doc.findtext(f"{RAM}ID") == "CN-PHYTO-650000-2026-08812"
    assert (doc.findtext(f"{RAM}TypeCode"), doc.findtext(f"{RAM}StatusCode")) == ("851", "70")
    consignment = out.find(f"{RSM}SPSCertificate/{RSM}SPSConsignment")
    assert consignment is not None
    assert consignment.findtext(f"{RAM}ConsigneeSPSParty/{RAM}Name") == "Steppe Agro LLP"
    assert consignment.findtext(f"{RAM}ImportSPSCountry/{RAM}ID") == "KZ"
    assert consignment.findtext(f"{RAM}MainCarriageSPSTransportMovement/{RAM}ModeCode") == "3"
    line = consignment.find(f"{RAM}IncludedSPSConsignmentItem/{RAM}IncludedSPSTradeLineItem")
    assert line is not None
    assert line.findtext(f"{RAM}ApplicableSPSClassification/{RAM}ClassCode") == "0808108000"
    weight = line.find(f"{RAM}NetWeightMeasure")
    assert weight is not None and (weight.text, weight.get("unitCode")) == ("19800", "KGM")


def test_phytosanitary_request_without_a_certificate_quotes_none() -> None:
    raw = (ROOT / "samples" / "fresh-apples-import.xml").read_bytes()
    out = xslt("phytosanitary").render(
        parse_untrusted(raw.replace(b"<Type>phytosanitary-certificate<", b"<Type>other<")), PARAMS
    )
    assert schema("phytosanitary").errors(out) == []
    assert out.find(f"{RSM}SPSCertificate/{RSM}SPSExchangedDocument/{RAM}ID") is None


def test_xslt_parameters_are_text_not_xpath() -> None:
    out = xslt("customs").render(
        application("fresh-apples-import"), {**PARAMS, "case-id": "x') or ('1"}
    )
    assert out.findtext(f"{CUS}CaseId") == "x') or ('1"
    assert schema("customs").errors(out)  # and the contract refuses such a key


def test_xslt_cannot_read_files(tmp_path) -> None:  # type: ignore[no-untyped-def]
    secret = tmp_path / "secret.xml"
    secret.write_text("<secret>s3cr3t</secret>")
    stylesheet = tmp_path / "evil.xslt"
    stylesheet.write_text(
        '<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">'
        f'<xsl:template match="/"><out><xsl:copy-of select="document(\'{secret.as_uri()}\')"/>'
        "</out></xsl:template></xsl:stylesheet>"
    )
    with pytest.raises(MappingFailed, match=r"read rights .* denied"):
        XsltMapping(stylesheet).render(application("fresh-apples-import"), {})


# ----- JSON mappings (REST agencies) -----


def test_transport_body() -> None:
    mapping = JsonMapping(MAPPINGS / "transport" / "request.json")
    body = mapping.render(
        application("overweight-machinery-transit", signed=True),
        {"case_id": "case-1", "application_id": "app-1", "callback_url": None},
    )
    assert mapping.operation == "requestTransportCheck"
    assert body == {
        "caseId": "case-1",
        "applicationId": "app-1",
        "procedure": "transit",
        "checkpoint": "KZ-NURZHOLY",
        "plannedArrival": "2026-11-27T06:00:00+05:00",
        "vehicle": {
            "plate": "512KTC08",
            "trailerPlate": "88KT08",
            "country": "KZ",
            "axles": 5,
            "grossMassKg": 41800,
        },
        "carrier": {"name": "KazTrans Carrier LLP", "country": "KZ", "bin": "181240044780"},
        "cargoGrossMassKg": 25300,
    }


def test_police_body_carries_the_drivers_and_only_the_special_permits() -> None:
    raw = (ROOT / "samples" / "overweight-machinery-transit.xml").read_bytes()
    permit = (
        b"<Document><Type>special-permit</Type><Number>SP-206-0042</Number>"
        b"<Date>2026-11-20</Date></Document></Documents>"
    )
    mapping = JsonMapping(MAPPINGS / "police" / "request.json")
    body = mapping.render(
        parse_untrusted(raw.replace(b"</Documents>", permit)),
        {"case_id": "c", "application_id": "a", "callback_url": None},
    )
    assert mapping.operation == "requestEntryCheck"
    assert body["vehicle"]["plate"] == "512KTC08" and body["vehicle"]["grossMassKg"] == 41800
    assert body["drivers"] == [
        {
            "name": "Daniyar Seitkali",
            "iin": "900101300017",
            "licenceNumber": "KZ08LM445566",
            "licenceCountry": "KZ",
        }
    ]
    assert body["specialPermits"] == [{"number": "SP-206-0042", "date": "2026-11-20"}]
    without = mapping.render(
        application("overweight-machinery-transit"),
        {"case_id": "c", "application_id": "a", "callback_url": None},
    )
    assert without["specialPermits"] == []  # the invoice and the CMR are not passed on


def test_veterinary_body_names_the_establishment_and_only_veterinary_certificates() -> None:
    mapping = JsonMapping(MAPPINGS / "veterinary" / "request.json")
    body = mapping.render(
        application("chilled-lamb-import", signed=True),
        {"case_id": "c", "application_id": "a", "callback_url": None},
    )
    assert mapping.operation == "requestVeterinaryPermit"
    assert body["expectedOn"] == "2026-11-28"
    assert body["exporter"] == {
        "name": "Samarkand Meat Processing JSC",
        "country": "UZ",
        "establishmentId": "UZ-VET-0417-SAM",
    }
    assert [c["hsCode"] for c in body["consignments"]] == ["0204100000"]
    assert [c["number"] for c in body["veterinaryCertificates"]] == ["UZ-VET-2026-114507"]


def test_health_body_has_one_product_per_item_and_typed_numbers() -> None:
    raw = (ROOT / "samples" / "fresh-apples-import.xml").read_bytes()
    second = (
        b'<Item line="2"><HSCode>3004900009</HSCode><Description>Tablets</Description>'
        b"<OriginCountry>DE</OriginCountry><NetMassKg>12.5</NetMassKg><GrossMassKg>14</GrossMassKg>"
        b'<Quantity unit="pcs">500</Quantity><InvoiceValue currency="EUR">900.00</InvoiceValue>'
        b"</Item></GoodsItems>"
    )
    app = parse_untrusted(raw.replace(b"</GoodsItems>", second))
    body = JsonMapping(MAPPINGS / "health" / "request.json").render(
        app, {"case_id": "c", "application_id": "a", "callback_url": "https://gw/cb"}
    )
    assert body["callbackUrl"] == "https://gw/cb"
    assert [p["line"] for p in body["products"]] == [1, 2]
    assert body["products"][1]["netMassKg"] == 12.5
    assert body["products"][1]["quantity"] == {"value": 500, "unit": "pcs"}
    assert body["documents"][1] == {
        "type": "phytosanitary-certificate",
        "number": "CN-PHYTO-650000-2026-08812",
        "date": "2026-11-21",
        "issuer": "GACC Horgos Customs",
    }
    assert "issuer" not in body["documents"][0]  # optional and absent: left out
    assert body["applicant"] == {"bin": "210540012341", "name": "Steppe Agro LLP"}


def test_json_mapping_refuses_a_missing_required_value_and_a_bad_xpath(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "request.json"
    path.write_text(json.dumps({"operation": "op", "body": {"x": "/nothing/here"}}))
    with pytest.raises(MappingFailed, match="required field 'x'"):
        JsonMapping(path).render(application("fresh-apples-import"), {})
    path.write_text(json.dumps({"operation": "op", "body": {"x": "/a:[["}}))
    with pytest.raises(ValueError, match="bad XPath"):
        JsonMapping(path)


# ----- answer mappings -----


def json_answer(**changes: object) -> dict[str, object]:
    answer: dict[str, object] = {
        "caseId": "c1",
        "reference": "TRN-1",
        "status": "inspection",
        "conditions": ["a condition"],
        "reasons": [],
        "inspection": {"place": "KZ-NURZHOLY", "reason": "weighing control at KZ-NURZHOLY"},
        "validUntil": "2026-12-01",
    }
    answer.update(changes)
    return answer


def read_json(answer: dict[str, object], case_id: str = "c1"):  # type: ignore[no-untyped-def]
    mapping = AnswerMapping(MAPPINGS / "transport" / "answer.json")
    return mapping.read(JsonReader(answer), case_id=case_id, request_bytes=b"q", answer_bytes=b"a")


def test_json_answer_is_read() -> None:
    answer = read_json(json_answer())
    assert answer.outcome is Outcome.INSPECTION
    assert answer.inspection == "weighing control at KZ-NURZHOLY"
    assert answer.conditions == ("a condition",)
    assert str(answer.valid_until) == "2026-12-01"
    assert (answer.request_bytes, answer.answer_bytes, answer.agency_reference) == (
        b"q",
        b"a",
        "TRN-1",
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"status": "approved"}, "unknown status"),
        ({"caseId": "c2"}, "is for case 'c2'"),
        ({"validUntil": "1 Dec 2026"}, "not a date"),
        ({"reasons": [{"text": "no code"}]}, "without a code"),
        ({"conditions": "not a list"}, "list of strings"),
        ({"permitNumber": "P" * 65}, "permit number is longer than 64"),  # CaseRow.permit_number
    ],
)
def test_unbelievable_json_answers_are_malformed(changes, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(MalformedAnswer, match=message):
        read_json(json_answer(**changes))


def fee(**changes: object) -> dict[str, object]:
    line: dict[str, object] = {
        "kind": "agency-fee", "amount": 850_000, "currency": "KZT", "legalBasis": "a law",
        "due": "2026-12-17", "beneficiary": "veterinary",
    }  # fmt: skip
    line.update(changes)
    return line


def read_veterinary(answer: dict[str, object]):  # type: ignore[no-untyped-def]
    mapping = AnswerMapping(MAPPINGS / "veterinary" / "answer.json")
    return mapping.read(JsonReader(answer), case_id="c1", request_bytes=b"", answer_bytes=b"")


def test_a_rest_agencys_fee_is_read_as_a_charge() -> None:
    answer = read_veterinary(json_answer(status="granted", charges=[fee()]))
    (charge,) = answer.charges
    assert (charge.kind, charge.amount_minor, charge.currency) == ("agency-fee", 850_000, "KZT")
    assert (charge.legal_basis, str(charge.due), charge.kbk) == ("a law", "2026-12-17", None)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (fee(beneficiary="customs"), "another beneficiary than 'veterinary'"),
        (fee(amount=8500.5), "not whole minor units"),
        (fee(amount="8500.50"), "not whole minor units"),
        (fee(currency="kzt"), "not an ISO 4217 code"),
        (fee(kind="fine"), "unknown kind"),
        (fee(due="soon"), "not a date"),
    ],
)
def test_a_rest_fee_that_cannot_be_paid_as_stated_is_malformed(line, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(MalformedAnswer, match=message):
        read_veterinary(json_answer(status="granted", charges=[line]))


def test_xml_answer_is_read() -> None:
    answer_xml = parse_untrusted(
        b'<CheckConsignmentResponse xmlns="urn:kz:moa:phyto:1"><CaseId>c1</CaseId>'
        b"<FileNumber>PHY-1</FileNumber><Status>refused</Status>"
        b"<Reasons><Reason><Code>PHYTO-CERT-NOT-VALID</Code>"
        b"<Text>annulled</Text></Reason><Reason><Code>PHYTO-CERT-MISMATCH</Code><Text>consignee</Text>"
        b"</Reason></Reasons></CheckConsignmentResponse>"
    )
    mapping = AnswerMapping(MAPPINGS / "phytosanitary" / "answer.json")
    answer = mapping.read(
        XmlReader(answer_xml, mapping.namespaces), case_id="c1", request_bytes=b"", answer_bytes=b""
    )
    assert answer.outcome is Outcome.REFUSED
    assert [(r.code, r.text) for r in answer.reasons] == [
        ("PHYTO-CERT-NOT-VALID", "annulled"),
        ("PHYTO-CERT-MISMATCH", "consignee"),
    ]
    assert answer.permit_number is None and answer.conditions == ()
    assert answer.extra == {}


# ----- the safe parser -----


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'<!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>', "DOCTYPE"),
        (b'<!DOCTYPE x SYSTEM "http://127.0.0.1:9/x.dtd"><x/>', "DOCTYPE"),
        (b"<x><unclosed></x>", "not well-formed"),
        (b"<x>" + b"a" * 100 + b"</x>", "limit"),
    ],
)
def test_safe_parser_refuses(data, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(XmlRefused, match=message):
        parse_untrusted(data, max_bytes=64 if message == "limit" else 1024)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<a>" * 65 + b"</a>" * 65, "more than 64 deep"),
        (b"<a>" + b"<b/>" * 50_000 + b"</a>", "more than 50000 nodes"),
    ],
    ids=["deep", "wide"],
)
def test_agency_answers_have_the_applications_caps(data, message) -> None:  # type: ignore[no-untyped-def]
    """Issue 15 item 4: an agency answer within the byte limit is read with the same depth and
    node caps as a trader's application: there is one parser, not a weaker second one."""
    with pytest.raises(XmlRefused, match=message):
        parse_untrusted(data)
    with pytest.raises(ForbiddenXmlConstruct, match=message):
        parse_xml(data)
