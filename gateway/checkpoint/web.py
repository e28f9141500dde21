"""HTTP interface of the electronic checkpoint (blueprint `checkpoint`, /api/v1/checkpoint).

- POST /notices: a signed advance notice (application/xml), from a carrier or declarant;
- POST /events, POST /positions: signed device events and transit fixes (RFC 9421, JSON);
- officers and the OMC (operator bearer token): visits, manual clearance, inspection results,
  transits, the overdue sweep and the timing report.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, current_app, jsonify, request

from gateway.checkpoint.device_auth import signed_device_json
from gateway.checkpoint.errors import InvalidEvent
from gateway.checkpoint.events import MAX_BODY, parse_position, parse_stage_event
from gateway.checkpoint.reports import timing_report
from gateway.errors import GatewayError, NotFound, UnsupportedMediaType
from gateway.i18n.text import Text
from gateway.limits import CHECKPOINT, NOTE, PERSON, RECORD_ID
from gateway.web.bearer import bearer_token_in
from gateway.web.body import read_body
from gateway.web.params import check_text, path_text, query_text

if TYPE_CHECKING:
    from gateway.bootstrap import Services

bp = Blueprint("checkpoint", __name__, url_prefix="/api/v1/checkpoint")


class OfficerOnly(GatewayError):
    code, status, title = "officer-only", 401, "Officer credentials required"


def _services() -> Services:
    svc: Services = current_app.extensions["nsw"]
    return svc


def _require_officer() -> None:
    # The operator tokens of the operations API, until the OMC's accounts and roles arrive.
    if bearer_token_in(_services().config.operator_tokens):
        return
    raise OfficerOnly(Text("Send 'Authorization: Bearer <token>' with an operator token."))


@bp.post("/notices")
def notice() -> tuple[Response, int]:
    if request.mimetype not in ("application/xml", "text/xml"):
        raise UnsupportedMediaType(Text("Send the signed notice as application/xml."))
    saved = _services().checkpoint.notices.submit(read_body())
    payload = {
        "id": saved.id, "version": saved.version, "plate": saved.plate,
        "checkpoint": saved.checkpoint, "applications": list(saved.applications),
        "supersedes": saved.supersedes,
    }  # fmt: skip
    return jsonify(payload), 202 if saved.created else 200


@bp.post("/events")
def event() -> tuple[Response, int]:
    body, device = signed_device_json(Text("Send the event as application/json."))
    answer, created = _services().checkpoint.service.record_event(
        device, parse_stage_event(body), body
    )
    return jsonify(answer), 201 if created else 200


@bp.post("/positions")
def position() -> tuple[Response, int]:
    body, device = signed_device_json(Text("Send the event as application/json."))
    answer, created = _services().checkpoint.transits.record_position(
        device, parse_position(body), body
    )
    return jsonify(answer), 201 if created else 200


@bp.get("/visits/<visit_id>")
def visit(visit_id: str) -> Response:
    _require_officer()
    return jsonify(_services().checkpoint.service.visit(_record_id(visit_id, "visit")).as_dict())


def _officer_form() -> dict[str, Any]:
    # The same reader as every other body: whole or 413, never cut at the limit.
    try:
        data = json.loads(read_body(MAX_BODY))
    except ValueError:
        data = None
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("officer"), str)
        or not data["officer"]
    ):
        raise InvalidEvent(Text('Send JSON naming the acting officer: {"officer": ..., ...}.'))
    # What the officer wrote lands in the visit (cleared_by, findings) and the trail: bounded.
    check_text(data["officer"], "officer", PERSON)
    for name in ("reason", "note"):
        if name in data:
            if not isinstance(data[name], str):
                raise InvalidEvent(Text("%(name)r must be a string.", name=name), field=name)
            check_text(data[name], name, NOTE)
    return data


def _record_id(value: str, what: str) -> str:
    return path_text(value, RECORD_ID, what)


@bp.post("/visits/<visit_id>/clearance")
def clearance(visit_id: str) -> Response:
    _require_officer()
    form = _officer_form()
    return jsonify(
        _services().checkpoint.service.manual_clearance(
            _record_id(visit_id, "visit"), form["officer"], str(form.get("reason", ""))
        )
    )


@bp.post("/visits/<visit_id>/findings/<finding_id>/result")
def inspection_result(visit_id: str, finding_id: str) -> Response:
    _require_officer()
    _record_id(visit_id, "visit")
    _record_id(finding_id, "finding")
    form = _officer_form()
    if not isinstance(form.get("cleared"), bool):
        raise InvalidEvent(Text("'cleared' must be true or false."))
    return jsonify(
        _services().checkpoint.service.inspection_result(
            visit_id,
            finding_id,
            form["officer"],
            cleared=form["cleared"],
            note=str(form.get("note", "")),
        )
    )


@bp.get("/transits/<transit_id>")
def transit(transit_id: str) -> Response:
    _require_officer()
    found = _services().checkpoint.transits.transit(_record_id(transit_id, "transit"))
    if found is None:
        raise NotFound(Text("There is no transit %(transit_id)s.", transit_id=transit_id))
    return jsonify(found.as_dict())


@bp.post("/transits/sweep")
def sweep() -> Response:
    _require_officer()
    return jsonify({"alerts": _services().checkpoint.transits.sweep_overdue()})


@bp.get("/timing")
def timing() -> Response:
    _require_officer()
    return jsonify(
        timing_report(_services().checkpoint.store, query_text("checkpoint", CHECKPOINT)).as_dict()
    )
