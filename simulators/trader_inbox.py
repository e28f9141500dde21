"""A trader's system that receives decisions: the other end of the gateway's notifications.

It believes a notification only if the request carries the gateway's RFC 9421 signature (profile
nsw, covering "@method" "@target-uri" "content-type" "content-digest" "idempotency-key") and the
body is a decision whose XML signature verifies with the gateway's certificate — both checked with
the gateway's certificate from the PKI directory, as a trader would pin it. It keeps the first
delivery of each Idempotency-Key and answers repeats with 200 without keeping them again.

Progress events (JSON, header NSW-Event-Type) are believed on the request's signature alone — its
Content-Digest binds the body — and kept apart, in `events`, in the order they came.

Faults for tests: `fail_next` answers that many requests with 503; `status` answers every request
with that status (e.g. 410, or 302 with a Location to see that redirects are not followed).
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue
from signxml.exceptions import SignXMLException
from signxml.verifier import XMLVerifier
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from simulators.security import BadRequestSignature, Message, default_pki_dir, verify_http
from simulators.server import ServingThread

COMPONENTS = ("@method", "@target-uri", "content-type", "content-digest", "idempotency-key")
PATH = "/nsw/decisions"


@dataclass
class InboxOptions:
    pki_dir: Path | None = None
    fail_next: int = 0
    status: int | None = None
    location: str = ""


@dataclass
class Received:
    idempotency_key: str
    application_id: str
    body: bytes
    sha256: str
    outcome: str


@dataclass
class ReceivedEvent:
    idempotency_key: str
    type: str
    document: dict[str, Any]

    @property
    def application_id(self) -> str:
        return str(self.document.get("applicationId", ""))


@dataclass
class InboxState:
    received: list[Received] = field(default_factory=list)
    events: list[ReceivedEvent] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # why each refused request was refused
    attempts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def create_app(options: InboxOptions, state: InboxState) -> Flask:
    app = Flask("trader_inbox")
    pki = Path(options.pki_dir or default_pki_dir())
    gateway = x509.load_pem_x509_certificate((pki / "gateway.pem").read_bytes())

    @app.post(PATH)
    def receive() -> ResponseReturnValue:
        with state.lock:
            state.attempts += 1
            if options.fail_next > 0:
                options.fail_next -= 1
                return jsonify(title="busy, try later"), 503
        if options.status is not None:
            headers = {"Location": options.location} if options.location else {}
            return jsonify(title="as configured"), options.status, headers
        body = request.get_data()
        message = Message(dict(request.headers.items()), method=request.method, url=request.url)
        if request.mimetype == "application/json":
            return _event(message, body)
        try:
            verify_http(message, body, gateway, COMPONENTS)
            verified: Any = XMLVerifier().verify(body, x509_cert=gateway)
            decision = verified.signed_xml
        except (BadRequestSignature, SignXMLException) as exc:
            with state.lock:
                state.refused.append(str(exc))
            return jsonify(title="not signed by the gateway", detail=str(exc)), 401
        key = request.headers.get("Idempotency-Key", "")
        outcome = decision.findtext("{urn:kz:nsw:decision:1}Outcome") or ""
        application_id = decision.findtext("{urn:kz:nsw:decision:1}ApplicationId") or ""
        with state.lock:
            if any(r.idempotency_key == key for r in state.received):
                return jsonify(status="already received"), 200
            state.received.append(
                Received(key, application_id, body, hashlib.sha256(body).hexdigest(), outcome)
            )
        return "", 204

    def _event(message: Message, body: bytes) -> ResponseReturnValue:
        try:
            verify_http(message, body, gateway, COMPONENTS)
            document = json.loads(body)
        except (BadRequestSignature, ValueError) as exc:
            with state.lock:
                state.refused.append(str(exc))
            return jsonify(title="not signed by the gateway", detail=str(exc)), 401
        key = request.headers.get("Idempotency-Key", "")
        kind = request.headers.get("NSW-Event-Type", "")
        if not isinstance(document, dict) or document.get("type") != kind:
            with state.lock:
                state.refused.append(f"the event's type is not {kind!r}")
            return jsonify(title="the event's type is not its header's"), 422
        with state.lock:
            if any(e.idempotency_key == key for e in state.events):
                return jsonify(status="already received"), 200
            state.events.append(ReceivedEvent(key, kind, document))
        return "", 204

    @app.get("/received")
    def listing() -> ResponseReturnValue:
        with state.lock:
            return jsonify(
                [
                    {
                        "idempotency_key": r.idempotency_key,
                        "application_id": r.application_id,
                        "outcome": r.outcome,
                        "sha256": r.sha256,
                    }
                    for r in state.received
                ]
            )

    return app


class RunningInbox(ServingThread):
    """A started inbox: `url` to register, `received`/`refused` to look at, `options` to change."""

    def __init__(self, server: BaseWSGIServer, options: InboxOptions, state: InboxState) -> None:
        self.options = options
        self.state = state
        super().__init__(server, "trader-inbox")
        self.base_url = self.url
        self.url = self.base_url + PATH

    @property
    def received(self) -> list[Received]:
        with self.state.lock:
            return list(self.state.received)

    def of(self, application_id: str) -> list[Received]:
        return [r for r in self.received if r.application_id == application_id]

    def events_of(self, application_id: str) -> list[ReceivedEvent]:
        """The progress events received for `application_id`, in the order they came."""
        with self.state.lock:
            return [e for e in self.state.events if e.application_id == application_id]


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """No access log: the demo prints what the trader's system received instead."""


def start_trader_inbox(host: str = "127.0.0.1", port: int = 0, **options: Any) -> RunningInbox:
    settings, state = InboxOptions(**options), InboxState()
    server = make_server(
        host, port, create_app(settings, state), threaded=True, request_handler=_QuietHandler
    )
    return RunningInbox(server, settings, state)
