"""The phytosanitary stand-in's side of the IPPC ePhyto hub: certificates exporting NPPOs delivered,
read as UN/CEFACT SPS certificates (SPSCertificate 17; the subset in wsdl/phytosanitary/).

A real hub importer pulls envelopes (GetImportEnvelopeHeaders, PULLSingleImportEnvelope) and
validates them (ValidatePhytoXML) before acknowledging (shared/reference/ephyto-sps.md row 12). This
stand-in keeps the delivered certificates as files: every `*.xml` of its hub directory is an
SPSCertificate, validated against the subset XSD when the stand-in starts, so a certificate that
breaks the schema stops it rather than being half read.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from lxml import etree

from simulators.common import CONTRACTS

RSM = "urn:un:unece:uncefact:data:standard:SPSCertificate:17"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:21"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:21"
NS = {"rsm": RSM, "ram": RAM, "udt": UDT}
SPS_XSD = CONTRACTS / "phytosanitary" / "SPSCertificate_17p0.xsd"
HUB_DIR = Path(__file__).resolve().parent / "ephyto_hub"
ISSUED = "70"  # row 21; 40 = annulled
CERTIFICATE_TYPES = {
    "851": "phytosanitary certificate",
    "657": "phytosanitary certificate for re-export",
}
CLASSIFICATION_SYSTEMS = {"HS", "TN VED"}  # SystemName values whose ClassCode is an HS code


class InvalidCertificate(ValueError):
    """A hub file that is not an SPS certificate per the subset XSD."""


@dataclass(frozen=True)
class TradeLine:
    sequence: str
    description: str
    scientific_names: tuple[str, ...]
    net_kg: Decimal | None
    hs_codes: tuple[str, ...]  # HS / TN VED classifications, digits only
    origins: tuple[str, ...]


@dataclass(frozen=True)
class SpsCertificate:
    """What this service reads of one SPS certificate (declared or delivered)."""

    id: str
    type_code: str
    status_code: str
    issued: str
    issuer: str
    consignor: str
    consignee: str
    export_country: str
    import_country: str
    entry_point: str  # UnloadingBaseportSPSLocation: its ID, else its name
    lines: tuple[TradeLine, ...]


def _text(node: etree._Element, path: str) -> str:
    return " ".join(str(node.xpath(f"string({path})", namespaces=NS)).split())


def _texts(node: etree._Element, path: str) -> tuple[str, ...]:
    found = node.xpath(path, namespaces=NS)
    assert isinstance(found, list)
    return tuple(
        " ".join("".join(n.itertext()).split()) for n in found if isinstance(n, etree._Element)
    )


def _kg(node: etree._Element) -> Decimal | None:
    found = node.find("ram:NetWeightMeasure", NS)
    if found is None or (found.get("unitCode") or "KGM") != "KGM":
        return None  # a weight in other units is not compared
    try:
        return Decimal((found.text or "").strip())
    except InvalidOperation:
        return None


def read_certificate(root: etree._Element) -> SpsCertificate:
    """An rsm:SPSCertificate element (already schema-valid) as an `SpsCertificate`."""
    doc = root.find("rsm:SPSExchangedDocument", NS)
    consignment = root.find("rsm:SPSConsignment", NS)
    assert doc is not None and consignment is not None  # the XSD requires both
    lines = []
    for line in consignment.iterfind(
        "ram:IncludedSPSConsignmentItem/ram:IncludedSPSTradeLineItem", NS
    ):
        codes = tuple(
            "".join(ch for ch in _text(c, "ram:ClassCode") if ch.isdigit())
            for c in line.iterfind("ram:ApplicableSPSClassification", NS)
            if _text(c, "ram:SystemName").upper() in CLASSIFICATION_SYSTEMS
        )
        lines.append(
            TradeLine(
                sequence=_text(line, "ram:SequenceNumeric"),
                description="; ".join(_texts(line, "ram:Description")),
                scientific_names=_texts(line, "ram:ScientificName"),
                net_kg=_kg(line),
                hs_codes=tuple(c for c in codes if c),
                origins=_texts(line, "ram:OriginSPSCountry/ram:ID"),
            )
        )
    return SpsCertificate(
        id=_text(doc, "ram:ID"),
        type_code=_text(doc, "ram:TypeCode"),
        status_code=_text(doc, "ram:StatusCode"),
        issued=_text(doc, "ram:IssueDateTime/udt:DateTimeString"),
        issuer=_text(doc, "ram:IssuerSPSParty/ram:Name"),
        consignor=_text(consignment, "ram:ConsignorSPSParty/ram:Name"),
        consignee=_text(consignment, "ram:ConsigneeSPSParty/ram:Name"),
        export_country=_text(consignment, "ram:ExportSPSCountry/ram:ID"),
        import_country=_text(consignment, "ram:ImportSPSCountry/ram:ID"),
        entry_point=_text(consignment, "ram:UnloadingBaseportSPSLocation/ram:ID")
        or _text(consignment, "ram:UnloadingBaseportSPSLocation/ram:Name"),
        lines=tuple(lines),
    )


class Hub:
    """The ePhyto certificates delivered to this NPPO, by certificate number (NPPOCertificateNumber
    equals SPSExchangedDocument/ID, row 9). Read once; shared read-only across request threads."""

    def __init__(self, directory: Path = HUB_DIR) -> None:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        schema = etree.XMLSchema(etree.parse(str(SPS_XSD), parser=parser))
        self.certificates: dict[str, SpsCertificate] = {}
        for path in sorted(Path(directory).glob("*.xml")):
            tree = etree.parse(str(path), parser=parser)
            if not schema.validate(tree):
                first = schema.error_log[0]
                raise InvalidCertificate(f"{path.name} line {first.line}: {first.message}")
            certificate = read_certificate(tree.getroot())
            self.certificates[certificate.id] = certificate

    def find(self, number: str) -> SpsCertificate | None:
        return self.certificates.get(number)
