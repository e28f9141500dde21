"""Stand-in Ministry of Agriculture: RequestPermit per wsdl/agriculture/agriculture.wsdl.

Rules (shared/reference/eaeu-control-lists.md; simulator data where marked):
- veterinary control for HS chapters 01-05 and 16 (EAEU Decision 317 unified list, §1: 0101-0105,
  0201-0208, 0301-0306 are C; chapter 16 is R);
- quarantine phytosanitary control for chapters 06-14 (Decision 318 annex 1, §2: 06-08 and tea C,
  the rest R);
- refused: live animals or meat (chapters 01, 02) imported from an origin on the restricted list
  (VET-ORIGIN-RESTRICTED); a consignment under veterinary control without a veterinary certificate
  (VET-CERT-MISSING; §1 "certificate + import permit = yes"); plants or fruit without a
  phytosanitary certificate (PHYTO-CERT-MISSING; §2: goods without a PC are turned back);
- granted otherwise, with a permit number valid for 30 days.
"""

from __future__ import annotations

import datetime as dt

from flask import Flask
from lxml import etree

from simulators.common import CONTRACTS, Decision, Numbers, SimulatorOptions, chapter
from simulators.soap import append_outcome, children, create_soap_app, sub, text

NS = "urn:kz:moa:permits:1"
WSDL = CONTRACTS / "agriculture" / "agriculture.wsdl"

VETERINARY_CHAPTERS = {"01", "02", "03", "04", "05", "16"}
PHYTOSANITARY_CHAPTERS = {"06", "07", "08", "09", "10", "11", "12", "13", "14"}
# Live animals (01) and meat (02) from these origins are refused. SIMULATOR DATA, NOT AN OFFICIAL
# LIST: it exists so the demo has a veterinary refusal; real restrictions are set case by case.
RESTRICTED_ORIGIN_CHAPTERS = {"01", "02"}
RESTRICTED_ORIGINS = {"IN", "PK", "AF"}
PERMIT_VALID_DAYS = 30


def create_app(options: SimulatorOptions | None = None) -> Flask:
    numbers = {
        "veterinary": Numbers("KZ-VET"),
        "phytosanitary": Numbers("KZ-PHY"),
        "both": Numbers("KZ-MOA"),
    }
    files = Numbers("MOA")

    def request_permit(request: etree._Element) -> etree._Element:
        today = dt.date.today()
        decision, controls = decide(request, today)
        decision.reference = files.next(today)
        if decision.status == "granted" and controls:
            kinds = {kind for _, kind, _ in controls}
            series = kinds.pop() if len(kinds) == 1 else "both"
            decision.permit_number = numbers[series].next(today)
        return render(request, decision, controls)

    return create_soap_app(
        "agriculture",
        WSDL,
        {f"{{{NS}}}RequestPermitRequest": request_permit},
        options or SimulatorOptions(),
    )


Controls = list[tuple[str, str, str]]  # (line, kind, basis)


def decide(request: etree._Element, today: dt.date) -> tuple[Decision, Controls]:
    """The decision and the controls applied, one per consignment line under control."""
    movement = text(request, "Movement")
    post = text(request, "BorderPost")
    certificates = {text(c, "Kind") for c in children(request, "Certificates/Certificate")}
    decision = Decision(status="granted", reference="")
    controls: Controls = []
    for item in children(request, "Consignments/Consignment"):
        line, hs = text(item, "LineNumber"), text(item, "CommodityCode")
        origin, what = text(item, "OriginCountry"), text(item, "Description")
        if chapter(hs) in VETERINARY_CHAPTERS:
            controls.append((line, "veterinary", "EAEU Decision 317, unified list"))
            if (
                movement == "import"
                and chapter(hs) in RESTRICTED_ORIGIN_CHAPTERS
                and origin in RESTRICTED_ORIGINS
            ):
                decision.reasons.append(
                    (
                        "VET-ORIGIN-RESTRICTED",
                        f"line {line} ({what}): import of live animals and meat originating in "
                        f"{origin} is under a veterinary restriction",
                    )
                )
            if "veterinary" not in certificates:
                decision.reasons.append(
                    (
                        "VET-CERT-MISSING",
                        f"line {line} ({what}): a veterinary certificate of the exporting country "
                        "is required",
                    )
                )
        elif chapter(hs) in PHYTOSANITARY_CHAPTERS:
            controls.append((line, "phytosanitary", "EAEU Decision 318, annex 1"))
            if "phytosanitary" not in certificates:
                decision.reasons.append(
                    (
                        "PHYTO-CERT-MISSING",
                        f"line {line} ({what}): a phytosanitary certificate is required",
                    )
                )

    if decision.reasons:
        decision.status = "refused"
        return decision, controls
    kinds = {kind for _, kind, _ in controls}
    if not kinds:
        decision.conditions.append("no goods under veterinary or phytosanitary control")
        return decision, controls
    decision.valid_until = today + dt.timedelta(days=PERMIT_VALID_DAYS)
    if "veterinary" in kinds:
        decision.conditions.append(
            f"present the animals or products and the original veterinary certificate at the "
            f"veterinary control post at {post}"
        )
    if "phytosanitary" in kinds:
        decision.conditions.append(
            f"an act of primary quarantine control is issued at {post}; samples may be taken "
            "for laboratory examination"
        )
    return decision, controls


def render(request: etree._Element, decision: Decision, controls: Controls) -> etree._Element:
    answer = etree.Element(f"{{{NS}}}RequestPermitResponse", nsmap={None: NS})
    sub(answer, "CaseId", text(request, "CaseId"))
    sub(answer, "FileNumber", decision.reference)
    sub(answer, "Status", decision.status)
    if controls:
        node = sub(answer, "Controls")
        for line, kind, basis in controls:
            control = sub(node, "Control")
            sub(control, "LineNumber", line)
            sub(control, "Kind", kind)
            sub(control, "Basis", basis)
    append_outcome(answer, decision, "PermitNumber")
    return answer
