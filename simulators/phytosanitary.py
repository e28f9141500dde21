"""Stand-in quarantine phytosanitary control (State Inspection Committee in the agro-industrial
complex, Ministry of Agriculture): CheckConsignment per wsdl/phytosanitary/phytosanitary.wsdl,
shaped like the IPPC ePhyto hub (SOAP; UN/CEFACT SPS certificates; shared/reference/ephyto-sps.md).

The request carries the consignment as declared, as an SPS certificate naming the exporting
country's phytosanitary certificate the trader quotes. The service holds it against the ePhyto
certificate that NPPO delivered through the hub (simulators/ephyto.py) and answers with an
SPS-certificate-shaped import permit. Rules (shared/reference/eaeu-control-lists.md §2):
- under control: the Decision 318 annex 1 list as the routing rules name it (chapters 06-14,
  headings 2302, 2306, 4401, 4403, 4407, 5201); nothing under control: granted, no permit;
- no certificate quoted: refused (PHYTO-CERT-MISSING; §2: goods without a certificate are turned
  back);
- the quoted certificate is not on the hub: inspection — the paper certificate and the goods are
  checked at the border post (no ePhyto exchange with every country);
- on the hub but not issued (StatusCode 40 annulled, or any other than 70): refused
  (PHYTO-CERT-NOT-VALID); not a phytosanitary certificate (TypeCode 851 or 657): refused
  (PHYTO-CERT-TYPE);
- the certificate disagrees with the application: another exporting or importing country, another
  consignee, goods whose HS heading it does not list, or less net weight than declared: refused
  (PHYTO-CERT-MISMATCH, PHYTO-QUANTITY-EXCEEDS);
- granted otherwise, valid 30 days, with the conditions of primary quarantine control.
"""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal
from pathlib import Path

from flask import Flask
from lxml import etree

from simulators.common import CONTRACTS, Decision, Numbers, SimulatorOptions
from simulators.ephyto import (
    HUB_DIR,
    ISSUED,
    RAM,
    RSM,
    UDT,
    Hub,
    SpsCertificate,
    TradeLine,
    read_certificate,
)
from simulators.soap import create_soap_app, sub, text

P = "urn:kz:moa:phyto:1"
WSDL = CONTRACTS / "phytosanitary" / "phytosanitary.wsdl"
CONTROLLED = (
    "06", "07", "08", "09", "10", "11", "12", "13", "14", "2302", "2306", "4401", "4403", "4407",
    "5201",
)  # fmt: skip
PERMIT_VALID_DAYS = 30
PERMIT_CONSIGNMENTS = 2  # SIMULATOR DATA: how many consignments like this one a permit covers
ISSUER = "State Inspection Committee in the agro-industrial complex, Ministry of Agriculture of the Republic of Kazakhstan"
# UNCL 1001 document name code for the permit: 911 "Import licence" (R: recalled, unconfirmed).
PERMIT_TYPE_CODE = "911"


def create_app(options: SimulatorOptions | None = None, hub_dir: Path = HUB_DIR) -> Flask:
    hub = Hub(hub_dir)
    permits = Numbers("KZ-PHY")
    files = Numbers("PHY")

    def check(request: etree._Element) -> etree._Element:
        today = dt.date.today()
        declared = read_certificate(_declared(request))
        decision, delivered = decide(declared, hub, today)
        decision.reference = files.next(today)
        permit = None
        if decision.status == "granted" and decision.valid_until:
            decision.permit_number = permits.next(today)
            permit = permit_certificate(request, decision, delivered)
        return render(request, decision, permit, permit_balance(request, declared, decision, today))

    return create_soap_app(
        "phytosanitary", WSDL, {f"{{{P}}}CheckConsignmentRequest": check},
        options or SimulatorOptions(), permit_of=_permit_of,
    )  # fmt: skip


def _permit_of(answer: etree._Element) -> str | None:
    """The permit's number: the ID of the SPS certificate the answer carries (issue 19)."""
    found = answer.find(f"{{{P}}}Permit/{{{RSM}}}SPSCertificate/{{{RSM}}}SPSExchangedDocument")
    return None if found is None else (found.findtext(f"{{{RAM}}}ID") or "").strip() or None


def _declared(request: etree._Element) -> etree._Element:
    found = request.find(f"{{{RSM}}}SPSCertificate")
    assert found is not None  # the XSD requires it
    return found


