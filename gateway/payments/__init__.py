"""Money, payment orders and permits as pure values and rules (issue 20).

No web, database or network here (an import-linter contract says so): the gateway's services call
these functions and persist what they return. See docs/payments.md.
"""

from gateway.payments.charges import ChargeKind, ChargeLine, confirmed_kbk
from gateway.payments.check_digits import Iban, PaymentReference
from gateway.payments.money import Money, allocate, apply_rate, total
from gateway.payments.order import PaymentOrder, canonical_json
from gateway.payments.permits import Drawer, Permit, PermitState, Quantity, Standing, WriteOff
from gateway.payments.reconcile import Difference, DifferenceKind, Statement, reconcile
from gateway.payments.settlement import (
    ApplicationState,
    Confirmation,
    Outcome,
    Settlement,
    settle,
)

__all__ = [
    "ApplicationState",
    "ChargeKind",
    "ChargeLine",
    "Confirmation",
    "Difference",
    "DifferenceKind",
    "Drawer",
    "Iban",
    "Money",
    "Outcome",
    "PaymentOrder",
    "PaymentReference",
    "Permit",
    "PermitState",
    "Quantity",
    "Settlement",
    "Standing",
    "Statement",
    "WriteOff",
    "allocate",
    "apply_rate",
    "canonical_json",
    "confirmed_kbk",
    "reconcile",
    "settle",
    "total",
]
