"""An in-memory `PaymentOrders` (gateway.billing.ports) honouring the database's contract: one
order per application, daily serials, one settlement per payment id, release when paid."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from gateway.billing.ports import (
    IssuedOrder,
    MakeOrder,
    MakeSuperseding,
    OrderMessages,
    PayableApplication,
    RecordedSettlement,
    SettleRule,
)
from gateway.payments.check_digits import PaymentReference
from gateway.payments.settlement import ApplicationState, Confirmation, Outcome, Settlement
from gateway.trail.messages import Message


class FakePaymentOrders:
    def __init__(self, clock: Callable[[], dt.datetime]) -> None:
        self.clock = clock
        self.applications: dict[str, PayableApplication] = {}
        self.withdrawn: set[str] = set()
        self.orders: dict[str, IssuedOrder] = {}
        self.serials: dict[dt.date, int] = {}
        self.recorded: dict[str, RecordedSettlement] = {}
        self.trail: list[tuple[str | None, Message]] = []
        self.reconciliations: list[tuple[dt.date, bytes, list[dict[str, Any]]]] = []

    def payable_application(self, application_id: str) -> PayableApplication | None:
        return self.applications.get(application_id)

    def order_for(self, application_id: str) -> IssuedOrder | None:
        return next(
            (
                o
                for o in self.orders.values()
                if o.order.application_id == application_id and o.status != "superseded"
            ),
            None,
        )

    def get(self, reference: str) -> IssuedOrder | None:
        return self.orders.get(reference)

    def issue(
        self, application_id: str, day: dt.date, make: MakeOrder, messages: OrderMessages
    ) -> IssuedOrder:
        existing = self.order_for(application_id)
        if existing is not None:
            return existing
        self.serials[day] = self.serials.get(day, 0) + 1
        order, signature = make(PaymentReference.issue(day, self.serials[day]))
        issued = IssuedOrder(order, signature, "open", 0, self.clock(), None)
        self.orders[str(order.reference)] = issued
        self.trail += [(application_id, m) for m in messages(order, signature)]
        return issued

    def supersede(
        self,
        application_id: str,
        reference: str,
        day: dt.date,
        make: MakeSuperseding,
        messages: OrderMessages,
    ) -> IssuedOrder:
        old = self.orders[reference]
        if old.status == "superseded":
            current = self.order_for(application_id)
            assert current is not None
            return current
        self.serials[day] = self.serials.get(day, 0) + 1
        order, signature = make(PaymentReference.issue(day, self.serials[day]), old.received_minor)
        self.orders[reference] = replace(old, status="superseded")
        paid = order.balance_due.minor == 0
        issued = IssuedOrder(
            order, signature, "paid" if paid else "open", order.credited, self.clock(),
            self.clock() if paid else None,
        )  # fmt: skip
        self.orders[str(order.reference)] = issued
        self.trail += [(application_id, m) for m in messages(order, signature)]
        return issued

    def settle_payment(
        self,
        confirmation: Confirmation,
        rule: SettleRule,
        messages: Callable[[Settlement], Sequence[Message]],
    ) -> Settlement:
        issued = self.orders.get(confirmation.reference)
        app_id = issued.order.application_id if issued else None
        state = (
            ApplicationState.WITHDRAWN
            if app_id in self.withdrawn
            else ApplicationState.SUPERSEDED
            if issued is not None and issued.status == "superseded"
            else ApplicationState.OPEN
        )
        earlier = [
            r.settlement
            for r in self.recorded.values()
            if r.settlement.confirmation.reference == confirmation.reference
            or r.settlement.confirmation.payment_id == confirmation.payment_id
        ]
        result = rule(issued.order if issued else None, state, earlier, confirmation)
        if result.duplicate:
            return result
        self.recorded[confirmation.payment_id] = RecordedSettlement(result, self.clock())
        if issued is not None and result.counted:
            paid = result.outcome is Outcome.PAID
            self.orders[confirmation.reference] = replace(
                issued,
                received_minor=result.received.minor,
                status="paid" if paid else issued.status,
                paid_at=issued.paid_at or (self.clock() if paid else None),
            )
            app = self.applications[issued.order.application_id]
            if paid and app.released_at is None:
                self.applications[app.id] = replace(
                    app, released_at=self.clock(), verdict="released"
                )
        self.trail += [(app_id, m) for m in messages(result)]
        return result

    def release_if_paid(self, application_id: str) -> bool:
        return False  # the fake holds no permits, so nothing it paid is ever held

    def settlements(self, reference: str) -> list[RecordedSettlement]:
        return [
            r for r in self.recorded.values() if r.settlement.confirmation.reference == reference
        ]

    def refunds_owed(self) -> list[RecordedSettlement]:
        return [r for r in self.recorded.values() if r.settlement.refund_owed.minor > 0]

    def recorded_on(self, day: dt.date) -> list[Confirmation]:
        return [
            r.settlement.confirmation
            for r in self.recorded.values()
            if r.settlement.confirmation.paid_on == day
        ]

    def references(self) -> set[str]:
        return set(self.orders)

    def add_reconciliation(
        self,
        day: dt.date,
        statement: bytes,
        differences: Sequence[dict[str, Any]],
        messages: Sequence[Message],
    ) -> None:
        self.reconciliations.append((day, statement, list(differences)))
        self.trail += [(None, m) for m in messages]

    def record_refused(self, reference: str | None, messages: Sequence[Message]) -> None:
        issued = self.orders.get(reference or "")
        application_id = issued.order.application_id if issued else None
        self.trail += [(application_id, m) for m in messages]
