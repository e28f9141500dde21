"""Stand-in road police (Ministry of Internal Affairs): POST /v1/entry-checks per
wsdl/police/openapi.json — the vehicle and its drivers, checked at entry.

Rules (the lists are SIMULATOR DATA in this module, not police records):
- a vehicle or trailer on the stolen list -> refused (POL-VEHICLE-STOLEN): it is detained;
- a vehicle or trailer on the wanted list -> inspection: stopped for a police check at entry;
- each declared driver's licence, against the register of licences issued in Kazakhstan: unknown
  (POL-LICENCE-UNKNOWN), expired on the planned arrival day (POL-LICENCE-EXPIRED), suspended
  (POL-LICENCE-SUSPENDED) or without category C or CE for a lorry (POL-LICENCE-CATEGORY) ->
  refused. Licences issued abroad cannot be looked up here: granted with the condition that the
  national licence (and an international driving permit where the issuing state requires one) is
  shown at the booth. No driver declared: the same condition;
- a gross mass over the limit for the axle count (shared/reference/transport-limits.md §3, Order
  No. 342; the table of simulators/transport.py) needs a special permit for heavy carriage (§4,
  Order No. 206): declared -> granted with the condition that the vehicle keeps to the permit's
  route; not declared -> inspection: escorted to weighing, the carriage waits for the permit;
- granted otherwise, valid until the day after the planned arrival.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from flask import Flask

from simulators.common import CONTRACTS, Decision, Numbers, SimulatorOptions
from simulators.rest import create_rest_app
from simulators.transport import mass_limit_kg

CONTRACT = CONTRACTS / "police" / "openapi.json"
# SIMULATOR DATA: plates of vehicles and trailers reported stolen, and wanted (sought in a case).
STOLEN_PLATES = {
    "001STL02": "stolen in Almaty on 2026-10-02",
    "77AB13": "trailer stolen in Shymkent",
}
WANTED_PLATES = {"404WNT05": "sought as a vehicle involved in a road accident with casualties"}


class Licence:
    """One entry of the (simulated) register of driving licences issued in Kazakhstan."""

    def __init__(self, holder: str, valid_until: dt.date, categories: str, suspended: bool = False):
        self.holder = holder
        self.valid_until = valid_until
        self.categories = frozenset(categories.split(","))
        self.suspended = suspended


# SIMULATOR DATA: licence number -> entry. Validity dates are far in the future or past so the
# demo's outcome never changes with the date it runs on.
LICENCES = {
    "KZ02AB123456": Licence("Yerzhan Tokayev", dt.date(2034, 5, 14), "B,C,CE"),
    "KZ01CD765432": Licence("Marat Zhunusov", dt.date(2031, 9, 1), "B,C,CE"),
    "KZ08LM445566": Licence("Daniyar Seitkali", dt.date(2035, 2, 11), "B,C,CE"),
    "KZ17EF246810": Licence("Serik Abenov", dt.date(2021, 3, 30), "B,C,CE"),
    "KZ05GH135790": Licence("Ruslan Ibraimov", dt.date(2033, 1, 20), "B,C,CE", suspended=True),
    "KZ09JK112233": Licence("Asel Nurova", dt.date(2032, 7, 7), "B"),
}
LORRY_CATEGORIES = {"C", "CE"}


def create_app(options: SimulatorOptions | None = None) -> Flask:
    clearances = Numbers("KZ-POL")
    files = Numbers("POL")

    def check(body: dict[str, Any]) -> Decision:
        decision = decide(body)
        decision.reference = files.next(dt.date.today())
        if decision.status == "granted":
            decision.permit_number = clearances.next(dt.date.today())
        return decision

    return create_rest_app(
        "police", CONTRACT, "requestEntryCheck", check, options or SimulatorOptions()
    )


def decide(body: dict[str, Any]) -> Decision:
    """The decision on one request body (already valid per the contract)."""
    decision = Decision(status="granted", reference="")
    checkpoint, vehicle = body["checkpoint"], body["vehicle"]
    arrival = dt.datetime.fromisoformat(body["plannedArrival"]).date()
    plates = [p for p in (vehicle["plate"], vehicle.get("trailerPlate")) if p]
    # Step 1: the stolen and wanted lists.
    for plate in plates:
        if plate in STOLEN_PLATES:
            decision.reasons.append(
                ("POL-VEHICLE-STOLEN", f"{plate} is on the stolen list ({STOLEN_PLATES[plate]})")
            )
    wanted = [p for p in plates if p in WANTED_PLATES]
    # Step 2: the drivers' licences.
    drivers = body.get("drivers", [])
    for driver in drivers:
        _check_licence(driver, arrival, decision)
    if not drivers:
        decision.conditions.append(
            f"no driver declared: the driver shows a driving licence at the entry booth at {checkpoint}"
        )
    if decision.reasons:
        decision.status = "refused"
        return decision
    if wanted:
        decision.status = "inspection"
        plate = wanted[0]
        decision.inspection = (
            checkpoint,
            f"police check at {checkpoint}: {plate} is on the wanted list ({WANTED_PLATES[plate]})",
        )
        return decision
    # Step 3: over the mass limit, the special permit for heavy carriage.
    axles, declared = vehicle["axles"], Decimal(str(vehicle["grossMassKg"]))
    limit = mass_limit_kg(axles)
    if limit is not None and declared > limit:
        permits = body.get("specialPermits", [])
        if not permits:
            decision.status = "inspection"
            decision.inspection = (
                checkpoint,
                f"police escort to weighing at {checkpoint}: declared {declared:f} kg exceeds "
                f"{limit} kg for {axles} axles and no special permit for heavy carriage is declared "
                "(Order No. 206 of 27.02.2015)",
            )
            return decision
        decision.conditions.append(
            f"heavy carriage under special permit {permits[0]['number']}: keep to its route and "
            "escort conditions"
        )
    decision.valid_until = arrival + dt.timedelta(days=1)
    return decision


def _check_licence(driver: dict[str, Any], on: dt.date, decision: Decision) -> None:
    number, name = driver["licenceNumber"], driver["name"]
    if driver["licenceCountry"] != "KZ":
        decision.conditions.append(
            f"{name}: the licence {number} issued in {driver['licenceCountry']} is checked at the "
            "entry booth (with an international driving permit where required)"
        )
        return
    licence = LICENCES.get(number)
    if licence is None:
        decision.reasons.append(
            ("POL-LICENCE-UNKNOWN", f"{name}: no driving licence {number} was issued in Kazakhstan")
        )
    elif licence.suspended:
        decision.reasons.append(
            ("POL-LICENCE-SUSPENDED", f"{name}: the driving licence {number} is suspended")
        )
    elif licence.valid_until < on:
        decision.reasons.append(
            (
                "POL-LICENCE-EXPIRED",
                f"{name}: the driving licence {number} expired on {licence.valid_until:%Y-%m-%d}",
            )
        )
    elif not licence.categories & LORRY_CATEGORIES:
        decision.reasons.append(
            (
                "POL-LICENCE-CATEGORY",
                f"{name}: the driving licence {number} has no category C or CE for a lorry",
            )
        )
