"""The payment edges: the declarant's payment order (a signed read, like every trader read) and
the treasury's payment confirmations (RFC 9421, verified against the treasury's pinned
certificate before anything in them is believed)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from gateway.billing.errors import (
    InvalidPaymentCallback,
    PaymentCallbackSignatureInvalid,
    PaymentsNotConfigured,
)
from gateway.billing.service import Payments, settlement_json
from gateway.bootstrap import Services
from gateway.errors import GatewayError, NotFound, UnsupportedMediaType
from gateway.i18n.text import Text
from gateway.limits import APPLICATION_ID
from gateway.payments.money import Money
from gateway.payments.settlement import Confirmation
from gateway.web.body import read_body
from gateway.web.params import path_text
from gateway.web.pinned_signature import verify_pinned
from gateway.web.trader_auth import add_accept_signature, may_act_for, require_trader
from wire import httpsig

bp = Blueprint("payments", __name__, url_prefix="/api/v1")
bp.after_request(add_accept_signature)
CALLBACK_MAX_BYTES = 16 * 1024


def payments() -> Payments:
    service: Payments = current_app.extensions["nsw-payments"]
    return service


def _services() -> Services:
    svc: Services = current_app.extensions["nsw"]
    return svc


@bp.get("/applications/<application_id>/payment-order")
def payment_order(application_id: str) -> Response:
    """The signed payment order, with what was received, what is outstanding and every payment
    the treasury confirmed for it. Only for the declarant and its representatives (the same
    answer as an unknown id for anyone else)."""
    signer = require_trader()
    path_text(application_id, APPLICATION_ID, "application")
    if not may_act_for(signer, _services().store.declarant_bin(application_id)):
        raise NotFound(
            Text(
                "There is no application %(application_id)s of your company or of a company you "
                "are registered to represent.",
                application_id=application_id,
            )
        )
    service = payments()
    issued = service.order(application_id)
    order = issued.order
    received = Money(issued.received_minor, order.currency)
    outstanding = max(order.total - received, Money.zero(order.currency))
    settlements = service.orders.settlements(str(order.reference))
    app = service.payable(application_id)
    value: dict[str, Any] = {
        "order": order.as_json(),
        "signature": issued.signature,
        "status": issued.status,
        "released": app.released_at is not None,
        "received": {"minor": received.minor, "currency": received.currency},
        "outstanding": {"minor": outstanding.minor, "currency": outstanding.currency},
        "settlements": [settlement_json(r.settlement) for r in settlements],
    }
    response = jsonify(value)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/payments/callback")
def payment_callback() -> Response:
    service = payments()
    svc = _services()
    # Step 1: the treasury's pinned certificate.
    pinned = current_app.extensions.get("nsw-treasury-cert")
    if pinned is None:
        raise PaymentsNotConfigured(
            Text(
                "The gateway has no treasury certificate to check confirmations against; set "
                "NSW_TREASURY_CERT (or put agency-treasury.pem in the PKI directory)."
            )
        )
    # Step 2: signed by the treasury over method, URI, type and the body's digest.
    data = read_body(CALLBACK_MAX_BYTES)
    try:
        verify_pinned(
            data, pinned, now=service.clock(), skew=dt.timedelta(seconds=svc.config.clock_skew_s)
        )
    except httpsig.UntrustedHttpMessage as exc:
        raise PaymentCallbackSignatureInvalid(
            Text("Not signed by the treasury: %(exc)s. Nothing was recorded.", exc=exc)
        ) from exc
    # The callback as received (body and signature header fields), for the trail.
    record = json.dumps(
        {
            "method": request.method,
            "target": request.url,
            "content-digest": request.headers.get("Content-Digest"),
            "signature-input": request.headers.get("Signature-Input"),
            "signature": request.headers.get("Signature"),
            "idempotency-key": request.headers.get("Idempotency-Key"),
            "body": data.decode("utf-8", "replace"),
        },
        sort_keys=True,
    ).encode()
    try:
        # Step 3: a payment-confirmed event, read strictly.
        if request.mimetype != "application/json":
            raise UnsupportedMediaType(Text("Send the confirmation as application/json."))
        confirmation = _confirmation(data, request.headers.get("Idempotency-Key"))
        # Step 4: settle it (idempotent by payment id) and keep the callback byte-exact.
        settlement = service.confirm(confirmation, record)
    except GatewayError as refusal:
        # The treasury's, but refused: kept in the trail with its problem (docs/payments.md).
        service.keep_refused(record, refusal, _reference(data))
        raise
    return jsonify(settlement_json(settlement))


def _reference(data: bytes) -> str | None:
    """The payment reference a refused callback names, if it names one we could store."""
    try:
        reference = json.loads(data)["payment"]["paymentReference"]
    except (ValueError, KeyError, TypeError):
        return None
    return reference if isinstance(reference, str) and 0 < len(reference) <= 32 else None


def _confirmation(data: bytes, idempotency_key: str | None) -> Confirmation:
    try:
        body = json.loads(data)
        if not isinstance(body, dict) or body.get("event") != "payment-confirmed":
            raise ValueError('the event must be "payment-confirmed"')
        payment = body["payment"]
        amount = payment["amount"]
        minor = amount["minor"]
        if type(minor) is not int or minor <= 0:
            raise ValueError("amount.minor must be a positive whole number of minor units")
        payer = payment["payer"]["bin"]
        if not isinstance(payer, str) or len(payer) != 12 or not payer.isdigit():
            raise ValueError("payer.bin must be 12 digits")
        payment_id, reference = payment["paymentId"], payment["paymentReference"]
        if not isinstance(payment_id, str) or not 0 < len(payment_id) <= 64:
            raise ValueError("paymentId must be a string of 1 to 64 characters")
        if not isinstance(reference, str) or not 0 < len(reference) <= 32:
            raise ValueError("paymentReference must be a string of 1 to 32 characters")
        confirmation = Confirmation(
            payment_id=payment_id,
            reference=reference,
            amount=Money(minor, str(amount["currency"])),
            payer=payer,
            paid_on=dt.date.fromisoformat(str(payment["valueDate"])),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidPaymentCallback(
            Text(
                "The body is not a payment confirmation of wsdl/treasury/openapi.json: %(exc)s.",
                exc=exc,
            )
        ) from exc
    if idempotency_key is not None and idempotency_key != confirmation.payment_id:
        raise InvalidPaymentCallback(
            Text(
                "Idempotency-Key %(idempotency_key)r is not the payment id %(payment_id)s.",
                idempotency_key=idempotency_key[:64],
                payment_id=confirmation.payment_id,
            )
        )
    return confirmation
