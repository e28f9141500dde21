"""The trader API: lodge an application, follow its status, fetch its signed decision."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request, url_for

from gateway.bootstrap import Services
from gateway.errors import DecisionNotReady, NotFound, UnsupportedMediaType

bp = Blueprint("api", __name__, url_prefix="/api/v1")

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
    body = request.get_data(cache=False)
    accepted = services().intake.submit(body)
    app = services().store.application(accepted.application_id)
    assert app is not None
    payload = {
        "id": accepted.application_id,
        "status": app["status"],
        "received_at": app["received_at"],
        "application_sha256": app["application_sha256"],
        "agencies": [c["agency"] for c in app["cases"]],
        "links": {
            "status": url_for("api.status", application_id=accepted.application_id),
            "decision": url_for("api.decision", application_id=accepted.application_id),
        },
    }
    response = jsonify(payload)
    response.headers["Location"] = payload["links"]["status"]
    # A replay of the same signed bytes returns the original application, not a new one.
    return response, 202 if accepted.created else 200


@bp.get("/applications/<application_id>")
def status(application_id: str) -> Response:
    app = services().store.application(application_id)
    if app is None:
        raise NotFound(f"There is no application {application_id}.")
    return jsonify(app)


@bp.get("/applications/<application_id>/decision")
def decision(application_id: str) -> Response:
    store = services().store
    xml = store.decision_xml(application_id)
    if xml is None:
        app = store.application(application_id)
        if app is None:
            raise NotFound(f"There is no application {application_id}.")
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
