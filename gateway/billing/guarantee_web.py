"""The guarantee edge (issue 20 item 3): a declarant's signed offer of a guarantee (XML, signed
like the application: the signature is the proof) and the signed read of its guarantees."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, g, jsonify, request, url_for

from gateway.billing.guarantees import Guarantees
from gateway.bootstrap import Services
from gateway.errors import NotFound, UnsupportedMediaType
from gateway.i18n.text import Text
from gateway.limits import APPLICATION_ID
from gateway.web.body import read_body
from gateway.web.params import path_text
from gateway.web.trader_auth import add_accept_signature, may_act_for, require_trader

bp = Blueprint("guarantees", __name__, url_prefix="/api/v1")
bp.after_request(add_accept_signature)
log = logging.getLogger(__name__)
XML_TYPES = ("application/xml", "text/xml")


def guarantees() -> Guarantees:
    service: Guarantees = current_app.extensions["nsw-guarantees"]
    return service


@bp.post("/applications/<application_id>/guarantee")
def offer_guarantee(application_id: str) -> Response:
    if request.mimetype not in XML_TYPES:
        raise UnsupportedMediaType(Text("Send the signed guarantee offer as application/xml."))
    path_text(application_id, APPLICATION_ID, "application")
    secured = guarantees().offer(application_id, read_body())
    log.info(
        "application %s secured by guarantee %s: %s (request %s)",
        application_id, secured.reference, secured.outcome, g.get("request_id"),
    )  # fmt: skip
    return jsonify(
        {
            "id": application_id,
            "guarantee": secured.reference,
            "outcome": secured.outcome,
            "released": secured.outcome == "released",
            "links": {
                "status": url_for("api.status", application_id=application_id),
                "decision": url_for("api.decision", application_id=application_id),
                "guarantee": url_for("guarantees.guarantee", application_id=application_id),
            },
        }
    )


@bp.get("/applications/<application_id>/guarantee")
def guarantee(application_id: str) -> Response:
    """Every guarantee offered for the application and what became of it (securing, refused,
    discharged, released by customs). Only for the declarant and its representatives."""
    signer = require_trader()
    path_text(application_id, APPLICATION_ID, "application")
    svc: Services = current_app.extensions["nsw"]
    if not may_act_for(signer, svc.store.declarant_bin(application_id)):
        raise NotFound(
            Text(
                "There is no application %(id)s of your company or of a company you are "
                "registered to represent.",
                id=application_id,
            )
        )
    offers = guarantees().book.of(application_id)
    response = jsonify({"id": application_id, "guarantees": [o.to_json() for o in offers]})
    response.headers["Cache-Control"] = "no-store"
    return response
