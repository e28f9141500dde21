"""An application's payment (issue 21, item 3, after issue 20): its payment order — reference,
total, the breakdown by beneficiary agency, what was received, what is outstanding and any refund
owed —, the signed order as a download, every payment the treasury confirmed for it, and every
guarantee offered as security for it (issue 20: reference, guarantor, amount, state).

The portal reads what the API's `GET /api/v1/applications/<id>/payment-order` reads, through the
same payment service (`gateway.billing.service.Payments`): the order is issued on first need, once
every agency granted the application, exactly as for that GET; before that, or with nothing to
pay, the page shows the API's problem. Another company's application answers 404 as every page.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Response, current_app, render_template, request
from flask_babel import format_decimal

from gateway.billing.guarantee_ports import RecordedGuarantee
from gateway.billing.ports import IssuedOrder, RecordedSettlement
from gateway.billing.service import Payments, document_bytes
from gateway.errors import GatewayError
from gateway.payments.money import Money
from gateway.portal.blueprint import bp
from gateway.portal.views import readable
from gateway.web.problems import localized_problem


def _payments() -> Payments:
    service: Payments = current_app.extensions["nsw-payments"]
    return service


def amount(money: Money) -> str:
    """An amount in the reader's number format, with its currency code (KZT has 2 decimals)."""
    digits = "#,##0." + "0" * money.exponent if money.exponent else "#,##0"
    return f"{format_decimal(money.to_decimal(), format=digits)} {money.currency}"


@dataclass(frozen=True)
class Standing:
    """How far the order is paid: received, outstanding and what is owed back, one currency."""

    received: Money
    outstanding: Money
    refund_owed: Money


def standing(issued: IssuedOrder, settlements: list[RecordedSettlement]) -> Standing:
    order = issued.order
    received = Money(issued.received_minor, order.currency)
    outstanding = max(order.total - received, Money.zero(order.currency))
    refund = Money.zero(order.currency)
    for recorded in settlements:
        owed = recorded.settlement.refund_owed
        if owed.minor and owed.currency == order.currency:
            refund = refund + owed
    return Standing(received, outstanding, refund)


def _guarantees(application_id: str) -> list[RecordedGuarantee]:
    """The guarantees offered for the application, oldest first (none where the gateway has no
    guarantee service)."""
    service = current_app.extensions.get("nsw-guarantees")
    return [] if service is None else list(service.book.of(application_id))


def _order(application_id: str) -> IssuedOrder:
    readable(application_id)  # 404 for another company's application, as every page
    return _payments().order(application_id)


@bp.get("/applications/<application_id>/payment")
def payment(application_id: str) -> str | tuple[str, int]:
    app = readable(application_id)
    try:
        issued = _order(application_id)
    except GatewayError as exc:  # not granted yet, nothing to pay, not configured: the API's
        page = render_template(
            "portal/payment.html", app=app, problem=localized_problem(exc, request.path)
        )
        return page, exc.status
    settlements = _payments().orders.settlements(str(issued.order.reference))
    released = _payments().payable(application_id).released_at is not None
    return render_template(
        "portal/payment.html",
        app=app,
        problem=None,
        issued=issued,
        order=issued.order,
        standing=standing(issued, settlements),
        settlements=settlements,
        released=released,
        guarantees=_guarantees(application_id),
        Money=Money,
        amount=amount,
    )


@bp.get("/applications/<application_id>/payment-order.json")
def payment_order(application_id: str) -> Response:
    """The signed order as served to payment software and kept in the trail: its JSON value and
    the detached JWS over its canonical bytes (`gateway.billing.signing`)."""
    issued = _order(application_id)
    response = Response(document_bytes(issued.order, issued.signature), mimetype="application/json")
    name = f"{application_id}-payment-order.json"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
