"""A treasury confirmation settled against its order (issue 20), in one transaction: the order
locked, the earlier settlements read, the rule applied, the result recorded, the application
released (or its guarantee discharged) when paid in full. Also the stored reconciliations and
the refused callbacks kept in the trail."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.billing.ports import SettleRule
from gateway.payments.settlement import ApplicationState, Confirmation, Outcome, Settlement
from gateway.storage.models import ApplicationRow
from gateway.storage.payment_models import (
    PaymentConfirmationRow,
    PaymentOrderRow,
    ReconciliationRow,
)
from gateway.storage.payment_release import PaymentRelease
from gateway.storage.payment_rows import order_of, settlement_of
from gateway.trail.messages import Message


class PaymentSettling(PaymentRelease):
    """`PaymentOrders.settle_payment`, `add_reconciliation` and `record_refused`."""

    def settle_payment(
        self,
        confirmation: Confirmation,
        rule: SettleRule,
        messages: Callable[[Settlement], Sequence[Message]],
    ) -> Settlement:
        try:
            with self.transaction() as s:
                return self._settle(s, confirmation, rule, messages)
        except IntegrityError:
            # The same payment id settled concurrently: the rule now sees it as a duplicate.
            with self.transaction() as s:
                return self._settle(s, confirmation, rule, messages)

    def _settle(
        self,
        s: Session,
        new: Confirmation,
        rule: SettleRule,
        messages: Callable[[Settlement], Sequence[Message]],
    ) -> Settlement:
        now = self.clock()
        # Step 1: lock the order (settlements of one reference queue here), then read it.
        s.execute(
            update(PaymentOrderRow)
            .where(PaymentOrderRow.reference == new.reference)
            .values(status=PaymentOrderRow.status)
        )
        order_row = s.get(PaymentOrderRow, new.reference)
        order = order_of(s, order_row) if order_row else None
        app = s.get(ApplicationRow, order_row.application_id) if order_row else None
        state = (
            ApplicationState.WITHDRAWN
            if app is not None and app.status == "withdrawn"
            else ApplicationState.SUPERSEDED
            if order_row is not None and order_row.status == "superseded"
            else ApplicationState.OPEN
        )
        # Step 2: the earlier settlements of the reference, and this payment id if seen before.
        rows = list(
            s.scalars(
                select(PaymentConfirmationRow).where(
                    PaymentConfirmationRow.reference == new.reference
                )
            )
        )
        seen = s.get(PaymentConfirmationRow, new.payment_id)
        if seen is not None and seen not in rows:
            rows.append(seen)
        earlier = [settlement_of(s, r) for r in rows]
        # Step 3: the rule.
        result = rule(order, state, earlier, new)
        if result.duplicate:
            return result
        # Step 4: record it; the order and the application follow.
        s.add(
            PaymentConfirmationRow(
                payment_id=new.payment_id,
                reference=new.reference,
                amount_minor=new.amount.minor,
                currency=new.amount.currency,
                payer=new.payer[:12],
                paid_on=new.paid_on,
                outcome=result.outcome.value,
                reason=result.reason,
                counted=result.counted,
                received_minor=result.received.minor,
                outstanding_minor=result.outstanding.minor,
                refund_owed_minor=result.refund_owed.minor,
                detail=result.detail,
                received_at=now,
            )
        )
        s.flush()
        if order_row is not None and result.counted:
            order_row.received_minor = result.received.minor
            if result.outcome is Outcome.PAID and order_row.status != "paid":
                order_row.status, order_row.paid_at = "paid", now
                if app is not None and app.released_at is None and self.release_decision:
                    self._release(s, app, order_row, now)
                elif app is not None and self.release_decision:
                    self._discharge(s, app, order_row, now)
        application_id = order_row.application_id if order_row else None
        for m in messages(result):
            self._add_message(s, application_id, m)
        return result

    def add_reconciliation(
        self,
        day: dt.date,
        statement: bytes,
        differences: Sequence[dict[str, Any]],
        messages: Sequence[Message],
    ) -> None:
        with self.transaction() as s:
            s.add(
                ReconciliationRow(
                    day=day,
                    statement=statement,
                    differences=json.dumps(list(differences), sort_keys=True),
                    run_at=self.clock(),
                )
            )
            for m in messages:
                self._add_message(s, None, m)

    def record_refused(self, reference: str | None, messages: Sequence[Message]) -> None:
        with self.transaction() as s:
            application_id = (
                s.scalar(
                    select(PaymentOrderRow.application_id).where(
                        PaymentOrderRow.reference == reference
                    )
                )
                if reference
                else None
            )
            for m in messages:
                self._add_message(s, application_id, m)
