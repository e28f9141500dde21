"""For tests about what follows payment (the gate, notifications, the OMC) rather than payment
itself: settle an application's order as if the treasury had confirmed it in full. The path
through the real treasury is tested in tests/payments/test_payment_flow.py."""

from __future__ import annotations

from devtools.payments_demo import settle_in_full as pay_in_full

__all__ = ["pay_in_full"]
