"""Money and permits (issue 20 item 5): payment orders (paid, outstanding), refunds owed; permits
with their balance, write-offs, suspensions and the applications held for a permit.

Payments are for operators and auditors (`view-payments`); permits also for agency officers,
who see their own agency's permits only (`view-permits`)."""

from __future__ import annotations

from flask import current_app, render_template

from gateway.billing.permits import PermitBook
from gateway.omc.auth import officer, requires
from gateway.omc.blueprint import bp
from gateway.omc.money_ports import MoneyViews
from gateway.omc.roles import Perm


def _money() -> MoneyViews:
    views: MoneyViews = current_app.extensions["nsw-omc-money"]
    return views


def _permits() -> PermitBook:
    book: PermitBook = current_app.extensions["nsw-permits"]
    return book


def amount(minor: int, currency: str) -> str:
    """Minor units as an amount to read (2 decimals: KZT, USD, EUR, RUB)."""
    return f"{minor // 100:,}.{minor % 100:02d} {currency}".replace(",", "\u00a0")


@bp.get("/payments")
@requires(Perm.VIEW_PAYMENTS)
def payments() -> str:
    orders = _money().orders()
    return render_template(
        "omc/payments.html",
        orders=orders,
        open_count=sum(1 for o in orders if o.status == "open"),
        refunds=_money().refunds_owed(),
        guarantees=_money().guarantees(),
        amount=amount,
    )


@bp.get("/permits")
@requires(Perm.VIEW_PERMITS)
def permits() -> str:
    who = officer()
    book = _permits()
    day = book.today()
    shown = [p for p in book.permits.everything() if who.sees_agency(p.agency)]
    ids = {p.permit_id for p in shown}
    return render_template(
        "omc/permits.html",
        permits=[(p, p.state_on(day).value) for p in shown],
        write_offs=[w for w in book.permits.write_offs() if w.permit_id in ids],
        holds=[h for h in book.holds() if h.permit_id in ids],
    )
