"""Stand-in treasury / bank (issue 20): takes payments for payment references, tells the gateway by
a signed callback, answers queries and gives a signed statement of each day.

    python -m simulators treasury [--host H] [--port P] [--pki-dir DIR] [--callback-url URL]
        [--allow-planting]

Contract: wsdl/treasury/openapi.json. It signs with `agency-treasury.key` of the PKI directory and
believes only requests signed by `gateway.pem` (RFC 9421, the profile of simulators/security.py; a
GET is signed over its empty body's Content-Digest so that its answer can cover it with `;req`).
Payments are in memory (simulators/treasury_ledger.py); the value date is the day in Kazakhstan
(UTC+5) unless `today` says otherwise. With `--allow-planting` (tests and demos only, never by
default) `POST /testing/plants` changes what statements say, so reconciliation has something to
find; it needs no signature, which is why it is off unless asked for.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException
from werkzeug.serving import make_server

from simulators.callbacks import CallbackSender, Delivery, post
from simulators.common import CONTRACTS, TAMPERS, stop_event_on_signals
from simulators.rest import MAX_REQUEST_BYTES, problem
from simulators.schema_check import SchemaChecker
from simulators.security import (
    REQUEST_COMPONENTS,
    RESPONSE_COMPONENTS,
    AgencyKeys,
    BadRequestSignature,
    Message,
    impostor,
    other_key,
    sign_http,
    verify_http,
)
from simulators.server import ServingThread
from simulators.treasury_ledger import KeyReused, Ledger, Payment

CODE = "treasury"
CONTRACT = CONTRACTS / "treasury" / "openapi.json"
ACCOUNT = "KZ909980000000012345"  # invented: bank code 998 (reference customs-payments-kz.md §6)
GET_COMPONENTS = ("@method", "@target-uri", "content-digest")
# Kazakhstan has kept one time zone, UTC+5, since 1 March 2024 (recalled, R): the value date.
KZ_TIME = dt.timezone(dt.timedelta(hours=5))


def kz_today() -> dt.date:
    return dt.datetime.now(KZ_TIME).date()


@dataclass
class TreasuryOptions:
    """pki_dir: keys (default as simulators/security.py). callback_url: where each new payment is
    confirmed (None: nobody is told, as when a callback is lost). allow_planting: serve
    POST /testing/plants. tamper: spoil callbacks ("body", "wrong-key", "unsigned",
    "other-agency"). today: the value date of payments made now."""

    pki_dir: Path | None = None
    callback_url: str | None = None
    allow_planting: bool = False
    tamper: str | None = None
    today: Callable[[], dt.date] = kz_today

    def __post_init__(self) -> None:
        if self.tamper is not None and self.tamper not in TAMPERS[:4]:
            raise ValueError(f"unknown tamper {self.tamper!r}; known: {', '.join(TAMPERS[:4])}")


def iso7064_ok(text: str) -> bool:
    """ISO 7064 MOD 97-10 over an IBAN or RF reference (first four characters moved to the end)."""
    digits = "".join(str(int(c, 36)) for c in text[4:] + text[:4])
    return int(digits) % 97 == 1


def totals(payments: list[Payment]) -> list[dict[str, Any]]:
    by_currency: dict[str, int] = {}
    for p in payments:
        by_currency[p.currency] = by_currency.get(p.currency, 0) + p.minor
    return [{"minor": m, "currency": c} for c, m in sorted(by_currency.items())]


def create_app(ledger: Ledger, options: TreasuryOptions) -> Flask:
    document = json.loads(CONTRACT.read_text(encoding="utf-8"))
    checker = SchemaChecker(document)
    schemas = document["components"]["schemas"]
    keys = AgencyKeys.load(CODE, options.pki_dir)
    sender = CallbackSender()
    app = Flask(CODE)
    app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES
    app.extensions["callbacks"] = sender

    def answer(status: int, value: dict[str, Any], incoming: Message) -> Response:
        content = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
        outgoing = Message(
            {"Content-Type": "application/json"}, status_code=status, request=incoming
        )
        sign_http(outgoing, content, keys.key, keys.cert, RESPONSE_COMPONENTS)
        return Response(content, status=status, headers=outgoing.headers)

    def signed_by_gateway(components: tuple[str, ...]) -> tuple[Message, bytes]:
        data = request.get_data(cache=True)
        incoming = Message(dict(request.headers.items()), method=request.method, url=request.url)
        verify_http(incoming, data, keys.gateway, components)
        return incoming, data

    def confirm(payment: Payment) -> None:
        url = options.callback_url
        if not url:
            return
        body = {"event": "payment-confirmed", "payment": payment.as_json()}
        content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()

        def send() -> Delivery:
            headers = {"Content-Type": "application/json", "Idempotency-Key": payment.payment_id}
            message = Message(headers, method="POST", url=url)
            data = content
            if options.tamper == "other-agency":
                other = impostor(CODE, options.pki_dir)
                sign_http(message, data, other.key, other.cert, REQUEST_COMPONENTS)
            elif options.tamper != "unsigned":
                key = other_key() if options.tamper == "wrong-key" else keys.key
                sign_http(message, data, key, keys.cert, REQUEST_COMPONENTS)
            if options.tamper == "body":  # one digit of the amount changed after signing
                data = data.replace(b'"minor":', b'"minor":1', 1)
            return post(url, data, message.headers, sender.stopped)

        sender.later(0, send)

    @app.errorhandler(BadRequestSignature)
    def unsigned(exc: BadRequestSignature) -> Response:
        return problem(401, "Signature required", f"security: {exc}")

    @app.errorhandler(HTTPException)
    def http_problem(exc: HTTPException) -> Response:
        return problem(exc.code or 500, exc.name, exc.description or "")

    @app.errorhandler(Exception)
    def internal_problem(exc: Exception) -> Response:
        return problem(500, "Internal Server Error", f"{CODE}: {type(exc).__name__}")

    @app.get("/openapi.json")
    def serve_contract() -> Response:
        return Response(CONTRACT.read_bytes(), content_type="application/json")

    @app.post("/payments")
    def accept_payment() -> Response:
        # Step 1: signed by the gateway.
        incoming, data = signed_by_gateway(REQUEST_COMPONENTS)
        # Step 2: the idempotency key and a JSON object.
        key = request.headers.get("Idempotency-Key", "")
        if not key:
            return problem(
                400, "Idempotency-Key required", "Send your instruction id as Idempotency-Key."
            )
        if request.mimetype != "application/json":
            return problem(415, "Unsupported Media Type", "Send application/json.")
        try:
            body = json.loads(data)
        except ValueError:
            return problem(400, "Bad Request", "The body is not JSON.")
        # Step 3: the contract, then the check digits a bank checks before it debits anything.
        errors = checker.problems(body, schemas["PaymentInstruction"])
        errors += checker.problems(key, schemas["Key"], "Idempotency-Key")
        if not errors and not iso7064_ok(body["paymentReference"]):
            errors = ["$.paymentReference fails its ISO 11649 check digits"]
        if not errors and not iso7064_ok(body["payer"]["account"]):
            errors = ["$.payer.account fails its IBAN check digits (ISO 13616)"]
        if errors:
            return problem(422, "Unprocessable Content", errors[0], errors=errors)
        # Step 4: one payment per instruction id; the gateway hears of each new one.
        try:
            payment, new = ledger.accept(key, body, options.today(), dt.datetime.now(dt.UTC))
        except KeyReused:
            return problem(
                409, "Conflict", f"Idempotency-Key {key} was used for another payment instruction."
            )
        if new:
            confirm(payment)
        return answer(201 if new else 200, payment.as_json(), incoming)

    @app.get("/payments/<reference>")
    def payments_by_reference(reference: str) -> Response:
        incoming, _ = signed_by_gateway(GET_COMPONENTS)
        errors = checker.problems(reference, schemas["PaymentReference"], "reference")
        if errors or not iso7064_ok(reference):
            return problem(
                422,
                "Unprocessable Content",
                (errors or ["reference fails its ISO 11649 check digits"])[0],
            )
        payments = ledger.by_reference(reference)
        if not payments:
            return problem(404, "Not Found", f"No payment was made for {reference}.")
        value = {
            "paymentReference": reference,
            "payments": [p.as_json() for p in payments],
            "totals": totals(payments),
        }
        return answer(200, value, incoming)

    @app.get("/statements/<day>")
    def daily_statement(day: str) -> Response:
        incoming, _ = signed_by_gateway(GET_COMPONENTS)
        try:
            date = dt.date.fromisoformat(day) if len(day) == 10 else None
        except ValueError:
            date = None
        if date is None:
            return problem(400, "Bad Request", f"{day[:16]!r} is not a date (YYYY-MM-DD).")
        today = options.today()
        if date > today:
            return problem(404, "Not Found", f"{date} has not begun; there is no statement yet.")
        lines = ledger.statement(date)
        value = {
            "date": date.isoformat(),
            "account": ACCOUNT,
            "final": date < today,
            "payments": [p.as_json() for p in lines],
            "count": len(lines),
            "totals": totals(lines),
        }
        return answer(200, value, incoming)

    if options.allow_planting:
        from simulators.treasury_plants import register_plants

        register_plants(app, ledger)
    return app


class RunningTreasury(ServingThread):
    """A started treasury: `url`, `ledger` (and its `plant_*`), `callbacks.sent`, `stop()`."""

    def __init__(self, ledger: Ledger, options: TreasuryOptions, host: str, port: int) -> None:
        self.ledger, self.options = ledger, options
        app = create_app(ledger, options)
        self.callbacks: CallbackSender = app.extensions["callbacks"]
        super().__init__(make_server(host, port, app, threaded=True), f"sim-{CODE}")

    def stop(self) -> None:
        self.callbacks.stop()
        super().stop()


def start_treasury(host: str = "127.0.0.1", port: int = 0, **options: Any) -> RunningTreasury:
    """Start the treasury on host:port (0 = a free port); `options` are `TreasuryOptions` fields."""
    return RunningTreasury(Ledger(), TreasuryOptions(**options), host, port)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simulators treasury", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--pki-dir", type=Path, default=None)
    parser.add_argument("--callback-url", default=None, help="the gateway's payment callback")
    parser.add_argument(
        "--allow-planting",
        action="store_true",
        help="serve POST /testing/plants (tests and demos only)",
    )
    args = parser.parse_args(argv)
    stop = stop_event_on_signals()
    treasury = start_treasury(
        args.host,
        args.port,
        pki_dir=args.pki_dir,
        callback_url=args.callback_url,
        allow_planting=args.allow_planting,
    )
    print(f"treasury listening on {treasury.url}", flush=True)
    try:
        while not stop.wait(0.2):
            pass
    finally:
        treasury.stop()
    print("treasury stopped", flush=True)
    return 0
