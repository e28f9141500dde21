"""The goods items that cite a permit (issue 20): written with the application at intake, read when
it is released. Apart from `permits` so that intake's store can write them without a cycle."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.billing.permit_ports import Citation
from gateway.intake.ports import CitedPermit
from gateway.storage.permit_models import PermitCitationRow


def citations_of(s: Session, application_id: str) -> list[Citation]:
    rows = s.scalars(
        select(PermitCitationRow)
        .where(PermitCitationRow.application_id == application_id)
        .order_by(PermitCitationRow.item_line)
    )
    return [
        Citation(r.item_line, r.agency, r.permit_id, r.hs_code, r.quantity, r.unit) for r in rows
    ]


def add_citations(s: Session, application_id: str, citations: Sequence[CitedPermit]) -> None:
    """Inside intake's transaction: the application's checked citations."""
    for c in citations:
        s.add(
            PermitCitationRow(
                application_id=application_id,
                item_line=c.item_line,
                agency=c.agency,
                permit_id=c.permit_id,
                hs_code=c.hs_code,
                quantity=c.quantity,
                unit=c.unit,
            )
        )
