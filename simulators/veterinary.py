"""Stand-in veterinary control (Committee of Veterinary Control and Supervision, Ministry of
Agriculture): POST /v1/veterinary-permits per wsdl/veterinary/openapi.json.

Rules (shared/reference/eaeu-control-lists.md §1; simulator data where marked):
- under control: the EAEU Decision 317 unified list as the routing rules name it (chapters 01-05
  and 16, headings 1501-1506, 2301, 2309, 4101-4103, 5101-5105; 0101-0105, 0201-0208, 0301-0306
  are C, the rest R);
- refused: live animals or meat (chapters 01, 02) imported from an origin on the restricted list
  (VET-ORIGIN-RESTRICTED); goods under control without a veterinary certificate of the exporting
  country (VET-CERT-MISSING; §1 "certificate + import permit = yes"); meat (0201-0208, 0210) from an
  exporter that is not in the EAEU register of third-country establishments (VET-ESTABLISHMENT-
  NOT-LISTED; §1 "register = yes" for these headings);
- granted otherwise, valid 30 days, with the veterinary control post's conditions.

The permit granted has a balance (issue 20): it names the importer (holder), the first controlled
consignment's HS code and description, and a quantity in kg of twice that consignment's net
mass, valid from today for 30 days. SIMULATOR DATA: "this consignment and one more like it", so
that a second application can cite the permit and exhaust it. The consignment it was asked for
is written off it when that application is released (`consignment`).

Fees (issue 20): an import permit granted carries a fee per controlled consignment line, paid
through the single window's one payment order (the `charges` of the answer). SIMULATOR DATA,
ILLUSTRATIVE: no source in shared/reference gives the amount or the article that sets it; the legal
basis names the law, not an article.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask

from simulators.balance_permits import balance_permit
from simulators.common import (
    CONTRACTS,
    Decision,
    Numbers,
    SimulatorOptions,
    agency_fee,
    chapter,
)
from simulators.rest import create_rest_app

CONTRACT = CONTRACTS / "veterinary" / "openapi.json"
CONTROLLED = (
    "01", "02", "03", "04", "05", "16", "1501", "1502", "1503", "1504", "1505", "1506",
    "2301", "2309", "4101", "4102", "4103", "5101", "5102", "5103", "5104", "5105",
)  # fmt: skip
# Live animals (01) and meat (02) from these origins are refused. SIMULATOR DATA, NOT AN OFFICIAL
# LIST: it exists so the demo has a veterinary refusal; real restrictions are set case by case.
RESTRICTED_ORIGIN_CHAPTERS = {"01", "02"}
RESTRICTED_ORIGINS = {"IN", "PK", "AF"}
# Headings whose exporter must be in the EAEU register of third-country establishments (§1).
REGISTER_HEADINGS = ("0201", "0202", "0203", "0204", "0205", "0206", "0207", "0208", "0210")
# The register, by the exporter's registration number. SIMULATOR DATA, NOT THE EAEU REGISTER.
REGISTERED_ESTABLISHMENTS = {
    "UZ-VET-0417-SAM": "Samarkand Meat Processing JSC (Uzbekistan)",
    "CN-6500-MEAT-0031": "Xinjiang Tianshan Halal Meat Co. (China)",
    "BR-SIF-2143": "Frigorifico Exemplo (Brazil)",
}
PERMIT_VALID_DAYS = 30
PERMIT_CONSIGNMENTS = 2  # SIMULATOR DATA: how many consignments like this one a permit covers
# SIMULATOR DATA, ILLUSTRATIVE (no source gives it): the fee per controlled consignment line of an
# import permit, in tiyn (8 500 KZT), due in as many days as the customs stand-in's payments.
FEE_PER_LINE_TIYN = 850_000
FEE_DAYS = 10
FEE_BASIS = (
    'Law of the Republic of Kazakhstan No. 339 of 10.07.2002 "On veterinary" (illustrative fee)'
)


def create_app(options: SimulatorOptions | None = None) -> Flask:
    permits = Numbers("KZ-VET")
    files = Numbers("VET")

    def request_permit(body: dict[str, Any]) -> Decision:
        today = dt.date.today()
        decision = decide(body, today)
        decision.reference = files.next(today)
        if decision.status == "granted" and decision.valid_until:  # nothing controlled: no permit
            decision.permit_number = permits.next(today)
            decision.permit = permit_block(body, decision.permit_number, today)
            decision.charges = fees(body, today)
        return decision

    return create_rest_app(
        "veterinary", CONTRACT, "requestVeterinaryPermit", request_permit,
        options or SimulatorOptions(),
    )  # fmt: skip


def decide(body: dict[str, Any], today: dt.date) -> Decision:
    """The decision on one request body (already valid per the contract)."""
    decision = Decision(status="granted", reference="")
    exporter = body["exporter"]
    certificates = body.get("veterinaryCertificates", [])
    controlled = [c for c in body["consignments"] if c["hsCode"].startswith(CONTROLLED)]
    for item in controlled:
        line, hs, what, origin = (
            item["line"],
            item["hsCode"],
            item["description"],
            item["originCountry"],
        )
        if (
            body["procedure"] == "import"
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
        if not certificates:
            decision.reasons.append(
                (
                    "VET-CERT-MISSING",
                    f"line {line} ({what}): a veterinary certificate of the exporting country "
                    "is required",
                )
            )
        establishment = exporter.get("establishmentId", "")
        if hs.startswith(REGISTER_HEADINGS) and establishment not in REGISTERED_ESTABLISHMENTS:
            decision.reasons.append(
                (
                    "VET-ESTABLISHMENT-NOT-LISTED",
                    f"line {line} ({what}): the exporter {exporter['name']} "
                    f"({establishment or 'no registration number'}) is not in the EAEU register "
                    "of third-country establishments",
                )
            )
    if decision.reasons:
        decision.status = "refused"
        return decision
    if not controlled:
        decision.conditions.append("no goods under veterinary control")
        return decision
    decision.valid_until = today + dt.timedelta(days=PERMIT_VALID_DAYS)
    decision.conditions.append(
        "present the animals or products and the original veterinary certificate at the "
        f"veterinary control post at {body['borderPost']}"
    )
    return decision


def fees(body: dict[str, Any], today: dt.date) -> list[dict[str, Any]]:
    """The import permit's fee: one line for all its controlled consignments (none otherwise)."""
    lines = [c for c in body["consignments"] if c["hsCode"].startswith(CONTROLLED)]
    if body["procedure"] != "import" or not lines:
        return []
    return [agency_fee("veterinary", FEE_PER_LINE_TIYN * len(lines), FEE_BASIS, today, FEE_DAYS)]


def permit_block(body: dict[str, Any], number: str, today: dt.date) -> dict[str, Any] | None:
    """The permit with a balance for the first controlled consignment, or None when the importer
    has no BIN (a permit is issued to a Kazakh holder)."""
    holder = body["importer"].get("bin")
    item = next(c for c in body["consignments"] if c["hsCode"].startswith(CONTROLLED))
    if not holder:
        return None
    return balance_permit(
        holder, item, number, today,
        consignments=PERMIT_CONSIGNMENTS, valid_days=PERMIT_VALID_DAYS,
    )  # fmt: skip
