"""For tests about what follows payment (the gate, notifications, the OMC) rather than payment
itself: settle an application's order as if the treasury had confirmed it in full. The path
through the real treasury is tested in tests/payments/test_payment_flow.py."""

from __future__ import annotations

import secrets

from gateway.billing.service import kz_day
from gateway.billing.wiring import build_payments
from gateway.bootstrap import Services
from gateway.payments.money import Money
from gateway.payments.settlement import Confirmation, Settlement


def pay_in_full(services: Services, application_id: str) -> Settlement:
    payments = build_payments(services.config, services)
    issued = payments.order(application_id)
    order = issued.order
    outstanding = order.total - Money(issued.received_minor, order.currency)
    day = kz_day(services.clock())
    confirmation = Confirmation(
        payment_id=f"TRY-{day:%Y%m%d}-{secrets.randbelow(10**6):06d}",
        reference=str(order.reference),
        amount=outstanding,
        payer=str(order.payer),
        paid_on=day,
    )
    return payments.confirm(confirmation, b'{"settled-by":"tests.payments.settle"}')
