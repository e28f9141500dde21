"""The stand-in treasury over real HTTP on 127.0.0.1: payments, signed callbacks, queries, signed
statements, planted differences. Signatures are checked with the gateway's own verifier."""

from __future__ import annotations

import datetime as dt
import json
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from gateway.payments import Confirmation, DifferenceKind, Money, PaymentReference, Statement
from gateway.payments import reconcile as reconcile_day
from gateway.pki.dev import DevPki
from simulators.schema_check import SchemaChecker
from simulators.treasury import CONTRACT, RunningTreasury
from tests.polling import wait_until
from tests.simulators.conftest import SKEW, STEPPE, GatewaySide, Receiver, now
from wire import httpsig
from wire.keys import load_certificate, load_rsa_key

DAY = dt.date(2026, 12, 7)
REF = str(PaymentReference.issue(DAY, 1))
OTHER_REF = str(PaymentReference.issue(DAY, 2))
DOC = json.loads(CONTRACT.read_text())
ROOT = Path(__file__).resolve().parents[2]

Start = Callable[..., RunningTreasury]
Side = Callable[[RunningTreasury], GatewaySide]


def conforms(value: Any, schema: str) -> list[str]:
    return SchemaChecker(DOC).problems(value, DOC["components"]["schemas"][schema])


def on(day: dt.date) -> Callable[[], dt.date]:
    return lambda: day


def test_a_payment_is_accepted_with_an_answer_signed_by_the_treasury(
    treasury_server: Start, gateway_side: Side
) -> None:
    side = gateway_side(treasury_server(today=on(DAY)))
    answer = side.pay(REF, 39_000_000)
    assert answer.status == 201, answer.body
    assert answer.verified is not None, answer.problem
    payment = answer.json()
    assert conforms(payment, "Payment") == []
    assert payment["paymentId"] == "TRY-20261207-000001"
    assert payment["amount"] == {"minor": 39_000_000, "currency": "KZT"}
    assert payment["valueDate"] == "2026-12-07"


def test_the_gateway_is_told_by_a_callback_it_can_verify(
    treasury_server: Start, gateway_side: Side, receiver: Receiver, pki: DevPki
) -> None:
    treasury = treasury_server(today=on(DAY), callback_url=receiver.url)
    paid = gateway_side(treasury).pay(REF, 100_00).json()
    (callback,) = wait_until(receiver.received, 10, "the payment callback")
    message = httpsig.HttpMessage(callback.headers, method="POST", url=callback.url).view()
    verified = httpsig.verify(
        message,
        callback.body,
        load_certificate(pki.directory / "agency-treasury.pem"),
        now=now(),
        skew=SKEW,
        components=httpsig.REQUEST_COMPONENTS,
    )
    body = json.loads(verified.body)
    assert conforms(body, "PaymentConfirmation") == []
    assert body == {"event": "payment-confirmed", "payment": paid}
    assert callback.headers["Idempotency-Key"] == paid["paymentId"]


@pytest.mark.parametrize("tamper", ["body", "wrong-key", "unsigned", "other-agency"])
def test_a_spoilt_callback_fails_the_gateways_verification(
    treasury_server: Start, gateway_side: Side, receiver: Receiver, pki: DevPki, tamper: str
) -> None:
    treasury = treasury_server(today=on(DAY), callback_url=receiver.url, tamper=tamper)
    gateway_side(treasury).pay(REF, 100_00)
    (callback,) = wait_until(receiver.received, 10, "the payment callback")
    message = httpsig.HttpMessage(callback.headers, method="POST", url=callback.url).view()
    with pytest.raises(httpsig.UntrustedHttpMessage):
        httpsig.verify(
            message,
            callback.body,
            load_certificate(pki.directory / "agency-treasury.pem"),
            now=now(),
            skew=SKEW,
            components=httpsig.REQUEST_COMPONENTS,
        )


