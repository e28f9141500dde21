"""Treasury callbacks refused after their signature verified are kept in the trail, like intake's
refusals; one not signed by the treasury is not stored at all (docs/payments.md). Real gateway
and treasury on 127.0.0.1, both databases."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import requests
from sqlalchemy import select

from gateway.pki.dev import DevPki
from gateway.storage.models import MessageRow
from simulators.security import REQUEST_COMPONENTS, AgencyKeys, Message, sign_http
from tests.payments.conftest import Paying
from tests.payments.test_payment_flow import _granted, _pay

UNKNOWN = "RF07NSW20261207999999"  # no order has it


def _callback(
    paying: Paying, pki: DevPki, payment: dict[str, Any], *, signer: str = "treasury",
    event: str = "payment-confirmed",
) -> requests.Response:  # fmt: skip
    """POST a callback signed with `signer`'s key, as the treasury sends one."""
    url = f"{paying.url}/api/v1/payments/callback"
    content = json.dumps({"event": event, "payment": payment}).encode()
    headers = {"Content-Type": "application/json", "Idempotency-Key": payment["paymentId"]}
    message = Message(headers, method="POST", url=url)
    keys = AgencyKeys.load(signer, pki.directory)
    sign_http(message, content, keys.key, keys.cert, REQUEST_COMPONENTS)
    return requests.post(url, data=content, headers=message.headers, timeout=10)


def _payment(payment_id: str, reference: str, minor: int, currency: str = "KZT") -> dict[str, Any]:
    return {
        "paymentId": payment_id,
        "paymentReference": reference,
        "amount": {"minor": minor, "currency": currency},
        "payer": {"bin": "210540012341"},
        "valueDate": dt.date.today().isoformat(),
    }


def _kept(paying: Paying, kind: str) -> list[tuple[str | None, dict[str, Any]]]:
    """Trail entries of `kind`: the application each names, and its JSON value."""
    with paying.services.store.engine.connect() as c:
        rows = c.execute(
            select(MessageRow.application_id, MessageRow.body)
            .where(MessageRow.kind == kind)
            .order_by(MessageRow.id)
        ).all()
    return [(r.application_id, json.loads(r.body)) for r in rows]


def test_a_conflicting_or_malformed_treasury_callback_is_kept_and_changes_nothing(  # type: ignore[no-untyped-def]
    paying_gateway, signed_sample, pki, monkeypatch
) -> None:
    paying = paying_gateway()
    application_id = _granted(paying, signed_sample)
    _pay(paying, application_id, monkeypatch)
    paid = paying.client.payment_order(application_id)
    [first] = paid["settlements"]
    reference = paid["order"]["paymentReference"]

    # The same payment id saying another amount: 409, and the order is as it was.
    conflict = _payment(first["paymentId"], reference, first["amount"]["minor"] + 1)
    answer = _callback(paying, pki, conflict)
    assert answer.status_code == 409
    # Signed by the treasury, but not a confirmation: 422.
    malformed = _callback(paying, pki, _payment("TRY-X", reference, 100), event="payment-reversed")
    assert malformed.status_code == 422

    after = paying.client.payment_order(application_id)
    assert after["settlements"] == paid["settlements"] and after["status"] == "paid"
    kept = _kept(paying, "payment-callback-refused")
    assert [(app, value["problem"]["type"]) for app, value in kept] == [
        (application_id, "urn:kz:nsw:problem:payment-confirmation-conflict"),
        (application_id, "urn:kz:nsw:problem:invalid-payment-callback"),
    ]
    # As received: the body byte for byte and the signature it carried.
    assert json.loads(kept[0][1]["callback"]["body"])["payment"] == conflict
    assert kept[0][1]["callback"]["signature"]


def test_refused_payments_are_in_the_trail_and_a_stranger_s_callback_is_not(  # type: ignore[no-untyped-def]
    paying_gateway, signed_sample, pki
) -> None:
    paying = paying_gateway()
    application_id = _granted(paying, signed_sample)
    reference = paying.client.payment_order(application_id)["order"]["paymentReference"]

    # Refused settlements (owed back) are recorded: callback and settlement are trail entries.
    unknown = _callback(paying, pki, _payment("TRY-U", UNKNOWN, 500))
    assert unknown.status_code == 200 and unknown.json()["reason"] == "payment-unknown-reference"
    dollars = _callback(paying, pki, _payment("TRY-D", reference, 500, "USD"))
    assert dollars.status_code == 200 and dollars.json()["reason"] == "payment-wrong-currency"
    settled = [(app, v["reason"]) for app, v in _kept(paying, "payment-settlement")]
    assert settled == [
        (None, "payment-unknown-reference"), (application_id, "payment-wrong-currency"),
    ]  # fmt: skip

    # Another agency's valid key: refused, and nothing of it is stored.
    stranger = _callback(paying, pki, _payment("TRY-S", reference, 500), signer="customs")
    assert stranger.status_code == 401
    assert _kept(paying, "payment-callback-refused") == []
    assert len(_kept(paying, "payment-callback")) == 2
