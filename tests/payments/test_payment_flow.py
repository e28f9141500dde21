"""One payment order per application, paid through the stand-in treasury, confirmed by a signed
callback (issue 20 items 2-3), over real sockets on both databases."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from click.testing import CliRunner

from gateway.billing.signing import verify_detached
from gateway.bootstrap import Services
from gateway.cli.client import ApiProblem
from gateway.payments.order import canonical_json
from gateway.pki.dev import DevPki
from tests.payments.conftest import Paying


def _granted(
    paying: Paying, signed_sample: Callable[..., bytes], sample: str = "fresh-apples-import"
) -> str:
    accepted = paying.client.submit(signed_sample(sample))
    paying.client.wait_for_decision(accepted["id"], deadline_s=60)
    return str(accepted["id"])


def _cli_env(services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment `nsw` reads, pointing at this gateway's database and treasury."""
    config = services.config
    monkeypatch.setenv("NSW_DATABASE_URL", config.database_url)
    monkeypatch.setenv("NSW_PKI_DIR", str(config.pki_dir))
    monkeypatch.setenv("NSW_PAYEE_ACCOUNT", config.payee_account)
    monkeypatch.setenv("NSW_TREASURY_URL", config.treasury_url)
    monkeypatch.setenv("NSW_LOG_STATE", str(config.log_state or ""))


def _pay(paying: Paying, application_id: str, monkeypatch: pytest.MonkeyPatch, *args: str) -> str:
    """`nsw pay ID` against this gateway's database and treasury, as the demo runs it."""
    from gateway.cli.main import main

    _cli_env(paying.services, monkeypatch)
    result = CliRunner().invoke(main, ["pay", application_id, *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_one_signed_order_paid_through_the_treasury(
    paying_gateway: Callable[..., Paying],
    signed_sample: Callable[..., bytes],
    pki: DevPki,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    paying = paying_gateway()
    application_id = _granted(paying, signed_sample)

    # One order for the application, the same on every read, signed by the gateway.
    first = paying.client.payment_order(application_id)
    assert paying.client.payment_order(application_id)["order"] == first["order"]
    order = first["order"]
    assert order["applicationId"] == application_id and order["currency"] == "KZT"
    assert order["total"] == sum(line["amount"] for line in order["lines"])
    assert order["paymentReference"].startswith("RF")
    from wire.keys import load_certificate

    verify_detached(
        first["signature"], canonical_json(order), load_certificate(pki.directory / "gateway.pem")
    )
    assert first["status"] == "open" and first["outstanding"]["minor"] == order["total"]

    # Paid in full through the stand-in: the treasury's signed confirmation settles it.
    output = _pay(paying, application_id, monkeypatch)
    assert "paid:" in output
    paid = paying.client.payment_order(application_id)
    assert paid["status"] == "paid" and paid["outstanding"]["minor"] == 0
    assert [s["reason"] for s in paid["settlements"]] == ["payment-paid"]

    # Every step is in the trail: the order issued, the callback as received, the settlement.
    kinds = [m.kind for m in paying.services.store.messages(application_id)]
    assert {"payment-order", "payment-callback", "payment-settlement"} <= set(kinds)
    callback = next(
        m for m in paying.services.store.messages(application_id) if m.kind == "payment-callback"
    )
    assert json.loads(callback.body)["signature-input"]  # kept with its signature header fields


def test_partial_then_over_payment_is_held_then_refund_owed(
    paying_gateway: Callable[..., Paying],
    signed_sample: Callable[..., bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    paying = paying_gateway()
    application_id = _granted(paying, signed_sample)
    total = paying.client.payment_order(application_id)["order"]["total"]

    assert "held:" in _pay(paying, application_id, monkeypatch, "--amount", "1000.00")
    held = paying.client.payment_order(application_id)
    assert held["status"] == "open" and held["outstanding"]["minor"] == total - 100_000

    # 500 KZT more than what is outstanding: paid, and the excess is owed back.
    excess = f"{(total - 100_000 + 50_000) / 100:.2f}"
    assert "paid:" in _pay(paying, application_id, monkeypatch, "--amount", excess)
    paid = paying.client.payment_order(application_id)
    assert paid["status"] == "paid"
    assert [s["reason"] for s in paid["settlements"]] == ["payment-partial", "payment-overpaid"]
    assert paid["settlements"][1]["refundOwed"] == {"minor": 50_000, "currency": "KZT"}

    from gateway.cli.main import main

    listed = CliRunner().invoke(main, ["payments", "refunds"], catch_exceptions=False)
    assert "500.00 KZT" in listed.output and "payment-overpaid" in listed.output


def test_no_order_before_every_agency_granted(
    paying_gateway: Callable[..., Paying], signed_sample: Callable[..., bytes]
) -> None:
    paying = paying_gateway()
    refused = _granted(paying, signed_sample, "live-cattle-import")
    with pytest.raises(ApiProblem) as caught:
        paying.client.payment_order(refused)
    assert caught.value.status == 409
    assert caught.value.problem["type"] == "urn:kz:nsw:problem:payment-order-not-ready"