def decide(
    declared: SpsCertificate, hub: Hub, today: dt.date
) -> tuple[Decision, SpsCertificate | None]:
    """The decision, and the hub certificate it rests on (None when there is none)."""
    decision = Decision(status="granted", reference="")
    controlled = [
        line for line in declared.lines if any(c.startswith(CONTROLLED) for c in line.hs_codes)
    ]
    post = declared.entry_point or "the border post"
    if not controlled:
        decision.conditions.append("no goods under quarantine phytosanitary control")
        return decision, None
    # Step 1: a certificate is quoted.
    if not declared.id:
        for line in controlled:
            decision.reasons.append(
                (
                    "PHYTO-CERT-MISSING",
                    f"line {line.sequence} ({line.description}): a phytosanitary certificate is required",
                )
            )
        decision.status = "refused"
        return decision, None
    # Step 2: the exporting NPPO delivered it through the hub.
    delivered = hub.find(declared.id)
    if delivered is None:
        decision.status = "inspection"
        decision.inspection = (
            post,
            f"no ePhyto {declared.id} from the {declared.export_country} NPPO on the hub: the paper "
            f"certificate and the consignment are checked at primary quarantine control at {post}",
        )
        return decision, None
    # Step 3: it is an issued phytosanitary certificate.
    if delivered.type_code not in ("851", "657"):
        decision.reasons.append(
            (
                "PHYTO-CERT-TYPE",
                f"{delivered.id} is not a phytosanitary certificate (type {delivered.type_code})",
            )
        )
    if delivered.status_code != ISSUED:
        state = "annulled" if delivered.status_code == "40" else f"status {delivered.status_code}"
        decision.reasons.append(
            (
                "PHYTO-CERT-NOT-VALID",
                f"ePhyto {delivered.id} is not valid: {state} by the {delivered.export_country} NPPO",
            )
        )
    # Step 4: it certifies this consignment.
    decision.reasons.extend(_mismatches(declared, delivered, controlled))
    if decision.reasons:
        decision.status = "refused"
        return decision, delivered
    decision.valid_until = today + dt.timedelta(days=PERMIT_VALID_DAYS)
    decision.conditions.append(
        f"checked against ePhyto {delivered.id} of the {delivered.export_country} NPPO; an act of "
        f"primary quarantine control is issued at {post}; samples may be taken for "
        "laboratory examination"
    )
    return decision, delivered


def _same(a: str, b: str) -> bool:
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())


def _mismatches(
    declared: SpsCertificate, delivered: SpsCertificate, controlled: list[TradeLine]
) -> list[tuple[str, str]]:
    found = []
    for what, ours, theirs in (
        ("exporting country", declared.export_country, delivered.export_country),
        ("importing country", declared.import_country, delivered.import_country),
        ("consignee", declared.consignee, delivered.consignee),
    ):
        if not _same(ours, theirs):
            found.append(
                (
                    "PHYTO-CERT-MISMATCH",
                    f"ePhyto {delivered.id} names {theirs!r} as {what}, the application {ours!r}",
                )
            )
    certified = [c for line in delivered.lines for c in line.hs_codes]
    for line in declared.lines:
        if line not in controlled:
            continue
        code = line.hs_codes[0]
        matches = [
            t
            for t in delivered.lines
            if any(code.startswith(c[:6]) for c in t.hs_codes if len(c) >= 4)
        ]
        if certified and not matches:
            found.append(
                (
                    "PHYTO-CERT-MISMATCH",
                    f"line {line.sequence} ({line.description}): HS {code} is not on ePhyto {delivered.id}",
                )
            )
            continue
        pool = matches or list(delivered.lines)
        allowed = sum((t.net_kg for t in pool if t.net_kg is not None), Decimal(0))
        if line.net_kg is not None and allowed and line.net_kg > allowed:
            found.append(
                (
                    "PHYTO-QUANTITY-EXCEEDS",
                    f"line {line.sequence} ({line.description}): {line.net_kg:f} kg declared, "
                    f"{allowed:f} kg certified by ePhyto {delivered.id}",
                )
            )
    return found


