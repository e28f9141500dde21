"""The company's permits (issue 21, item 3, after issue 20 item 4): the list of a holder's permits
— balance and unit, validity, state, write-offs — and one permit's page.

They read what `GET /api/v1/permits?holder=BIN` and `GET /api/v1/permits/<id>` read, through the
same permit service (`gateway.billing.permits.PermitBook`), for the signed-in company and the
companies it is registered to represent. Another company's permit answers exactly as an id that
does not exist (404, the API's sentence); another company's list, the API's `not-your-permit`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import current_app, render_template, request
from flask_babel import format_decimal

from gateway.billing.errors import NotYourPermit
from gateway.billing.permits import PermitBook
from gateway.errors import NotFound
from gateway.i18n import Text
from gateway.limits import IDENTIFIER
from gateway.portal.auth import trader
from gateway.portal.blueprint import bp
from gateway.web.params import path_text


def quantity(value: str, unit: str) -> str:
    """A stored quantity ("6.500") in the reader's number format, with its unit ("6,5 t")."""
    return f"{format_decimal(Decimal(value), format='#,##0.###')} {unit}"


def _book() -> PermitBook:
    book: PermitBook = current_app.extensions["nsw-permits"]
    return book


@bp.get("/permits")
def permits() -> str:
    who = trader()
    holder = request.args.get("holder") or who.bin
    if not who.may_act_for(holder):
        raise NotYourPermit(  # the API's answer to the same question (gateway.billing.permit_web)
            Text(
                "BIN %(holder)s is neither your company nor one you are registered to represent.",
                holder=holder[:12],
            )
        )
    return render_template(
        "portal/permits.html",
        holder=holder,
        companies=who.companies(),
        permits=_book().of_holder(holder),
        quantity=quantity,
    )


@bp.get("/permits/<permit_id>")
def permit(permit_id: str) -> str:
    path_text(permit_id, IDENTIFIER, "permit")
    found = _book().permits.get(permit_id)
    if found is None or not trader().may_act_for(str(found.holder)):
        raise NotFound(  # the API's sentence: whether the id exists is not told
            Text(
                "There is no permit %(permit_id)s issued to your company, to a company you "
                "represent or by your agency.",
                permit_id=permit_id,
            )
        )
    shown: dict[str, Any] = _book().show(permit_id)
    return render_template("portal/permit.html", permit=shown, quantity=quantity)
