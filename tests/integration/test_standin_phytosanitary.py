"""The phytosanitary stand-in, ePhyto-shaped, through the gateway's SOAP adapter (WS-Security both
ways): the consignment goes as a UN/CEFACT SPS certificate, is held against the exporting NPPO's
certificate on the stand-in's hub, and a granted permit comes back as an SPS certificate."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from lxml import etree
from werkzeug.serving import make_server

from adapters import AgencyAdapter, AgencyAnswer, AgencyRequest, Outcome
from gateway.pki.dev import DevPki
from simulators import phytosanitary
from simulators.common import SimulatorOptions
from simulators.ephyto import HUB_DIR, SPS_XSD, Hub, InvalidCertificate
from simulators.server import RunningAgency
from tests.integration.conftest import sample

APPLES_PC = "CN-PHYTO-650000-2026-08812"
RSM = "{urn:un:unece:uncefact:data:standard:SPSCertificate:17}"
RAM = "{urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:21}"


def swap(old: bytes, new: bytes) -> Callable[[bytes], bytes]:
    def edit(raw: bytes) -> bytes:
        assert old in raw, old
        return raw.replace(old, new)

    return edit


@pytest.fixture
def hub_dir(tmp_path: Path) -> Path:
    """A copy of the stand-in's hub inbox a test may add certificates to."""
    return Path(shutil.copytree(HUB_DIR, tmp_path / "hub"))


@pytest.fixture
def check(
    pki: DevPki, hub_dir: Path, adapter_for: Callable[..., AgencyAdapter]
) -> Iterator[Callable[..., AgencyAnswer]]:
    options = SimulatorOptions(pki_dir=pki.directory)
    server = make_server(
        "127.0.0.1", 0, phytosanitary.create_app(options, hub_dir=hub_dir), threaded=True
    )
    agency = RunningAgency("phytosanitary", server, options)
    adapter = adapter_for("phytosanitary", agency.url)
    counter = iter(range(1000))

    def send(edit: Callable[[bytes], bytes] | None = None) -> AgencyAnswer:
        request = AgencyRequest(f"case-{next(counter)}", "a", sample("fresh-apples-import", edit))
        return adapter.send(request)

    yield send
    agency.stop()


def test_apples_matching_their_ephyto_get_an_sps_shaped_permit(
    check: Callable[..., AgencyAnswer],
) -> None:
    answer = check()
    assert answer.outcome is Outcome.GRANTED
    assert answer.permit_number and answer.permit_number.startswith("KZ-PHY-")
    assert answer.extra["ephyto"] == APPLES_PC
    # The permit's balance (issue 20): twice the consignment, for the importer.
    assert {k: v for k, v in answer.extra.items() if k.startswith("permit")} == {
        "permitId": answer.permit_number, "permitHolder": "210540012341",
        "permitHsCode": "0808108000", "permitDescription": "Fresh apples, Fuji, in cartons",
        "permitQuantity": "39600", "permitUnit": "kg",
        "permitValidFrom": dt.date.today().isoformat(), "permitLine": "1",
        "permitConsignment": "19800",
    }  # fmt: skip
    assert answer.conditions == (
        f"checked against ePhyto {APPLES_PC} of the CN NPPO; an act of primary quarantine "
        "control is issued at KZ-NURZHOLY; samples may be taken for laboratory examination",
    )
    # The permit itself is an SPS certificate, valid per the subset schema: its ID is the permit
    # number, it refers to the NPPO's certificate and names the consignment as declared.
    body = etree.fromstring(answer.answer_bytes).find(
        "{http://schemas.xmlsoap.org/soap/envelope/}Body"
    )
    assert body is not None
    permit = body.find(
        f"{{urn:kz:moa:phyto:1}}CheckConsignmentResponse/{{urn:kz:moa:phyto:1}}Permit/{RSM}SPSCertificate"
    )
    assert permit is not None
    etree.XMLSchema(etree.parse(str(SPS_XSD))).assertValid(etree.ElementTree(permit))
    doc = permit.find(f"{RSM}SPSExchangedDocument")
    assert doc is not None and doc.findtext(f"{RAM}ID") == answer.permit_number
    assert doc.findtext(f"{RAM}ReferenceSPSReferencedDocument/{RAM}ID") == APPLES_PC
    consignee = permit.findtext(f"{RSM}SPSConsignment/{RAM}ConsigneeSPSParty/{RAM}Name")
    assert consignee == "Steppe Agro LLP"