def permit_certificate(
    request: etree._Element, decision: Decision, delivered: SpsCertificate | None
) -> etree._Element:
    """The import permit as an SPS certificate: its ID the permit number, a reference to the
    exporting NPPO's certificate, the officer's authentication and the consignment as declared."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    post = (
        request.findtext(
            f"{{{RSM}}}SPSCertificate/{{{RSM}}}SPSConsignment/{{{RAM}}}UnloadingBaseportSPSLocation/{{{RAM}}}ID"
        )
        or ""
    )
    cert = etree.Element(f"{{{RSM}}}SPSCertificate", nsmap={"rsm": RSM, "ram": RAM, "udt": UDT})
    doc = etree.SubElement(cert, f"{{{RSM}}}SPSExchangedDocument")
    _ram(doc, "Name", "Import quarantine permit")
    _ram(doc, "ID", decision.permit_number)
    _ram(doc, "TypeCode", PERMIT_TYPE_CODE)
    _ram(doc, "StatusCode", ISSUED)
    etree.SubElement(_ram(doc, "IssueDateTime"), f"{{{UDT}}}DateTimeString").text = now
    _ram(_ram(doc, "IssuerSPSParty"), "Name", ISSUER)
    if delivered is not None:
        reference = _ram(doc, "ReferenceSPSReferencedDocument")
        _ram(reference, "TypeCode", delivered.type_code)
        _ram(reference, "ID", delivered.id)
        _ram(
            reference,
            "Information",
            f"ePhyto of the {delivered.export_country} NPPO, issued {delivered.issued}",
        )
    signatory = _ram(doc, "SignatorySPSAuthentication")
    etree.SubElement(_ram(signatory, "ActualDateTime"), f"{{{UDT}}}DateTimeString").text = now
    _ram(_ram(signatory, "IssueSPSLocation"), "ID", post)
    provider = _ram(signatory, "ProviderSPSParty")
    _ram(provider, "Name", ISSUER)
    _ram(_ram(provider, "SpecifiedSPSPerson"), "Name", f"Duty phytosanitary inspector, {post}")
    clause = _ram(signatory, "IncludedSPSClause")
    _ram(clause, "ID", "1")
    for condition in decision.conditions:
        _ram(clause, "Content", condition)
    declared = _declared(request).find(f"{{{RSM}}}SPSConsignment")
    cert.append(copy.deepcopy(declared))
    return cert


def _ram(parent: etree._Element, tag: str, value: str | None = None) -> etree._Element:
    child = etree.SubElement(parent, f"{{{RAM}}}{tag}")
    if value is not None:
        child.text = value
    return child


def permit_balance(
    request: etree._Element, declared: SpsCertificate, decision: Decision, today: dt.date
) -> dict[str, str] | None:
    """The permit's balance (issue 20): twice the first controlled line's net mass in kg
    (SIMULATOR DATA, as for the veterinary stand-in), for an importer with a 12-digit BIN."""
    holder = (request.findtext(f".//{{{RAM}}}ConsigneeSPSParty/{{{RAM}}}ID") or "").strip()
    if not decision.permit_number or not (len(holder) == 12 and holder.isdigit()):
        return None
    line = next(
        (x for x in declared.lines if any(c.startswith(CONTROLLED) for c in x.hs_codes)), None
    )
    if line is None or line.net_kg is None or not line.hs_codes or not line.sequence.isdigit():
        return None
    return {
        "Holder": holder,
        "HSCode": line.hs_codes[0],
        "Description": line.description[:512],
        "Quantity": f"{line.net_kg * PERMIT_CONSIGNMENTS:f}",
        "ValidFrom": today.isoformat(),
        "Line": line.sequence,
        "Consignment": f"{line.net_kg:f}",
    }


def render(
    request: etree._Element,
    decision: Decision,
    permit: etree._Element | None,
    balance: dict[str, str] | None = None,
) -> etree._Element:
    answer = etree.Element(f"{{{P}}}CheckConsignmentResponse", nsmap={None: P})
    sub(answer, "CaseId", text(request, "CaseId"))
    sub(answer, "FileNumber", decision.reference)
    sub(answer, "Status", decision.status)
    if permit is not None:
        sub(answer, "Permit").append(permit)
    if decision.valid_until:
        sub(answer, "ValidUntil", decision.valid_until)
    if decision.conditions:
        conditions = sub(answer, "Conditions")
        for condition in decision.conditions:
            sub(conditions, "Condition", condition)
    if decision.reasons:
        reasons = sub(answer, "Reasons")
        for code, reason in decision.reasons:
            node = sub(reasons, "Reason")
            sub(node, "Code", code)
            sub(node, "Text", reason[:512])
    if decision.inspection:
        inspection = sub(answer, "Inspection")
        sub(inspection, "Place", decision.inspection[0])
        sub(inspection, "Reason", decision.inspection[1])
    if balance is not None:
        node = sub(answer, "PermitBalance")
        for tag in ("Holder", "HSCode", "Description"):
            sub(node, tag, balance[tag])
        sub(node, "Quantity", balance["Quantity"]).set("unit", "kg")
        sub(node, "ValidFrom", balance["ValidFrom"])
        consignment = sub(node, "Consignment")
        sub(consignment, "Line", balance["Line"])
        sub(consignment, "Quantity", balance["Consignment"]).set("unit", "kg")
    return answer
