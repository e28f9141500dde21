"""The trader API: lodge an application (signed XML), then follow it (signed HTTP requests).

Lodging needs no HTTP-level proof: the XML signature is the proof. Everything that reads an
application (status, decision, receipt, evidence) requires an RFC 9421 signature by the declarant
or its registered representative (see gateway.web.trader_auth).
"""

from __future__ import annotations

import base64
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request, url_for

from gateway.bootstrap import Services
from gateway.errors import DecisionNotReady, NotFound, UnsupportedMediaType
from gateway.receipt import signed_receipt
from gateway.web.trader_auth import add_accept_signature, authorise, require_trader

bp = Blueprint("api", __name__, url_prefix="/api/v1")
bp.after_request(add_accept_signature)

XML_TYPES = ("application/xml", "text/xml")


def services() -> Services:
    svc: Services = current_app.extensions["nsw"]
    return svc


@bp.post("/applications")
def submit() -> tuple[Response, int]:
    if request.mimetype not in XML_TYPES:
        raise UnsupportedMediaType(
            f"Send the signed application as application/xml, not {request.mimetype or 'no type'}."
        )
    # Read at most one byte past the limit: werkzeug stops a stream at exactly its limit without
    # saying whether more was coming, so a chunked body longer than the limit would otherwise be
    # silently cut to it. One byte more lets intake refuse it (413); a declared Content-Length
    # over the limit is refused before anything is read. Either way, never read whole.
    request.max_content_length = services().config.max_body_bytes + 1
    body = request.get_data(cache=False)
    accepted = services().intake.submit(body)
    app = services().store.application(accepted.application_id)
    assert app is not None
    receipt = signed_receipt(services().identity, app)
    links = {
        name: url_for(f"api.{name}", application_id=accepted.application_id)
        for name in ("status", "decision", "receipt", "evidence")
    }
    payload = {
        "id": accepted.application_id,
        "status": app["status"],
        "received_at": app["received_at"],
        "application_sha256": app["application_sha256"],
        "agencies": [c["agency"] for c in app["cases"]],
        "receipt": base64.b64encode(receipt).decode("ascii"),
        "links": links,
    }
    response = jsonify(payload)
    response.headers["Location"] = links["status"]
    # A replay of the same signed bytes returns the original application, not a new one.
    return response, 202 if accepted.created else 200


def _readable(application_id: str) -> dict[str, Any]:
    """The application, once the caller proved who they are (401) and may see it (404/403)."""
    signer = require_trader()
    app = services().store.application(application_id)
    if app is None:
        raise NotFound(f"There is no application {application_id}.")
    authorise(signer, app["declarant_bin"])
    return app


@bp.get("/applications/<application_id>")
def status(application_id: str) -> Response:
    return jsonify(_readable(application_id))


@bp.get("/applications/<application_id>/receipt")
def receipt(application_id: str) -> Response:
    app = _readable(application_id)
    return Response(signed_receipt(services().identity, app), mimetype="application/xml")


@bp.get("/applications/<application_id>/evidence")
def evidence(application_id: str) -> Response:
    _readable(application_id)
    return jsonify(services().auditor.bundle(application_id))


@bp.get("/applications/<application_id>/decision")
def decision(application_id: str) -> Response:
    app = _readable(application_id)
    xml = services().store.decision_xml(application_id)
    if xml is None:
        waiting = [
            c["agency"]
            for c in app["cases"]
            if c["state"] not in ("granted", "refused", "inspection")
        ]
        raise DecisionNotReady(
            "The decision is not made yet; waiting for: " + ", ".join(waiting) + ". "
            "Poll the status link, or try again shortly.",
            waiting_for=waiting,
        )
    return Response(xml, mimetype="application/xml")
