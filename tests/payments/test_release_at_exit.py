"""Release only when paid (issue 20 item 3): granted by every agency is not released; the exit
barrier stays shut with the reason until the treasury confirms the payment, then opens."""

from __future__ import annotations

from typing import Any

import pytest
from lxml import etree

from gateway.resources import contracts_root
from gateway.trust.xmlparse import parse_xml
from simulators.treasury import RunningTreasury
from tests.checkpoint.conftest import Checkpoint, fresh_plate
from tests.payments.test_payment_flow import _cli_env
from tests.polling import wait_until

DEC = "{urn:kz:nsw:decision:1}"
STAGES = ("entry", "radiation", "parameters", "scan", "documents")
PLATE = "123ABC02"


def _to_the_exit(cp: Checkpoint, application_id: str) -> dict[str, Any]:
    assert cp.notice(PLATE, [application_id]).status_code == 202
    for stage in STAGES:
        cp.clock.advance(seconds=3)
        assert cp.stage(stage, PLATE).status_code == 201
    cp.clock.advance(seconds=3)
    return dict(cp.stage("exit", PLATE).json())


def test_assessed_ordered_paid_released_and_out(
    checkpoint_with_treasury: tuple[Checkpoint, RunningTreasury], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The clock moves by seconds only: the treasury signs with real time, which must stay fresh.
    cp, _treasury = checkpoint_with_treasury
    application_id = cp.lodge("fresh-apples-import", fresh_plate(PLATE))

    # Granted by every agency, with customs charges: not released.
    assert cp.status(application_id)["verdict"] == "granted"
    schema = etree.XMLSchema(
        etree.parse(str(contracts_root() / "wsdl" / "application" / "decision.xsd"))
    )
    granted = parse_xml(cp.client.decision(application_id) or b"")
    schema.assertValid(granted)
    assert granted.findtext(f"{DEC}Outcome") == "granted"
    assert "released once the payment order is paid" in (granted.findtext(f"{DEC}Summary") or "")

    # Unpaid: the exit stays shut and says why.
    held = _to_the_exit(cp, application_id)
    assert held["status"] == "directed"
    assert held["direction"]["lane"] == "customs-payment"
    assert "not released" in held["direction"]["why"]
    assert "payment-order" in held["direction"]["why"]

    # The declarant pays through the treasury; its signed confirmation releases the application.
    from click.testing import CliRunner

    from gateway.cli.main import main

    _cli_env(cp.services, monkeypatch)
    paid = CliRunner().invoke(main, ["pay", application_id], catch_exceptions=False)
    assert paid.exit_code == 0, paid.output
    assert cp.status(application_id)["verdict"] == "released"
    released = parse_xml(cp.client.decision(application_id) or b"")
    schema.assertValid(released)
    assert released.findtext(f"{DEC}Outcome") == "released"
    payment = released.find(f"{DEC}Payment")
    order = cp.client.payment_order(application_id)
    assert payment is not None
    assert payment.get("reference") == order["order"]["paymentReference"]
    assert int(payment.get("totalMinor", "0")) == order["order"]["total"]

    # The exit opens now.
    cp.clock.advance(seconds=3)
    opened = wait_until(
        lambda: (a := cp.stage("exit", PLATE).json())["status"] == "open-barrier" and a,
        what="the barrier to open",
    )
    assert opened["status"] == "open-barrier"
    kinds = [m.kind for m in cp.services.store.messages(application_id)]
    assert kinds.count("decision") == 2  # granted, then released
    assert {"payment-order", "payment-callback", "payment-settlement", "barrier-command"} <= set(
        kinds
    )
