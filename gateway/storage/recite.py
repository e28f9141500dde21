"""An amendment's permit citations (issues 19 and 20), inside the amendment's transaction.

The new version's goods items are checked against the permits they cite, as intake checks them
(`gateway.intake.permit_citations.cited_permits`; a citation that does not cover its item
refuses the amendment and nothing changes). When they differ from the stored ones, the stored
ones are replaced; what the application's release wrote off is credited back, and an
application already released (its release basis stands: a paid order, or nothing owed) has the
new version's quantities written off at once, in a savepoint: a refusal holds it, as at its
release. An application not released yet draws on its permits when it is.

A citation the gateway wrote itself (the consignment a permit was granted for, on the
application it was granted to) is not in the trader's document; it stays.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.billing.permit_ports import step_messages
from gateway.domain.application import Application
from gateway.intake.permit_citations import cited_permits
from gateway.payments.permits import Permit
from gateway.storage.held_retry import retry_held
from gateway.storage.models import ApplicationRow
from gateway.storage.permit_citations import add_citations
from gateway.storage.permit_models import PermitCitationRow, PermitRow
from gateway.storage.permit_steps import credit_back_in, permit_of, release_without_payment
from gateway.storage.repository import Store

Key = tuple[int, str, str, str, Decimal, str]


class _SessionPermits:
    """`PermitLookup` over the amendment's own session."""

    def __init__(self, s: Session) -> None:
        self.s = s

    def get(self, permit_id: str) -> Permit | None:
        row = self.s.get(PermitRow, permit_id)
        return permit_of(self.s, row) if row is not None else None


def recite(s: Session, app: ApplicationRow, application: Application, store: Store) -> bool:
    """Store `application`'s citations for `app` (see the module). True when they changed."""
    cited = cited_permits(application, _SessionPermits(s))  # raises PermitCitationInvalid
    stored = list(
        s.scalars(select(PermitCitationRow).where(PermitCitationRow.application_id == app.id))
    )
    granted_here = set(
        s.scalars(select(PermitRow.permit_id).where(PermitRow.granted_for == app.id))
    )
    own_lines = {r.item_line for r in stored if r.permit_id in granted_here}
    before: set[Key] = {
        (r.item_line, r.agency, r.permit_id, r.hs_code, r.quantity, r.unit)
        for r in stored
        if r.item_line not in own_lines
    }
    wanted = [c for c in cited if c.item_line not in own_lines]
    after: set[Key] = {
        (c.item_line, c.agency, c.permit_id, c.hs_code, c.quantity, c.unit) for c in wanted
    }
    if before == after:
        return False
    for r in stored:
        if r.item_line not in own_lines:
            s.delete(r)
    s.flush()
    add_citations(s, app.id, wanted)
    s.flush()
    credited = credit_back_in(s, app.id, step_messages, store)
    if app.released_at is not None:
        release_without_payment(s, app.id, store)
    # What this application no longer draws may release another held for those permits.
    retry_held(s, credited, store, getattr(store, "release_decision", None))
    return True
