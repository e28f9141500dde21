"""An application's payment on the portal (issue 21, item 3): the order — reference, total,
breakdown by beneficiary, paid, outstanding, refund owed —, the signed order as a download, and
the payment history; before a grant the API's problem; another company's: 404.

The payment service runs on its in-memory fake (tests/fakes/payments.py, held to the stores'
contract): the page only reads what the service answers."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from gateway.billing.ports import PayableApplication
from gateway.billing.service import Payments
from gateway.billing.signing import verify_detached
from gateway.payments.money import Money
from gateway.payments.order import canonical_json
from gateway.payments.settlement import Confirmation
from gateway.pki.dev import DevPki
from gateway.trust.xmlsig import SigningIdentity
from tests.fakes.payments import FakePaymentOrders
from tests.payments.guarantee_rows import store_guarantees
from wire.keys import load_certificate

Client = Callable[[str], FlaskClient]
NOW = dt.datetime(2026, 12, 7, 4, 0, tzinfo=dt.UTC)
ACCOUNT = "KZ909980000000012345"
STEPPE = "210540012341"
CHARGES = (
    ("customs", ({"kind": "customs-duty", "amount": 792_000_00, "currency": "KZT",
                  "legalBasis": "tariff", "due": "2026-12-17", "kbk": "106104"},)),
    ("health", ({"kind": "agency-fee", "amount": 19_000_00, "currency": "KZT",
                 "legalBasis": "decree No. 171", "due": "2026-12-17"},)),
)  # fmt: skip


def text(answer: TestResponse) -> str:
    """The page's markup, whitespace collapsed."""
    return " ".join(html.unescape(answer.get_data(as_text=True)).split())


def words(answer: TestResponse) -> str:
    """What a reader sees of the page: its text without the markup, whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", answer.get_data(as_text=True))).split())


@pytest.fixture
def fake(portal_app: Flask, pki: DevPki) -> FakePaymentOrders:
    """The app's payment service, on the fake."""
    orders = FakePaymentOrders(lambda: NOW)
    identity = SigningIdentity.from_files(pki.key_path("gateway"), pki.cert_path("gateway"))
    portal_app.extensions["nsw-payments"] = Payments(
        orders, identity, lambda: NOW, payee_account=ACCOUNT
    )
    return orders


def lodge(app: Flask, signed_sample: Callable[..., bytes], name: str) -> str:
    answer = app.test_client().post(
        "/api/v1/applications", data=signed_sample(name), content_type="application/xml"
    )
    application_id: str = answer.get_json()["id"]
    return application_id


def granted(fake: FakePaymentOrders, application_id: str, verdict: str | None) -> None:
    fake.applications[application_id] = PayableApplication(
        application_id, STEPPE, verdict, NOW if verdict else None, None, CHARGES
    )


def pay(portal_app: Flask, reference: str, payment_id: str, minor: int) -> None:
    service: Payments = portal_app.extensions["nsw-payments"]
    paid = Confirmation(payment_id, reference, Money(minor, "KZT"), STEPPE, dt.date(2026, 12, 7))
    service.confirm(paid, b"{}")