def test_the_same_instruction_again_is_the_same_payment_and_no_second_callback(
    treasury_server: Start, gateway_side: Side, receiver: Receiver
) -> None:
    treasury = treasury_server(today=on(DAY), callback_url=receiver.url)
    side = gateway_side(treasury)
    first = side.pay(REF, 100_00)
    wait_until(receiver.received, 10, "the first callback")
    # The sender records a delivery once the receiver has answered it, a moment after the
    # receiver has it: counted from then, a second callback would show.
    wait_until(lambda: len(treasury.callbacks.sent) == 1, 10, "the first callback recorded")
    again = side.pay(REF, 100_00)
    assert (first.status, again.status) == (201, 200)
    assert again.json() == first.json() and again.verified is not None
    assert len(treasury.callbacks.sent) == 1


def test_an_instruction_id_reused_for_another_payment_is_refused(
    treasury_server: Start, gateway_side: Side
) -> None:
    side = gateway_side(treasury_server(today=on(DAY)))
    side.pay(REF, 100_00)
    answer = side.pay(REF, 200_00)
    assert answer.status == 409
    assert "was used for another payment instruction" in answer.json()["detail"]


def test_requests_not_signed_by_the_gateway_are_refused(
    treasury_server: Start, gateway_side: Side, pki: DevPki
) -> None:
    side = gateway_side(treasury_server(today=on(DAY)))
    health = (
        load_rsa_key(pki.directory / "agency-health.key"),
        load_certificate(pki.directory / "agency-health.pem"),
    )
    body = {"paymentReference": REF, "amount": {"minor": 1, "currency": "KZT"}, "payer": {}}
    for answer in (
        side.send("POST", "/payments", body, sign=False),
        side.send("POST", "/payments", body, signer=health),
        side.send("GET", f"/payments/{REF}", sign=False),
        side.send("GET", "/statements/2026-12-07", signer=health),
    ):
        assert answer.status == 401
        assert answer.json()["title"] == "Signature required"


@pytest.mark.parametrize(
    ("change", "status", "detail"),
    [
        ({"paymentReference": REF[:-1] + str((int(REF[-1]) + 1) % 10)}, 422, "ISO 11649"),
        ({"payer": {**STEPPE, "account": "KZ86125KZT5004100101"}}, 422, "IBAN check digits"),
        ({"amount": {"minor": 100.5, "currency": "KZT"}}, 422, "minor must be of type integer"),
        ({"amount": {"minor": 0, "currency": "KZT"}}, 422, "at least 1"),
        ({"amount": {"minor": 1, "currency": "XYZ"}}, 422, "must be one of"),
        ({"extra": 1}, 422, "$.extra is not allowed"),
    ],
)
def test_a_bad_instruction_gets_a_problem_and_no_payment(
    treasury_server: Start, gateway_side: Side, change: dict[str, Any], status: int, detail: str
) -> None:
    treasury = treasury_server(today=on(DAY))
    side = gateway_side(treasury)
    body = {
        "paymentReference": REF,
        "amount": {"minor": 100, "currency": "KZT"},
        "payer": STEPPE,
        **change,
    }
    answer = side.send("POST", "/payments", body)
    assert answer.status == status
    assert answer.json()["type"] == "about:blank" and detail in answer.json()["detail"]
    assert side.send("GET", f"/statements/{DAY}").json()["count"] == 0


def test_not_json_and_a_missing_key_are_refused(treasury_server: Start, gateway_side: Side) -> None:
    side = gateway_side(treasury_server(today=on(DAY)))
    assert side.send("POST", "/payments", b"{not json").status == 400
    missing = side.send("POST", "/payments", {"paymentReference": REF}, key=None)
    assert missing.status == 400 and "Idempotency-Key" in missing.json()["title"]


def test_payments_are_queryable_by_reference_with_their_totals(
    treasury_server: Start, gateway_side: Side
) -> None:
    side = gateway_side(treasury_server(today=on(DAY)))
    side.pay(REF, 600_00, key="i-1")
    side.pay(REF, 400_00, key="i-2")
    side.pay(OTHER_REF, 1, key="i-3")
    answer = side.send("GET", f"/payments/{REF}")
    assert answer.status == 200 and answer.verified is not None, answer.problem
    value = answer.json()
    assert conforms(value, "PaymentsForReference") == []
    assert [p["amount"]["minor"] for p in value["payments"]] == [600_00, 400_00]
    assert value["totals"] == [{"minor": 1000_00, "currency": "KZT"}]
    assert side.send("GET", f"/payments/{PaymentReference.issue(DAY, 9)}").status == 404
    assert side.send("GET", "/payments/RF00NSW").status == 422


