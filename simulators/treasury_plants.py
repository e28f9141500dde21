"""`POST /testing/plants`: a test tells the stand-in treasury to state a payment differently in its
statements (simulators/treasury_ledger.py). Served only with `allow_planting`; unsigned.

    {"action": "omit", "paymentId": "TRY-20261207-000001"}
    {"action": "add", "paymentReference": "RF..", "amount": {"minor": 100, "currency": "KZT"},
     "date": "2026-12-07"}
    {"action": "alter", "paymentId": "TRY-...", "amount": {...}, "paymentReference": "RF.."}
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from flask import Flask, Response, request

from simulators.rest import problem
from simulators.treasury_ledger import Ledger

SOMEONE = {"bin": "000000000000", "name": "Unknown payer", "account": "KZ909980000000012345"}


def register_plants(app: Flask, ledger: Ledger) -> None:
    @app.post("/testing/plants")
    def plant() -> Response:
        try:
            body: dict[str, Any] = json.loads(request.get_data())
            action = body["action"]
            if action == "omit":
                ledger.plant_omission(str(body["paymentId"]))
                planted = str(body["paymentId"])
            elif action == "add":
                planted = ledger.plant_extra(
                    str(body["paymentReference"]),
                    int(body["amount"]["minor"]),
                    str(body["amount"]["currency"]),
                    dt.date.fromisoformat(body["date"]),
                    SOMEONE,
                )
            elif action == "alter":
                amount = body.get("amount") or {}
                ledger.plant_alteration(
                    str(body["paymentId"]),
                    minor=amount.get("minor"),
                    currency=amount.get("currency"),
                    reference=body.get("paymentReference"),
                )
                planted = str(body["paymentId"])
            else:
                return problem(422, "Unprocessable Content", f"unknown action {action!r}")
        except (ValueError, KeyError, TypeError) as exc:
            return problem(422, "Unprocessable Content", f"bad plant: {exc!r}"[:200])
        return Response(
            json.dumps({"planted": action, "paymentId": planted}),
            status=201,
            content_type="application/json",
        )
