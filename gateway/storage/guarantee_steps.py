"""Guarantee steps inside a caller's transaction (issue 20 item 3): the accepted guarantee an
application's release rests on, as the decision names it, and its discharge once the order is
paid. The payment settlement, the retry of held applications and `GuaranteeStore` share them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.decision.document import GuaranteeNote
from gateway.payments.order import canonical_json
from gateway.storage.guarantee_releases import queue_release
from gateway.storage.models import ApplicationRow
from gateway.storage.payment_models import GuaranteeRow, PaymentOrderRow
from gateway.storage.repository import Store, utc
from gateway.trail.messages import Message


def accepted_guarantee(s: Session, application_id: str) -> GuaranteeRow | None:
    """The guarantee customs accepted for the application (the latest), discharged or not."""
    return s.scalars(
        select(GuaranteeRow)
        .where(GuaranteeRow.application_id == application_id, GuaranteeRow.outcome == "accepted")
        .order_by(GuaranteeRow.offered_at.desc(), GuaranteeRow.id.desc())
    ).first()


def note_of(row: GuaranteeRow) -> GuaranteeNote:
    return GuaranteeNote(
        reference=row.reference,
        guarantor_bin=row.guarantor_bin,
        amount_minor=row.amount_minor,
        currency=row.currency,
        valid_until=row.valid_until,
        accepted_at=utc(row.offered_at) or row.offered_at,
        discharged_at=utc(row.discharged_at),
    )


def discharge(
    s: Session,
    app: ApplicationRow,
    row: GuaranteeRow,
    order: PaymentOrderRow,
    now: dt.datetime,
    store: Store,
) -> None:
    """Inside the transaction that saw `order` paid in full: the guarantee that secured `app`
    is discharged (`discharged_at`), with its `guarantee-discharged` trail entry, and customs
    is owed its ReleaseGuarantee (reason `discharged`): the reservation must not outlive the
    debt, or the guarantee could never secure another application. The caller signs the
    decision that names it."""
    row.discharged_at = now
    value = {"applicationId": app.id, "guarantee": row.reference,
             "guarantorBIN": row.guarantor_bin, "paidReference": order.reference,
             "dischargedAt": now.isoformat()}  # fmt: skip
    store._add_message(
        s,
        app.id,
        Message("guarantee-discharged", "out", f"trader:{app.declarant_bin}",
                "application/json", canonical_json(value)),
    )  # fmt: skip
    queue_release(s, row, "discharged", now)
