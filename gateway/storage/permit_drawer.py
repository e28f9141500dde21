"""Who may draw on a permit for an application (issue 20): the declarant, and the goods' owner when
the declarant is the owner's registered representative (`gateway.payments.permits.Drawer`).

The owner is the stored application's consignee (the importer the agency issued the permit to);
the registration is read in the write-off's own transaction, so a representative whose
registration was revoked before the release draws on nothing of the owner's.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.domain.application import NS
from gateway.domain.identifiers import Bin
from gateway.payments.permits import Drawer
from gateway.storage.models import ApplicationRow, RepresentativeRow
from gateway.trust.xmlparse import parse_xml


def drawer_of(s: Session, app: ApplicationRow) -> Drawer:
    """The `Drawer` of `app`'s write-offs, in transaction `s`."""
    declarant = Bin(app.declarant_bin)
    root = parse_xml(app.body, max_bytes=len(app.body) + 1)
    text = (root.findtext(f"{{{NS}}}Consignee/{{{NS}}}BIN") or "").strip()
    owner = Bin(text) if text else None  # the stored body passed the schema: a valid BIN
    if owner is None or owner == declarant:
        return Drawer(declarant)
    registration = s.scalars(
        select(RepresentativeRow.id).where(
            RepresentativeRow.principal_bin == str(owner),
            RepresentativeRow.representative_bin == str(declarant),
            RepresentativeRow.revoked_at.is_(None),
        )
    ).first()
    return Drawer(declarant, owner if registration is not None else None)
