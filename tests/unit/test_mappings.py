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

ROOT = Path(__file__).resolve().parents[2]
MAPPINGS = ROOT / "mappings" / "agencies"
CUS = "{urn:kz:kgd:customs:declaration:1}"
MOA = "{urn:kz:moa:permits:1}"
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


@pytest.mark.parametrize("code", ["customs", "agriculture"])
@pytest.mark.parametrize(
    "name", ["fresh-apples-import", "live-cattle-import", "overweight-machinery-transit"]
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


def test_agriculture_request_passes_on_only_its_certificates() -> None:
    out = xslt("agriculture").render(application("fresh-apples-import"), PARAMS)
    kinds = [c.findtext(f"{MOA}Kind") for c in out.iter(f"{MOA}Certificate")]
    assert kinds == ["phytosanitary"]  # not the invoice, not the CMR
    assert out.findtext(f"{MOA}ExpectedOn") == "2026-11-25"
    assert out.findtext(f"{MOA}Applicant/{MOA}Name") == "Steppe Agro LLP"


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


def test_xml_answer_is_read() -> None:
    answer_xml = parse_untrusted(
        b'<RequestPermitResponse xmlns="urn:kz:moa:permits:1"><CaseId>c1</CaseId>'
        b"<FileNumber>MOA-1</FileNumber><Status>refused</Status>"
        b"<Controls><Control><LineNumber>1</LineNumber><Kind>veterinary</Kind><Basis>317</Basis>"
        b"</Control></Controls><Reasons><Reason><Code>VET-ORIGIN-RESTRICTED</Code>"
        b"<Text>restricted</Text></Reason><Reason><Code>VET-CERT-MISSING</Code><Text>no cert</Text>"
        b"</Reason></Reasons></RequestPermitResponse>"
    )
    mapping = AnswerMapping(MAPPINGS / "agriculture" / "answer.json")
    answer = mapping.read(
        XmlReader(answer_xml, mapping.namespaces), case_id="c1", request_bytes=b"", answer_bytes=b""
    )
    assert answer.outcome is Outcome.REFUSED
    assert [(r.code, r.text) for r in answer.reasons] == [
        ("VET-ORIGIN-RESTRICTED", "restricted"),
        ("VET-CERT-MISSING", "no cert"),
    ]
    assert answer.permit_number is None and answer.conditions == ()
    assert answer.extra == {"controls": "veterinary"}


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
