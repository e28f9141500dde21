"""The permit with a balance a REST stand-in grants (issue 20), as its OpenAPI `Permit` schema
has it: the veterinary and the sanitary stand-ins build it the same way, each choosing its own
goods line (wsdl/veterinary/openapi.json, wsdl/health/openapi.json).

SIMULATOR DATA: the quantity is `consignments` times the line's net mass in kg, valid
`valid_days` from the day of the answer; no reference gives a real permit's quantity rule.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any


def balance_permit(
    holder: str,
    item: dict[str, Any],
    number: str,
    today: dt.date,
    *,
    consignments: int,
    valid_days: int,
) -> dict[str, Any]:
    """The `permit` block of an answer: permit `number` to `holder` (the importer's BIN) for the
    goods line `item` (its `line`, `hsCode`, `description`, `netMassKg`), covering this
    consignment (`consignment`: the line and its mass) and `consignments - 1` more like it."""
    mass = Decimal(str(item["netMassKg"]))
    return {
        "id": number,
        "holder": holder,
        "hsCode": item["hsCode"],
        "description": item["description"],
        "quantity": f"{mass * consignments:f}",
        "unit": "kg",
        "validFrom": today.isoformat(),
        "validUntil": (today + dt.timedelta(days=valid_days)).isoformat(),
        "consignment": {"line": item["line"], "quantity": f"{mass:f}"},
    }