def test_the_statement_of_a_day_is_signed_and_lists_that_days_payments(
    treasury_server: Start, gateway_side: Side
) -> None:
    day = {"today": DAY}
    treasury = treasury_server(today=lambda: day["today"])
    side = gateway_side(treasury)
    side.pay(REF, 100_00, key="i-1")
    day["today"] = DAY + dt.timedelta(days=1)
    side.pay(OTHER_REF, 5_00, key="i-2")
    answer = side.send("GET", f"/statements/{DAY}")
    assert answer.status == 200 and answer.verified is not None, answer.problem
    statement = answer.json()
    assert conforms(statement, "Statement") == []
    assert statement["final"] is True and statement["count"] == 1
    assert [p["paymentReference"] for p in statement["payments"]] == [REF]
    assert statement["totals"] == [{"minor": 100_00, "currency": "KZT"}]
    today = side.send("GET", f"/statements/{DAY + dt.timedelta(days=1)}").json()
    assert today["final"] is False and today["count"] == 1
    assert side.send("GET", f"/statements/{DAY + dt.timedelta(days=2)}").status == 404
    assert side.send("GET", "/statements/2026-13-01").status == 400


def test_an_answer_replayed_for_another_request_does_not_verify(
    treasury_server: Start, gateway_side: Side
) -> None:
    """The statement's signature covers the request it answers (RFC 9421 §2.4)."""
    treasury = treasury_server(today=on(DAY))
    side = gateway_side(treasury)
    first = requests.Request("GET", f"{treasury.url}/statements/{DAY}").prepare()
    httpsig.sign(first, b"", side.key, side.cert, now=now(), components=("@method", "@target-uri", "content-digest"))  # fmt: skip
    with requests.Session() as session:
        response = session.send(first, timeout=10)
    second = requests.Request("GET", f"{treasury.url}/statements/{DAY}").prepare()
    httpsig.sign(second, b"", side.key, side.cert, now=now(), components=("@method", "@target-uri", "content-digest"))  # fmt: skip
    message = httpsig.HttpMessage(
        httpsig.header_items(response.headers.items()), status_code=response.status_code
    )
    verify: dict[str, Any] = dict(now=now(), skew=SKEW, components=httpsig.RESPONSE_COMPONENTS)
    httpsig.verify(message, response.content, side.treasury, request=first, **verify)
    with pytest.raises(httpsig.UntrustedHttpMessage):
        httpsig.verify(message, response.content, side.treasury, request=second, **verify)


def confirmations(payments: list[dict[str, Any]]) -> list[Confirmation]:
    return [
        Confirmation(
            p["paymentId"],
            p["paymentReference"],
            Money(p["amount"]["minor"], p["amount"]["currency"]),
            p["payer"]["bin"],
            dt.date.fromisoformat(p["valueDate"]),
        )
        for p in payments
    ]


