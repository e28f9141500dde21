"""The stand-in treasury as a real server, a client that signs as the gateway and verifies with the
gateway's own verifier (wire.httpsig), and a real HTTP receiver for its callbacks."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask, Response, request
from werkzeug.serving import make_server

from gateway.pki.dev import DevPki
from simulators.server import ServingThread
from simulators.treasury import GET_COMPONENTS, RunningTreasury, start_treasury
from wire import httpsig
from wire.keys import load_certificate, load_rsa_key

SKEW = dt.timedelta(seconds=30)
STEPPE = {"bin": "210540012341", "name": "Steppe Agro LLP", "account": "KZ86125KZT5004100100"}


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Answer:
    """An answer of the treasury, verified (or not) with the gateway's verifier."""

    status: int
    body: bytes
    verified: httpsig.VerifiedHttpMessage | None
    problem: str = ""

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class GatewaySide:
    """Calls the treasury as the gateway does: signs with the gateway's key, pins the treasury's."""

    url: str
    key: rsa.RSAPrivateKey
    cert: x509.Certificate
    treasury: x509.Certificate

    def send(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        key: str | None = "instr-1",
        signer: tuple[rsa.RSAPrivateKey, x509.Certificate] | None = None,
        sign: bool = True,
    ) -> Answer:
        headers: dict[str, str] = {}
        data = b""
        if method == "POST":
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
            if key is not None:
                headers["Idempotency-Key"] = key
        prepared = requests.Request(method, self.url + path, data=data or None, headers=headers)
        ready = prepared.prepare()
        if sign:
            signing_key, signing_cert = signer or (self.key, self.cert)
            components = httpsig.REQUEST_COMPONENTS if method == "POST" else GET_COMPONENTS
            httpsig.sign(ready, data, signing_key, signing_cert, now=now(), components=components)
        with requests.Session() as session:
            response = session.send(ready, timeout=10)
        message = httpsig.HttpMessage(
            httpsig.header_items(response.headers.items()), status_code=response.status_code
        )
        try:
            verified = httpsig.verify(
                message,
                response.content,
                self.treasury,
                now=now(),
                skew=SKEW,
                components=httpsig.RESPONSE_COMPONENTS,
                request=ready,
            )
            problem = ""
        except httpsig.UntrustedHttpMessage as exc:
            verified, problem = None, str(exc)
        return Answer(response.status_code, response.content, verified, problem)

    def pay(self, reference: str, minor: int, key: str = "instr-1", **payer: str) -> Answer:
        body = {
            "paymentReference": reference,
            "amount": {"minor": minor, "currency": "KZT"},
            "payer": {**STEPPE, **payer},
        }
        return self.send("POST", "/payments", body, key=key)


@dataclass
class Received:
    headers: dict[str, str]
    url: str
    body: bytes


@dataclass
class Receiver:
    """The gateway's payment callback endpoint, as a real server that records what it got."""

    url: str
    got: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def received(self) -> list[Received]:
        with self.lock:
            return list(self.got)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    app = Flask("gateway-payment-callbacks")
    box = Receiver("")

    @app.post("/api/v1/payments/callback")
    def callback() -> Response:
        with box.lock:
            box.got.append(Received(dict(request.headers.items()), request.url, request.get_data()))
        return Response(status=200)

    server = make_server("127.0.0.1", 0, app, threaded=True)
    with ServingThread(server, "test-receiver") as serving:
        box.url = serving.url + "/api/v1/payments/callback"
        yield box


@pytest.fixture
def treasury_server(pki: DevPki) -> Iterator[Callable[..., RunningTreasury]]:
    """treasury_server(**options): a started treasury with the test PKI, stopped afterwards."""
    started: list[RunningTreasury] = []

    def start(**options: Any) -> RunningTreasury:
        treasury = start_treasury(pki_dir=pki.directory, **options)
        started.append(treasury)
        return treasury

    yield start
    for treasury in started:
        treasury.stop()


@pytest.fixture
def gateway_side(pki: DevPki) -> Callable[[RunningTreasury], GatewaySide]:
    def make(treasury: RunningTreasury) -> GatewaySide:
        return GatewaySide(
            treasury.url,
            load_rsa_key(pki.directory / "gateway.key"),
            load_certificate(pki.directory / "gateway.pem"),
            load_certificate(pki.directory / "agency-treasury.pem"),
        )

    return make
