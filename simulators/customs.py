"""Stand-in State Revenue Committee (customs): RegisterDeclaration per wsdl/customs/customs.wsdl.

Rules (simulator data, not an official risk profile or tariff):
- refused when an import declaration carries no invoice (CUS-INVOICE-MISSING);
- red channel -> inspection ("physical inspection at <checkpoint>") for arms and ammunition (HS
  chapter 93) or a declared value per net kg below an implausibility floor;
- yellow channel -> granted with a document check, for excise goods or a doubtful value per kg;
- green channel -> granted;
- duties: ad valorem by HS chapter plus VAT on (customs value + duty), in the invoice currency;
  none for transit or export;
- charges (issue 20): what is payable before release, in KZT (payments are made in national
  currency, reference customs-payments-kz.md row 15, C): duty and VAT on the customs value
  converted at the simulator's own rate of the day (row 26 says the rate of the registration day
  applies; the rates here are invented), plus the declaration fee of Government decree No. 171
  (row 12, C, 2018 text). Each line is computed exactly and rounded once, half up, to the tiyn.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from flask import Flask
from lxml import etree

from simulators.common import (
    CONTRACTS,
    Decision,
    Numbers,
    SimulatorOptions,
    chapter,
)
from simulators.guarantees import GuaranteeRegister
from simulators.soap import append_outcome, children, create_soap_app, sub, text

NS = "urn:kz:kgd:customs:declaration:1"
WSDL = CONTRACTS / "customs" / "customs.wsdl"

RED_CHAPTERS = {"93": "arms and ammunition (HS chapter 93)"}
YELLOW_CHAPTERS = {"22": "excise goods: beverages and spirits", "24": "excise goods: tobacco"}
# Declared value per net kg: below the first figure the value is implausible (red), below the
# second it is doubtful (yellow). Per invoice currency; other currencies are not checked.
VALUE_PER_KG_FLOORS = {
    "USD": (Decimal("0.10"), Decimal("0.30")),
    "EUR": (Decimal("0.10"), Decimal("0.30")),
    "CNY": (Decimal("0.70"), Decimal("2.00")),
    "KZT": (Decimal("50"), Decimal("150")),
}
# Ad valorem import duty by HS chapter, percent. Illustrative simulator values, NOT the EAEU Common
# Customs Tariff (not in shared/reference; R).
DUTY_PERCENT = {
    "01": Decimal(0),
    "02": Decimal(15),
    "07": Decimal(10),
    "08": Decimal(10),
    "22": Decimal(20),
    "30": Decimal(0),
    "84": Decimal(0),
    "87": Decimal(15),
}
DEFAULT_DUTY_PERCENT = Decimal(5)
# R (unconfirmed, not in shared/reference): Kazakhstan's 2026 Tax Code sets VAT at 16 %.
VAT_PERCENT = Decimal(16)
# Synthetic 5-digit customs office code (identifiers.md §6: real KZ codes were not found).
OFFICE_CODE = "99999"
TRANSIT_DAYS = 8  # simulator value for the transit time limit

CENT = Decimal("0.01")
# Invented exchange rates (KZT per unit) standing in for the National Bank's rate of the day.
KZT_PER_UNIT = {
    "KZT": Decimal(1),
    "USD": Decimal(500),
    "EUR": Decimal(540),
    "CNY": Decimal(70),
    "RUB": Decimal("6.2"),
}
DECLARATION_FEE_TIYN = 19_000_00  # decree No. 171 of 05.04.2018: main sheet (reference row 12, C)
PAYMENT_DAYS = 10  # simulator value: charges are due this many days after registration
# KBKs confirmed in the reference (rows 7-9, C).
KBK = {"customs-duty": "106104", "vat": "105102", "agency-fee": "106201"}
LEGAL_BASIS = {
    "customs-duty": "EAEU Common Customs Tariff, import duty at the simulator's rate for the chapter",
    "vat": "Tax Code of the RK (2026): VAT on goods imported from outside the EAEU, 16 %",
    "agency-fee": "Government decree No. 171 of 05.04.2018: customs fee for the declaration",
}


def create_app(options: SimulatorOptions | None = None) -> Flask:
    releases = Numbers("KZ-CUS")
    registrations = Numbers(OFFICE_CODE)

    def register(request: etree._Element) -> etree._Element:
        today = dt.date.today()
        reference = f"{OFFICE_CODE}/{today:%d%m%y}/{registrations.serial():07d}"
        decision, channel, duties = decide(request, today)
        if decision.status == "granted":
            decision.permit_number = releases.next(today)
        decision.reference = reference
        charges = assess(request, today) if decision.status == "granted" else []
        return render(request, decision, channel, duties, charges)

    guarantees = GuaranteeRegister()

    def check_guarantee(request: etree._Element) -> etree._Element:
        """Issue 20: does the offered guarantee secure what the application owes?"""
        owed = children(request, "AmountOwed")[0]
        verdict = guarantees.check(
            application_id=text(request, "ApplicationId"),
            reference=text(request, "GuaranteeReference"),
            guarantor_bin=text(request, "GuarantorBIN"),
            owed_minor=int(owed.text or "0"),
            owed_currency=owed.get("currency", ""),
            today=dt.date.today(),
        )
        answer = etree.Element(f"{{{NS}}}CheckGuaranteeResponse", nsmap={None: NS})
        sub(answer, "GuaranteeReference", text(request, "GuaranteeReference"))
        sub(answer, "ApplicationId", text(request, "ApplicationId"))
        sub(answer, "Status", "accepted" if verdict.accepted else "refused")
        if verdict.code:
            sub(answer, "ReasonCode", verdict.code)
            sub(answer, "Reason", verdict.reason)
        return answer

    def release_guarantee(request: etree._Element) -> etree._Element:
        """Issue 20: the gateway no longer needs the guarantee reserved for the application."""
        released = guarantees.release(
            application_id=text(request, "ApplicationId"),
            reference=text(request, "GuaranteeReference"),
        )
        answer = etree.Element(f"{{{NS}}}ReleaseGuaranteeResponse", nsmap={None: NS})
        sub(answer, "GuaranteeReference", text(request, "GuaranteeReference"))
        sub(answer, "ApplicationId", text(request, "ApplicationId"))
        sub(answer, "Status", "released" if released else "not-reserved")
        return answer

    app = create_soap_app(
        "customs",
        WSDL,
        {f"{{{NS}}}RegisterDeclarationRequest": register},
        options or SimulatorOptions(),
        permit_of=lambda answer: text(answer, "ReleaseNumber") or None,
        direct={
            f"{{{NS}}}CheckGuaranteeRequest": check_guarantee,
            f"{{{NS}}}ReleaseGuaranteeRequest": release_guarantee,
        },
    )
    app.extensions["guarantees"] = guarantees
    return app


Duties = list[tuple[str, Decimal, Decimal, Decimal, str]]  # line, rate %, duty, VAT, currency


def decide(request: etree._Element, today: dt.date) -> tuple[Decision, str, Duties]:
    """The decision, the risk channel and the duty lines for one declaration."""
    procedure = text(request, "ProcedureCode")
    checkpoint = text(request, "Transport/EntryCheckpoint")
    items = children(request, "Goods/Item")
    kinds = {text(d, "Kind") for d in children(request, "Documents/Document")}
    decision = Decision(status="granted", reference="")

    if procedure == "IM40" and "invoice" not in kinds:
        decision.status = "refused"
        decision.reasons.append(
            ("CUS-INVOICE-MISSING", "An import declaration needs the commercial invoice.")
        )
    red, yellow = _risk(items)
    channel = "red" if red else "yellow" if yellow else "green"
    if red and decision.status != "refused":
        decision.status = "inspection"
        decision.inspection = (checkpoint, f"physical inspection at {checkpoint}: {red[0]}")
    elif yellow:
        decision.conditions.append(f"document check at {checkpoint}: {yellow[0]}")

    duties = _duties(items) if procedure == "IM40" else []
    if duties and decision.status == "granted":
        duty = sum((d[2] for d in duties), Decimal(0))
        vat = sum((d[3] for d in duties), Decimal(0))
        decision.conditions.append(
            f"customs payments due before release: duty {duty} and VAT {vat} {duties[0][4]}"
        )
    if procedure == "TT80" and decision.status == "granted":
        decision.valid_until = today + dt.timedelta(days=TRANSIT_DAYS)
        decision.conditions.append(
            f"customs transit: present the goods at the exit customs office by {decision.valid_until}"
        )
    return decision, channel, duties


def _risk(items: list[etree._Element]) -> tuple[list[str], list[str]]:
    red: list[str] = []
    yellow: list[str] = []
    for item in items:
        line, hs = text(item, "LineNumber"), text(item, "CommodityCode")
        if chapter(hs) in RED_CHAPTERS:
            red.append(f"line {line}: {RED_CHAPTERS[chapter(hs)]}")
        elif chapter(hs) in YELLOW_CHAPTERS:
            yellow.append(f"line {line}: {YELLOW_CHAPTERS[chapter(hs)]}")
        value_node = children(item, "CustomsValue")[0]
        floors = VALUE_PER_KG_FLOORS.get(value_node.get("currency", ""))
        net = Decimal(text(item, "NetMassKg"))
        if floors and net > 0:
            per_kg = Decimal(value_node.text or "0") / net
            shown = f"{per_kg.quantize(CENT)} {value_node.get('currency')}/kg"
            if per_kg < floors[0]:
                red.append(f"line {line}: declared value {shown} is implausibly low")
            elif per_kg < floors[1]:
                yellow.append(f"line {line}: declared value {shown} is doubtful")
    return red, yellow


def _duties(items: list[etree._Element]) -> Duties:
    lines: Duties = []
    for item in items:
        value_node = children(item, "CustomsValue")[0]
        value = Decimal(value_node.text or "0")
        rate = DUTY_PERCENT.get(chapter(text(item, "CommodityCode")), DEFAULT_DUTY_PERCENT)
        duty = (value * rate / 100).quantize(CENT, ROUND_HALF_UP)
        vat = ((value + duty) * VAT_PERCENT / 100).quantize(CENT, ROUND_HALF_UP)
        lines.append((text(item, "LineNumber"), rate, duty, vat, value_node.get("currency", "")))
    return lines


Charge = tuple[str, int, dt.date]  # kind, tiyn, due


def assess(request: etree._Element, today: dt.date) -> list[Charge]:
    """The charges payable in KZT for an import declaration (none for transit or export, and none
    when an item's currency has no simulator rate: the declarant then pays at the office)."""
    if text(request, "ProcedureCode") != "IM40":
        return []
    duty = vat = Decimal(0)
    for item in children(request, "Goods/Item"):
        value_node = children(item, "CustomsValue")[0]
        rate_of_day = KZT_PER_UNIT.get(value_node.get("currency", ""))
        if rate_of_day is None:
            return []
        value_tiyn = Decimal(value_node.text or "0") * rate_of_day * 100
        rate = DUTY_PERCENT.get(chapter(text(item, "CommodityCode")), DEFAULT_DUTY_PERCENT)
        line_duty = (value_tiyn * rate / 100).quantize(Decimal(1), ROUND_HALF_UP)
        duty += line_duty
        vat += ((value_tiyn + line_duty) * VAT_PERCENT / 100).quantize(Decimal(1), ROUND_HALF_UP)
    due = today + dt.timedelta(days=PAYMENT_DAYS)
    charges = [("customs-duty", int(duty), due), ("vat", int(vat), due)]
    charges.append(("agency-fee", DECLARATION_FEE_TIYN, due))
    return [c for c in charges if c[1] > 0]


def render(
    request: etree._Element,
    decision: Decision,
    channel: str,
    duties: Duties,
    charges: list[Charge] | None = None,
) -> etree._Element:
    answer = etree.Element(f"{{{NS}}}RegisterDeclarationResponse", nsmap={None: NS})
    sub(answer, "CaseId", text(request, "CaseId"))
    sub(answer, "RegistrationNumber", decision.reference)
    sub(answer, "Status", decision.status)
    sub(answer, "RiskChannel", channel)
    append_outcome(answer, decision, "ReleaseNumber")
    if duties:
        node = sub(answer, "Duties")
        for line, rate, duty, vat, currency in duties:
            row = sub(node, "Line")
            sub(row, "LineNumber", line)
            sub(row, "DutyRatePercent", rate)
            sub(row, "Duty", duty).set("currency", currency)
            sub(row, "VAT", vat).set("currency", currency)
        # Totals are in the first line's currency: the simulator assumes one invoice currency.
        currency = duties[0][4]
        sub(node, "TotalDuty", sum((d[2] for d in duties), Decimal(0))).set("currency", currency)
        sub(node, "TotalVAT", sum((d[3] for d in duties), Decimal(0))).set("currency", currency)
    if charges:
        node = sub(answer, "Charges")
        for kind, tiyn, due in charges:
            row = sub(node, "Charge")
            sub(row, "Kind", kind)
            sub(row, "Amount", tiyn).set("currency", "KZT")
            sub(row, "LegalBasis", LEGAL_BASIS[kind])
            sub(row, "Due", due.isoformat())
            sub(row, "KBK", KBK[kind])
    return answer