def test_planted_differences_are_what_reconciliation_finds(
    treasury_server: Start, gateway_side: Side
) -> None:
    """What the gateway recorded from the answers against the signed statement, with the
    gateway's own reconcile(): one planted difference of each kind, each found."""
    treasury = treasury_server(today=on(DAY))
    side = gateway_side(treasury)
    recorded = [
        side.pay(REF, 100_00, key="i-1").json(),
        side.pay(OTHER_REF, 7_00, key="i-2").json(),
        side.pay(REF, 1, key="i-3").json(),
    ]
    clean = side.send("GET", f"/statements/{DAY}").json()
    orders = {REF, OTHER_REF}
    statement = Statement(DAY, tuple(confirmations(clean["payments"])))
    assert reconcile_day(statement, confirmations(recorded), orders) == []

    treasury.ledger.plant_omission(recorded[0]["paymentId"])
    treasury.ledger.plant_alteration(recorded[1]["paymentId"], minor=6_99)
    treasury.ledger.plant_extra(REF, 50_00, "KZT", DAY, {"bin": "000000000000"})
    planted = side.send("GET", f"/statements/{DAY}")
    assert (
        planted.verified is not None
    )  # a planted statement is still signed: only its content lies
    statement = Statement(DAY, tuple(confirmations(planted.json()["payments"])))
    found = reconcile_day(statement, confirmations(recorded), orders)
    assert sorted(d.kind for d in found) == sorted(
        [DifferenceKind.MISSING, DifferenceKind.AMOUNT_MISMATCH, DifferenceKind.EXTRA]
    )
    # The books themselves are untouched: a query by reference still tells the truth.
    assert side.send("GET", f"/payments/{OTHER_REF}").json()["totals"][0]["minor"] == 7_00


def test_differences_can_be_planted_over_http_only_when_allowed(
    treasury_server: Start, gateway_side: Side
) -> None:
    plain = treasury_server(today=on(DAY))
    with requests.post(f"{plain.url}/testing/plants", json={"action": "omit"}, timeout=5) as r:
        assert r.status_code == 404
        assert r.headers["Content-Type"] == "application/problem+json"
    treasury = treasury_server(today=on(DAY), allow_planting=True)
    side = gateway_side(treasury)
    paid = side.pay(REF, 100_00).json()
    plants = [
        {"action": "alter", "paymentId": paid["paymentId"], "amount": {"currency": "USD"}},
        {
            "action": "add",
            "paymentReference": "RF18539007547034",
            "amount": {"minor": 3, "currency": "KZT"},
            "date": DAY.isoformat(),
        },
    ]
    for plant in plants:
        with requests.post(f"{treasury.url}/testing/plants", json=plant, timeout=5) as r:
            assert r.status_code == 201, r.text
    with requests.post(f"{treasury.url}/testing/plants", json={"action": "x"}, timeout=5) as r:
        assert r.status_code == 422
    statement = Statement(
        DAY, tuple(confirmations(side.send("GET", f"/statements/{DAY}").json()["payments"]))
    )
    found = reconcile_day(statement, confirmations([paid]), {REF})
    assert [d.kind for d in found] == [
        DifferenceKind.CURRENCY_MISMATCH, DifferenceKind.UNKNOWN_REFERENCE,
    ]  # fmt: skip


def test_unknown_paths_and_methods_get_problem_documents(treasury_server: Start) -> None:
    treasury = treasury_server(today=on(DAY))
    for method, path, status in (("GET", "/nowhere", 404), ("DELETE", "/payments", 405)):
        with requests.request(method, treasury.url + path, timeout=5) as r:
            assert r.status_code == status
            assert r.headers["Content-Type"] == "application/problem+json"
    with requests.get(treasury.url + "/openapi.json", timeout=5) as r:
        assert r.json()["openapi"] == "3.1.0"


def test_the_contract_is_valid_openapi_3_1() -> None:
    from openapi_spec_validator import validate

    validate(DOC)


def test_it_runs_as_a_process_and_stops_on_sigterm(pki: DevPki) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "simulators", "treasury", "--pki-dir", str(pki.directory)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("treasury listening on http://127.0.0.1:")
        with requests.get(line.split()[-1] + "/openapi.json", timeout=5) as r:
            assert r.status_code == 200
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=10)
        assert process.returncode == 0 and "treasury stopped" in out
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def test_a_body_over_the_limit_is_refused_whole(treasury_server: Start) -> None:
    treasury = treasury_server(today=on(DAY))
    big = b"{" + b" " * (2 * 1024 * 1024) + b"}"
    with requests.post(
        treasury.url + "/payments",
        data=big,
        headers={"Content-Type": "application/json"},
        timeout=10,
    ) as r:
        assert r.status_code == 413
        assert r.headers["Content-Type"] == "application/problem+json"
