"""Guarantee steps inside a caller's transaction (issue 20 item 3): the accepted guarantee an
application's release rests on, as the decision names it. The payment settlement (discharge on
payment) and `GuaranteeStore` share them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.decision.document import GuaranteeNote
from gateway.storage.payment_models import GuaranteeRow
from gateway.storage.repository import utc


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