@pytest.mark.parametrize(
    ("edit", "code", "said"),
    [
        (swap(b"<Type>phytosanitary-certificate<", b"<Type>other<"), "PHYTO-CERT-MISSING",
         "line 1 (Fresh apples, Fuji, in cartons): a phytosanitary certificate is required"),
        (swap(APPLES_PC.encode(), b"CN-PHYTO-650000-2026-07730"), "PHYTO-CERT-NOT-VALID",
         "ePhyto CN-PHYTO-650000-2026-07730 is not valid: annulled by the CN NPPO"),
        (swap(b"<Name>Steppe Agro LLP<", b"<Name>Other Importer LLP<"), "PHYTO-CERT-MISMATCH",
         "names 'Steppe Agro LLP' as consignee, the application 'Other Importer LLP'"),
        (swap(b"<NetMassKg>19800<", b"<NetMassKg>24000<"), "PHYTO-QUANTITY-EXCEEDS",
         "24000 kg declared, 19800 kg certified by ePhyto " + APPLES_PC),
        (swap(b"<HSCode>0808108000<", b"<HSCode>0806101000<"), "PHYTO-CERT-MISMATCH",
         "HS 0806101000 is not on ePhyto " + APPLES_PC),
    ],
)  # fmt: skip
def test_an_ephyto_that_does_not_certify_this_consignment_is_refused(
    check: Callable[..., AgencyAnswer], edit: Callable[[bytes], bytes], code: str, said: str
) -> None:
    answer = check(edit)
    assert answer.outcome is Outcome.REFUSED
    assert [r.code for r in answer.reasons] == [code]
    assert said in answer.reasons[0].text
    assert answer.permit_number is None


def test_a_certificate_not_on_the_hub_is_checked_on_paper_at_the_post(
    check: Callable[..., AgencyAnswer],
) -> None:
    answer = check(swap(APPLES_PC.encode(), b"CN-PAPER-2026-1"))
    assert answer.outcome is Outcome.INSPECTION
    assert answer.inspection == (
        "no ePhyto CN-PAPER-2026-1 from the CN NPPO on the hub: the paper certificate and the "
        "consignment are checked at primary quarantine control at KZ-NURZHOLY"
    )


def test_goods_outside_the_list_need_no_permit(check: Callable[..., AgencyAnswer]) -> None:
    answer = check(swap(b"<HSCode>0808108000<", b"<HSCode>8431490000<"))
    assert answer.outcome is Outcome.GRANTED
    assert answer.permit_number is None
    assert answer.conditions == ("no goods under quarantine phytosanitary control",)


def test_a_certificate_delivered_later_is_read_from_the_hub(
    check: Callable[..., AgencyAnswer], hub_dir: Path
) -> None:
    # The hub inbox is read at start: a stand-in started with a new certificate finds it.
    source = (hub_dir / f"{APPLES_PC}.xml").read_bytes()
    (hub_dir / "CN-PHYTO-650000-2026-09999.xml").write_bytes(
        source.replace(APPLES_PC.encode(), b"CN-PHYTO-650000-2026-09999")
    )
    assert Hub(hub_dir).find("CN-PHYTO-650000-2026-09999") is not None


def test_a_hub_certificate_breaking_the_sps_schema_stops_the_stand_in(hub_dir: Path) -> None:
    source = (hub_dir / f"{APPLES_PC}.xml").read_text()
    broken = source.replace("<ram:TypeCode>851</ram:TypeCode>", "")  # TypeCode is required
    (hub_dir / "broken.xml").write_text(broken)
    with pytest.raises(InvalidCertificate, match=r"broken.xml line \d+: .*StatusCode"):
        Hub(hub_dir)


def test_the_sps_subset_accepts_the_hub_shape_and_refuses_an_unknown_element() -> None:
    schema = etree.XMLSchema(etree.parse(str(SPS_XSD)))
    certificate = etree.parse(str(HUB_DIR / f"{APPLES_PC}.xml"))
    assert schema.validate(certificate), schema.error_log
    line = certificate.find(f".//{RAM}IncludedSPSTradeLineItem")
    assert line is not None
    etree.SubElement(line, f"{RAM}Smuggled").text = "x"
    assert not schema.validate(certificate)