def test_the_order_its_payments_and_the_refund_owed_are_shown(
    portal_app: Flask, fake: FakePaymentOrders, trader_client: Client,
    signed_sample: Callable[..., bytes], pki: DevPki,
) -> None:  # fmt: skip
    application_id = lodge(portal_app, signed_sample, "fresh-apples-import")
    steppe = trader_client("trader-steppe")
    path = f"/portal/applications/{application_id}/payment"

    # Before every agency granted it: the API's problem, on the page.
    granted(fake, application_id, None)
    early = steppe.get(path, headers={"Accept-Language": "ru"})
    assert early.status_code == 409
    assert 'data-problem-type="urn:kz:nsw:problem:payment-order-not-ready"' in text(early)
    assert "Платёжного поручения ещё нет" in text(early)

    granted(fake, application_id, "granted")
    page = words(steppe.get(path))
    reference = str(next(iter(fake.orders.values())).order.reference)
    assert reference in page
    assert "Total 811,000.00 KZT" in page
    assert "Paid 0.00 KZT" in page and "Outstanding 811,000.00 KZT" in page
    assert "customs 792,000.00 KZT" in page and "health 19,000.00 KZT" in page
    assert "No payment has been confirmed by the treasury yet." in page

    pay(portal_app, reference, "TRY-1", 800_000_00)
    pay(portal_app, reference, "TRY-2", 20_000_00)  # 9 000.00 more than the order asks
    page = words(steppe.get(path))
    assert "Paid 820,000.00 KZT" in page and "Outstanding 0.00 KZT" in page
    assert "Refund owed 9,000.00 KZT" in page
    assert "TRY-1" in page and "TRY-2" in page and "payment-overpaid" in page
    ru = words(steppe.get(path, headers={"Accept-Language": "ru"}))
    assert "Сумма к возврату 9 000,00 KZT" in ru  # the reader's number format

    # The signed order: its JSON value and a detached JWS by the gateway's certificate.
    download = steppe.get(f"/portal/applications/{application_id}/payment-order.json")
    assert download.headers["Content-Disposition"].startswith("attachment;")
    document: dict[str, Any] = json.loads(download.data)
    assert document["order"]["paymentReference"] == reference
    verify_detached(
        document["signature"],
        canonical_json(document["order"]),
        load_certificate(pki.cert_path("gateway")),
    )


def test_the_application_s_guarantees_are_shown_in_the_reader_s_language(
    portal_app: Flask, fake: FakePaymentOrders, trader_client: Client,
    signed_sample: Callable[..., bytes],
) -> None:  # fmt: skip
    application_id = lodge(portal_app, signed_sample, "fresh-apples-import")
    steppe = trader_client("trader-steppe")
    path = f"/portal/applications/{application_id}/payment"
    granted(fake, application_id, "granted")
    assert "No guarantee has been offered for this application." in words(steppe.get(path))

    store_guarantees(portal_app.extensions["nsw"].store.engine, application_id)
    page = text(steppe.get(path))
    rows = re.findall(r'<tr data-guarantee="([^"]+)">(.*?)</tr>', page)
    shown = {ref: " ".join(re.sub(r"<[^>]+>", " ", cells).split()) for ref, cells in rows}
    assert set(shown) == {"KZ-BG-0020", "KZ-SR-0003", "KZ-BG-0001", "KZ-BG-0002"}
    assert shown["KZ-BG-0001"].startswith("KZ-BG-0001 960340000158 811,000.00 KZT 2027-01-06")
    assert "accepted" in shown["KZ-BG-0001"]
    assert "refused · expired" in shown["KZ-BG-0020"]
    assert "discharged" in shown["KZ-SR-0003"] and "991140000015" in shown["KZ-SR-0003"]
    assert "released by customs · not-needed ·" in shown["KZ-BG-0002"]  # with when
    ru = words(steppe.get(path, headers={"Accept-Language": "ru"}))
    assert "Обеспечение (гарантии)" in ru and "Гарант" in ru and "принята" in ru
    assert "освобождена таможней" in ru
    kk = words(steppe.get(path, headers={"Accept-Language": "kk"}))
    assert "Кепілгер" in kk and "қабылданды" in kk and "тоқтатылды (төленді)" in kk
    assert "кеден босатты" in kk


def test_another_companys_payment_is_not_found(
    portal_app: Flask, fake: FakePaymentOrders, trader_client: Client,
    signed_sample: Callable[..., bytes],
) -> None:  # fmt: skip
    theirs = lodge(portal_app, signed_sample, "live-cattle-import")  # Altyn's
    granted(fake, theirs, "granted")
    steppe = trader_client("trader-steppe")
    for path in (f"/portal/applications/{theirs}/payment",
                 f"/portal/applications/{theirs}/payment-order.json"):  # fmt: skip
        answer = steppe.get(path)
        assert answer.status_code == 404
    assert not fake.orders  # nothing was issued for someone else's application
