"""An amendment that changes the assessment, through the whole gateway and the stand-in treasury
(issue 20), on both databases: a part paid order is superseded by a new order with a new
reference showing the balance; paying the balance releases the application."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.lifecycle_documents import amends
from tests.payments.conftest import Paying
from tests.payments.test_payment_flow import _pay
from tests.polling import wait_until

SAMPLE = "chilled-lamb-import"  # customs, transport, police, veterinary, health


def test_an_amendment_that_changes_the_duty_supersedes_the_part_paid_order(
    paying_gateway: Callable[..., Paying],
    signed_sample: Callable[..., bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    paying = paying_gateway()
    lodged = paying.client.submit(signed_sample(SAMPLE))
    first_decision = paying.client.wait_for_decision(lodged["id"], deadline_s=60)
    first = paying.client.payment_order(lodged["id"])
    old = first["order"]["paymentReference"]
    _pay(paying, lodged["id"], monkeypatch, "--amount", "1000.00")
    assert paying.client.payment_order(lodged["id"])["received"]["minor"] == 1000_00

    # The invoice value corrected upwards: customs assesses a higher duty and VAT.
    def more_value(raw: bytes) -> bytes:
        raw = raw.replace(b">109200.00</InvoiceValue>", b">209200.00</InvoiceValue>")
        return amends(lodged["id"], lodged["application_sha256"], 1)(raw)

    paying.client.amend(lodged["id"], signed_sample(SAMPLE, edit=more_value))

    def redecided() -> bytes | None:
        xml = paying.client.decision(lodged["id"])
        return xml if xml is not None and xml != first_decision else None

    wait_until(redecided, 60, "the amendment's decision")
    second = paying.client.payment_order(lodged["id"])
    order = second["order"]
    assert order["paymentReference"] != old and order["supersedes"] == old
    assert order["total"] > first["order"]["total"]
    assert order["credited"] == 1000_00 and order["balanceDue"] == order["total"] - 1000_00
    assert second["outstanding"]["minor"] == order["balanceDue"]
    kinds = [m.kind for m in paying.services.store.messages(lodged["id"])]
    assert kinds.count("payment-order") == 2 and "payment-order-superseded" in kinds

    # Paying the balance pays the new order and releases the application.
    assert "paid:" in _pay(paying, lodged["id"], monkeypatch)
    paid = paying.client.payment_order(lodged["id"])
    assert (
        paid["status"] == "paid" and paid["order"]["paymentReference"] == order["paymentReference"]
    )
    assert paying.client.status(lodged["id"])["verdict"] == "released"
