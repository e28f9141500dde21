"""Stand-in transport control (Ministry of Transport): POST /v1/transport-checks per
wsdl/transport/openapi.json.

Rules (shared/reference/transport-limits.md):
- gross vehicle mass against the limit for the axle count (§3, Order No. 342: 3 axles 25 t, 4 axles
  32 t, 5 axles 38 t, 6 or more 44 t are C; 2 axles 18 t is R, unconfirmed). Over the limit ->
  inspection: "weighing control at <checkpoint>: declared X kg exceeds Y kg for N axles";
- a carrier registered outside Kazakhstan -> granted with the condition that a foreign-carrier permit
  is required (§4, Order No. 353; the EAEU carriers' exemption is R and not applied here);
- granted otherwise, valid 10 days.

§3 notes that road trains are limited by configuration (e.g. 3+3 articulated = 40 t), not just by
axle count; the canonical application carries only the count, so the single-vehicle table is used.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from flask import Flask

from simulators.common import CONTRACTS, Decision, Numbers, SimulatorOptions
from simulators.rest import create_rest_app

CONTRACT = CONTRACTS / "transport" / "openapi.json"
MASS_LIMIT_KG = {2: 18_000, 3: 25_000, 4: 32_000, 5: 38_000}  # 2 axles: R, unconfirmed
MASS_LIMIT_KG_6_OR_MORE = 44_000
PERMIT_VALID_DAYS = 10


def mass_limit_kg(axles: int) -> int | None:
    """The gross mass limit for `axles`, or None for a count the table does not cover (1)."""
    return MASS_LIMIT_KG_6_OR_MORE if axles >= 6 else MASS_LIMIT_KG.get(axles)


def create_app(options: SimulatorOptions | None = None) -> Flask:
    permits = Numbers("KZ-TRN")
    files = Numbers("TRN")

    def check(body: dict[str, Any]) -> Decision:
        today = dt.date.today()
        decision = decide(body, today)
        decision.reference = files.next(today)
        if decision.status == "granted":
            decision.permit_number = permits.next(today)
        return decision

    return create_rest_app(
        "transport", CONTRACT, "requestTransportCheck", check, options or SimulatorOptions()
    )


def decide(body: dict[str, Any], today: dt.date) -> Decision:
    decision = Decision(status="granted", reference="")
    vehicle, carrier, checkpoint = body["vehicle"], body["carrier"], body["checkpoint"]
    axles = vehicle["axles"]
    declared = Decimal(str(vehicle["grossMassKg"]))
    limit = mass_limit_kg(axles)
    if limit is None:
        decision.status = "refused"
        decision.reasons.append(
            ("TRN-AXLES-UNKNOWN", f"no gross mass limit is defined for {axles} axle(s)")
        )
        return decision
    if carrier["country"] != "KZ":
        decision.conditions.append(
            f"foreign-carrier permit required: carrier registered in {carrier['country']} "
            "(Order No. 353 of 27.03.2015)"
        )
    if declared > limit:
        decision.status = "inspection"
        decision.inspection = (
            checkpoint,
            f"weighing control at {checkpoint}: declared {declared:f} kg exceeds {limit} kg "
            f"for {axles} axles",
        )
        decision.conditions.append(
            "carriage above the mass limits needs a special permit for heavy cargo "
            "(Order No. 206 of 27.02.2015)"
        )
        return decision
    decision.valid_until = today + dt.timedelta(days=PERMIT_VALID_DAYS)
    return decision
