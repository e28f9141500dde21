"""The demo's life after lodging (issue 19): one amendment — a corrected quantity that customs
alone checks again, the other agencies untouched — and one withdrawal, whose open cases are
cancelled at every agency. Each on a consignment of its own, lodged here."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path

from lxml import etree

from gateway.cli.client import GatewayClient
from gateway.cli.lifecycle import current_version, with_amends, withdrawal_document
from gateway.trust.xmlparse import parse_xml
from gateway.trust.xmlsig import sign_enveloped

DEC = "{urn:kz:nsw:decision:1}"
MACHINERY = "overweight-machinery-transit"
APPLES = "fresh-apples-import"
Say = Callable[[str], None]


def _lodged(samples: Path, name: str, reference_prefix: bytes) -> etree._Element:
    raw = (samples / f"{name}.xml").read_bytes()
    return parse_xml(raw.replace(b"<TraderReference>", b"<TraderReference>" + reference_prefix, 1))


def _wait(condition: Callable[[], object], deadline_s: float = 60.0) -> object:
    give_up = time.monotonic() + deadline_s
    while not (value := condition()):
        if time.monotonic() > give_up:
            return None
        time.sleep(0.2)
    return value


def run_lifecycle_demo(
    samples: Path, readers: dict[str, GatewayClient], echo: Say, ok: Say, bad: Say
) -> int:
    """`readers[name]` signs as that sample's declarant. Returns the number of failed checks."""
    failures = 0
    # --- an amendment: 12 bucket assemblies were 11 ----------------------------------------------
    trader = readers[MACHINERY]
    assert trader.identity is not None
    document = _lodged(samples, MACHINERY, b"AMEND-")
    lodged = trader.submit(sign_enveloped(document, trader.identity))
    first = trader.wait_for_decision(lodged["id"], deadline_s=60)
    ok(f"{MACHINERY} (a consignment to amend): {lodged['id']}, decision version 1")
    status = trader.status(lodged["id"])
    before = {c["agency"]: c["permit_number"] for c in status["cases"]}
    corrected = _lodged(samples, MACHINERY, b"AMEND-")
    quantity = corrected.find(".//{urn:kz:nsw:application:1}Quantity")
    assert quantity is not None
    quantity.text = "11"
    with_amends(corrected, lodged["id"], status["application_sha256"], current_version(status))
    answer = trader.amend(lodged["id"], sign_enveloped(corrected, trader.identity))
    agencies = answer["agencies"]
    echo(f"   version {answer['version']}: {'; '.join(answer['changes'])}")
    echo(f"      asked again: {', '.join(agencies['reopened']) or 'none'};"
         f" untouched: {', '.join(agencies['untouched']) or 'none'}")  # fmt: skip
    if agencies["reopened"] != ["customs"]:
        failures += 1
        bad(f"expected customs alone to check again, not {agencies['reopened']}")

    def new_version() -> bytes | None:
        xml = trader.decision(lodged["id"])
        return xml if xml is not None and xml != first else None

    second = _wait(new_version)
    if not isinstance(second, bytes):
        failures += 1
        bad(f"{lodged['id']}: no new decision version within 60 s")
    else:
        decision = parse_xml(second)
        replaces = decision.find(f"{DEC}Replaces")
        cites = replaces is not None and replaces.get("sha256") == hashlib.sha256(first).hexdigest()
        after = {c["agency"]: c["permit_number"] for c in trader.status(lodged["id"])["cases"]}
        echo(f"   decision version {decision.findtext(f'{DEC}Version')} replaces version "
             f"{replaces.get('version') if replaces is not None else '?'} "
             f"(sha256 {hashlib.sha256(first).hexdigest()[:16]}...)")  # fmt: skip
        echo(f"      customs permit {before['customs']} superseded by {after['customs']}")
        same = [a for a in agencies["untouched"] if after[a] == before[a]]
        if cites and same == agencies["untouched"]:
            ok("the amendment reached customs only; the new decision names the one it replaces")
        else:
            failures += 1
            bad("the new decision version does not cite the old, or an untouched case changed")

    # --- a withdrawal: the apples will not be shipped ---------------------------------------------
    trader = readers[APPLES]
    assert trader.identity is not None
    lodged = trader.submit(sign_enveloped(_lodged(samples, APPLES, b"WITHDRAW-"), trader.identity))
    trader.wait_for_decision(lodged["id"], deadline_s=60)
    ok(f"{APPLES} (a consignment to withdraw): {lodged['id']}, decided")
    signed = sign_enveloped(
        withdrawal_document(lodged["id"], "no-longer-shipping", None), trader.identity
    )
    answer = trader.withdraw(lodged["id"], signed)
    echo(f"   withdrawn; cancelling at {', '.join(answer['cancelling'])}")

    def all_cancelled() -> dict[str, object] | None:
        status = trader.status(lodged["id"])
        done = all(c["state"] == "cancelled" for c in status["cases"])
        return status if done else None

    final = _wait(all_cancelled)
    if not isinstance(final, dict):
        failures += 1
        bad(f"{lodged['id']}: not every agency acknowledged the cancellation within 60 s")
    else:
        for permit in final["permit_history"]:
            echo(f"      {permit['agency']:<13} permit {permit['permit_number']} {permit['state']}")
        ok("every agency cancelled its case; the signed decision says withdrawn")
    return failures
