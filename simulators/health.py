"""Stand-in sanitary-epidemiological control (Ministry of Health): POST /v1/sanitary-permits per
wsdl/health/openapi.json.

Rules (shared/reference/eaeu-control-lists.md):
- medicines (HS chapter 30) need a state registration certificate, else refused
  (HEALTH-REGISTRATION-MISSING; §4: MoH Order ҚР ДСМ-237/2020 governs import of medicines);
- food (Decision 299 section I group 1 chapters, §3, C) -> sanitary permit granted, valid 30 days;
- other goods sent here (cosmetics, disinfectants) -> granted, valid 30 days.

The sanitary permit granted for an import of food has a balance (issue 20): it names the importer
(holder), the first permitted product's HS code and description, and a quantity in kg of twice that
product's net mass, valid from today for 30 days. Permitted products are the food this service
alone controls (vegetable fats 1507-1518, sugar, cocoa, cereal and vegetable preparations,
miscellaneous food, beverages: chapters 17-22, salt 2501): meat, fish, dairy, fruit and vegetables
draw on the veterinary or phytosanitary permit, and a goods item draws on one permit only. SIMULATOR DATA: "this consignment and one more
like it", as the veterinary stand-in does. The product it was asked for is written off it when
that application is released (`consignment`).

Fees (issue 20): a permit granted for an import carries one fee, paid through the single window's
one payment order (the `charges` of the answer). SIMULATOR DATA, ILLUSTRATIVE: no source in
shared/reference gives the amount or the article that sets it; the legal basis names the code only.
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

CONTRACT = CONTRACTS / "health" / "openapi.json"
MEDICINE_CHAPTERS = {"30"}
# Decision 299 section I, group 1 (food products): chapters 02-05, 07-09, 11-25 (C).
FOOD_CHAPTERS = {"02", "03", "04", "05", "07", "08", "09"} | {f"{c}" for c in range(11, 26)}
PERMIT_VALID_DAYS = 30
PERMIT_CONSIGNMENTS = 2  # SIMULATOR DATA: how many consignments like this one a permit covers
# Food that neither the veterinary nor the phytosanitary service controls (mappings/routing.toml).
PERMIT_PREFIXES = ("1507", "1508", "1509", "151", "17", "18", "19", "20", "21", "22", "2501")
# SIMULATOR DATA, ILLUSTRATIVE (no source gives it): the fee for a sanitary permit on import, in
# tiyn (6 000 KZT), due in as many days as the customs stand-in's payments.
FEE_TIYN = 600_000
FEE_DAYS = 10
FEE_BASIS = (
    'Code of the Republic of Kazakhstan No. 360-VI of 07.07.2020 "On the health of the people '
    'and the healthcare system" (illustrative fee)'
)


def create_app(options: SimulatorOptions | None = None) -> Flask:
    permits = Numbers("KZ-SEC")
    files = Numbers("SEC")

    def request_permit(body: dict[str, Any]) -> Decision:
        today = dt.date.today()
        decision = decide(body, today)
        decision.reference = files.next(today)
        if decision.status == "granted":
            decision.permit_number = permits.next(today)
            if body["procedure"] == "import":
                decision.charges = [agency_fee("health", FEE_TIYN, FEE_BASIS, today, FEE_DAYS)]
                decision.permit = permit_block(body, decision.permit_number, today)
        return decision

    return create_rest_app(
        "health", CONTRACT, "requestSanitaryPermit", request_permit, options or SimulatorOptions()
    )


def decide(body: dict[str, Any], today: dt.date) -> Decision:
    decision = Decision(status="granted", reference="")
    documents = {d["type"] for d in body["documents"]}
    food = []
    for product in body["products"]:
        ch = chapter(product["hsCode"])
        if ch in MEDICINE_CHAPTERS and "registration-certificate" not in documents:
            decision.reasons.append(
                (
                    "HEALTH-REGISTRATION-MISSING",
                    f"line {product['line']} ({product['description']}): medicines need a state "
                    "registration certificate of the Republic of Kazakhstan",
                )
            )
        if ch in FOOD_CHAPTERS:
            food.append(str(product["line"]))
    if decision.reasons:
        decision.status = "refused"
        return decision
    decision.valid_until = today + dt.timedelta(days=PERMIT_VALID_DAYS)
    if food:
        decision.conditions.append(
            f"food products (lines {', '.join(food)}) under sanitary-epidemiological supervision "
            "(EAEU Decision 299, section I): keep this permit with the consignment"
        )
    return decision


def permit_block(body: dict[str, Any], number: str, today: dt.date) -> dict[str, Any] | None:
    """The sanitary permit with a balance for the first permitted product, or None when there is
    none or the importer has no BIN (a permit is issued to a Kazakh holder)."""
    holder = body.get("importer", {}).get("bin")
    item = next((p for p in body["products"] if p["hsCode"].startswith(PERMIT_PREFIXES)), None)
    if not holder or item is None:
        return None
    return balance_permit(
        holder, item, number, today,
        consignments=PERMIT_CONSIGNMENTS, valid_days=PERMIT_VALID_DAYS,
    )  # fmt: skip
