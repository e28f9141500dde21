"""Goods items that cite a permit already granted (issue 20 item 4), checked at intake.

A citation is accepted when the gateway knows the permit, it was issued by the agency the item
names, for the item's HS code, in the unit the item declares its quantity in. Routing then does
not ask that agency for a new permit for the item (`gateway.fanout.routing.cites_permit_of`).
Whether the permit may be drawn on (holder, suspended or revoked, expiry, balance) is decided when
the application is released, on that day, under the permit's row lock: it can change between
lodging and release, and a refusal there holds the application with its own problem type.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol

from gateway.domain.application import Application
from gateway.errors import GatewayError
from gateway.i18n.text import Text
from gateway.intake.ports import CitedPermit
from gateway.payments.permits import Permit


class PermitCitationInvalid(GatewayError):
    code, status, title = (
        "permit-citation-invalid",
        422,
        "The cited permit does not cover the goods item",
    )


class PermitLookup(Protocol):
    def get(self, permit_id: str) -> Permit | None: ...


def cited_permits(application: Application, permits: PermitLookup) -> tuple[CitedPermit, ...]:
    """The application's citations, each checked against the permit it names; raises
    `PermitCitationInvalid` naming the first item whose permit does not cover it."""
    cited = []
    for item in application.items:
        if item.permit is None:
            continue
        ref = item.permit
        permit = permits.get(ref.permit_id)
        why = None
        if permit is None or permit.agency != ref.agency:
            why = Text(
                "the gateway knows no %(agency)s permit %(permit_id)s",
                agency=ref.agency,
                permit_id=ref.permit_id,
            )
        elif permit.hs_code != item.hs_code:
            why = Text(
                "permit %(permit_id)s is for HS code %(hs_code)s",
                permit_id=ref.permit_id,
                hs_code=permit.hs_code.value,
            )
        elif permit.unit != item.unit:
            why = Text(
                "permit %(permit_id)s is counted in %(unit)s, the item in %(item_unit)s",
                permit_id=ref.permit_id,
                unit=permit.unit,
                item_unit=item.unit,
            )
        if why is not None:
            raise PermitCitationInvalid(
                Text(
                    "Goods item %(line)s cites a permit that does not cover it: %(why)s. Cite a "
                    "permit granted for these goods, or leave PermitReference out to ask the "
                    "agency for a new one.",
                    line=item.line,
                    why=why,
                ),
                line=item.line,
                permitId=ref.permit_id,
            )
        cited.append(
            CitedPermit(
                item_line=item.line,
                agency=ref.agency,
                permit_id=ref.permit_id,
                hs_code=item.hs_code.value,
                quantity=Decimal(item.quantity),
                unit=item.unit,
            )
        )
    return tuple(cited)
