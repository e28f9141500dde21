"""The gateway side of payments (issue 20): payment orders issued and signed, treasury callbacks
verified and settled, reconciliation, and release only when paid. The rules are in
gateway.payments (pure); this package wires them to storage (ports), the treasury and the web."""
