"""A stand-in REST agency described entirely by a TOML file: how a new agency joins the demo and the
tests without code (issue 5 item 7).

    code = "radiation"                      # signs as agency-<code> from the PKI directory
    contract = "tests/data/fifth_agency/openapi.json"   # relative to the project root
    operation = "requestRadiationCheck"     # the POST operation answered
    permit_prefix = "KZ-RAD"                # permit numbers; files get the code in capitals
    valid_days = 10

    [[rule]]                                # first rule whose hs_prefixes match a product wins
    hs_prefixes = ["2612", "2844"]
    status = "inspection"                   # or "refused" (with code) or "granted"
    code = "RAD-SOURCE"
    text = "radiation portal monitoring at the checkpoint"

Products are read from the body's `products[].hsCode`; no rule matched: granted.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path
from typing import Any

from flask import Flask

from simulators.common import Decision, Numbers, SimulatorOptions
from simulators.rest import create_rest_app

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def load(path: Path) -> dict[str, Any]:
    config = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    for key in ("code", "contract", "operation"):
        if key not in config:
            raise ValueError(f"{path}: a configured agency needs {key!r}")
    return config


def create_app(config: dict[str, Any], options: SimulatorOptions | None = None) -> Flask:
    code = config["code"]
    permits = Numbers(config.get("permit_prefix", f"KZ-{code[:3].upper()}"))
    files = Numbers(code.upper())
    rules: list[dict[str, Any]] = config.get("rule", [])

    def decide(body: dict[str, Any]) -> Decision:
        today = dt.date.today()
        decision = Decision(status="granted", reference=files.next(today))
        codes = [str(p.get("hsCode", "")) for p in body.get("products", [])]
        rule = next(
            (r for r in rules if any(c.startswith(tuple(r["hs_prefixes"])) for c in codes)), None
        )
        if rule is not None and rule["status"] == "inspection":
            decision.status = "inspection"
            decision.inspection = (str(body.get("checkpoint", "")), rule["text"])
        elif rule is not None and rule["status"] == "refused":
            decision.status = "refused"
            decision.reasons.append((rule["code"], rule["text"]))
        else:
            decision.permit_number = permits.next(today)
            decision.valid_until = today + dt.timedelta(days=int(config.get("valid_days", 10)))
        return decision

    return create_rest_app(
        code,
        PROJECT_ROOT / config["contract"],
        config["operation"],
        decide,
        options or SimulatorOptions(),
    )
