"""The stand-in treasury's books: payments by id, by payment reference and by value date.

In memory, behind one lock. A payment is accepted once per Idempotency-Key (the payer's own
instruction id): the same key with the same body gets the first payment back; with another body
it is refused. Statements are made from the books, then changed by whatever a test planted
(`plant_*`): a payment left out, one added that was never notified, one whose amount, currency or
reference the statement states differently. Planting changes only statements, never the books, so
a query by reference still tells the truth and the difference is the statement's alone.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class Payment:
    payment_id: str
    reference: str
    minor: int
    currency: str
    payer: dict[str, str]  # bin, name, account
    value_date: dt.date
    received_at: str  # RFC 3339, UTC

    def as_json(self) -> dict[str, Any]:
        return {
            "paymentId": self.payment_id,
            "paymentReference": self.reference,
            "amount": {"minor": self.minor, "currency": self.currency},
            "payer": dict(self.payer),
            "valueDate": self.value_date.isoformat(),
            "receivedAt": self.received_at,
        }


class KeyReused(Exception):
    """The Idempotency-Key was used before for another payment instruction."""


@dataclass
class _Plants:
    omitted: set[str] = field(default_factory=set)
    added: list[Payment] = field(default_factory=list)
    altered: dict[str, dict[str, Any]] = field(default_factory=dict)


class Ledger:
    """Thread-safe books of one running treasury."""

    def __init__(self, prefix: str = "TRY") -> None:
        self._prefix = prefix
        self._serial = 0
        self._payments: dict[str, Payment] = {}
        self._by_key: dict[str, tuple[dict[str, Any], str]] = {}
        self._plants = _Plants()
        self._lock = threading.Lock()

    def _next_id(self, day: dt.date) -> str:
        self._serial += 1
        return f"{self._prefix}-{day:%Y%m%d}-{self._serial:06d}"

    def accept(
        self, key: str, instruction: dict[str, Any], day: dt.date, now: dt.datetime
    ) -> tuple[Payment, bool]:
        """(the payment for `instruction`, new?). Raises `KeyReused` for a reused key."""
        with self._lock:
            if key in self._by_key:
                first, payment_id = self._by_key[key]
                if first != instruction:
                    raise KeyReused(key)
                return self._payments[payment_id], False
            payment = Payment(
                self._next_id(day),
                instruction["paymentReference"],
                instruction["amount"]["minor"],
                instruction["amount"]["currency"],
                dict(instruction["payer"]),
                day,
                now.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            )
            self._payments[payment.payment_id] = payment
            self._by_key[key] = (instruction, payment.payment_id)
            return payment, True

    def by_reference(self, reference: str) -> list[Payment]:
        with self._lock:
            return [p for p in self._payments.values() if p.reference == reference]

    def statement(self, day: dt.date) -> list[Payment]:
        """The payments credited on `day`, as the statement states them (plants applied)."""
        with self._lock:
            lines = [
                self._altered(p)
                for p in self._payments.values()
                if p.value_date == day and p.payment_id not in self._plants.omitted
            ]
            lines += [p for p in self._plants.added if p.value_date == day]
        return sorted(lines, key=lambda p: p.payment_id)

    def _altered(self, payment: Payment) -> Payment:
        change = self._plants.altered.get(payment.payment_id)
        return replace(payment, **change) if change else payment

    # --- differences a test plants in the statements ---------------------------------------------

    def plant_omission(self, payment_id: str) -> None:
        """Statements leave this payment out (the gateway will find it "missing")."""
        with self._lock:
            self._plants.omitted.add(payment_id)

    def plant_extra(
        self, reference: str, minor: int, currency: str, day: dt.date, payer: dict[str, str]
    ) -> str:
        """Statements list a payment the treasury never notified ("extra" or "unknown-reference");
        returns its payment id."""
        with self._lock:
            payment = Payment(
                self._next_id(day), reference, minor, currency, dict(payer), day,
                dt.datetime.combine(day, dt.time(12), dt.UTC).isoformat().replace("+00:00", "Z"),
            )  # fmt: skip
            self._plants.added.append(payment)
            return payment.payment_id

    def plant_alteration(
        self,
        payment_id: str,
        *,
        minor: int | None = None,
        currency: str | None = None,
        reference: str | None = None,
    ) -> None:
        """Statements state this payment with another amount, currency or reference."""
        change = {"minor": minor, "currency": currency, "reference": reference}
        with self._lock:
            if payment_id not in self._payments:
                raise KeyError(payment_id)
            self._plants.altered[payment_id] = {k: v for k, v in change.items() if v is not None}
