"""The trader API: lodge an application (signed XML), then follow it (signed HTTP requests).

Lodging needs no HTTP-level proof: the XML signature is the proof. Everything that reads an
application (status, decision, receipt, evidence) requires an RFC 9421 signature by the declarant
or its registered representative (see gateway.web.trader_auth).
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from flask import Blueprint, Response, current_app, g, jsonify, request, url_for

from gateway.domain.identifiers import Bin
from gateway.domain.views import ApplicationStatus
from gateway.errors import (
    DecisionNotReady,
    InvalidValue,
    NotFound,
    UnsupportedMediaType,
)
from gateway.i18n import Text
from gateway.intake.receipt import signed_receipt
from gateway.limits import APPLICATION_ID
from gateway.notify.events import DEFAULT_EVENTS, EVENT_TYPES, read_events
from gateway.trail.messages import Message
from gateway.trust.certificates import TrustedSigner
from gateway.web import application_list
from gateway.web.attachments_api import documents_json
from gateway.web.body import read_body
from gateway.web.params import path_text
from gateway.web.trader_auth import add_accept_signature, authorise, may_act_for, require_trader

if TYPE_CHECKING:
    from gateway.bootstrap import Services

bp = Blueprint("api", __name__, url_prefix="/api/v1")
bp.after_request(add_accept_signature)

XML_TYPES = ("application/xml", "text/xml")
log = logging.getLogger(__name__)
T = TypeVar("T")


def services() -> Services:
    svc: Services = current_app.extensions["nsw"]
    return svc


@bp.post("/applications")
def submit() -> tuple[Response, int]:
    if request.mimetype not in XML_TYPES:
        raise UnsupportedMediaType(
            Text("Send the signed application as application/xml, not %(type)s.",
                 type=request.mimetype)
            if request.mimetype
            else Text("Send the signed application as application/xml; this request names no type.")
        )  # fmt: skip
    body = read_body()  # whole or refused (413), never cut at the limit
    accepted = services().intake.submit(body, request_id=g.get("request_id"))
    if accepted.created:  # the dispatcher logs its cases and decision under the same request id
        log.info(
            "application %s accepted (request %s)", accepted.application_id, g.get("request_id")
        )
    # A new application is answered from what was just written; a replay reads the original.
    app = accepted.application or services().store.application(accepted.application_id)
    assert app is not None
    receipt = signed_receipt(services().identity, app)
    # The status path once; the other links are its sub-resources (their routes below), so they
    # are that path and their name: werkzeug's URL building cost ~20 us a link (issue 17).
    status_path = url_for("api.status", application_id=accepted.application_id)
    links = {"status": status_path} | {
        name: f"{status_path}/{name}" for name in ("decision", "receipt", "evidence")
    }
    payload: dict[str, Any] = {
        "id": accepted.application_id,
        "status": app.status,
        "received_at": app.received_at,
        "application_sha256": app.application_sha256,
        "agencies": [c.agency for c in app.cases],
        "receipt": base64.b64encode(receipt).decode("ascii"),
        "links": links,
    }
    if not accepted.created:
        # A replay of the same signed bytes returns the original application, not a new one, and
        # says so: without it an old (perhaps escalated) state reads like the new lodgement's.
        state = app.status + (f" ({app.verdict})" if app.verdict else "")
        cases = ", ".join(f"{c.agency} {c.state}" for c in app.cases)
        payload["replay"] = True
        payload["note"] = (
            f"These signed bytes were lodged before as {accepted.application_id} at "
            f"{app.received_at}; this is that earlier application, now {state}: {cases}. "
            "Nothing new was lodged: to lodge again, change the trader reference and sign anew."
        )
    response = jsonify(payload)
    response.headers["Location"] = links["status"]
    return response, 202 if accepted.created else 200


def _readable(
    application_id: str, read: Callable[[str, str | None], tuple[str | None, T | None]]
) -> T:
    """`read(application_id, reader_bin)`, once the caller proved who they are (401) and may
    see it (404). The store reads everything in one transaction when the signer is the declarant
    (issue 17); for anyone else it answers only the declarant, and a representative's read is
    read again once the representation is checked.

    Another company's application answers exactly as an id that does not exist — same status,
    problem type and sentence, after the same two reads (the gated read's first statement, the
    representative look-up) — so a trader cannot learn which ids exist (issue 15, item 9)."""
    signer = require_trader()
    path_text(application_id, APPLICATION_ID, "application")
    declarant, found = read(application_id, signer.bin)
    if found is None and may_act_for(signer, declarant) and declarant is not None:
        _, found = read(application_id, declarant)  # a representative's read
    if found is None:
        raise NotFound(
            Text(
                "There is no application %(id)s of your company or of a company you are "
                "registered to represent.",
                id=application_id,
            )
        )
    return found


def _application(application_id: str) -> ApplicationStatus:
    return _readable(application_id, services().trader_reads.application_for)


@bp.get("/applications/<application_id>")
def status(application_id: str) -> Response:
    # One transaction reads the application and everything its status lists (issue 17).
    found = _readable(application_id, services().trader_reads.trader_status)
    app = found.application
    return jsonify(
        app.to_json()
        | {
            "notifications": [n.to_json() for n in found.notifications],
            "versions": [v.to_json() for v in found.versions],  # issue 19: empty until amended
            "permit_history": [p.to_json() for p in found.permits],
            # attachments, whether uploaded, and the agencies waiting for them
            "documents": documents_json(
                application_id, [c.agency for c in app.cases], app.application_sha256
            ),
        }
    )


# --- life after lodging (issue 19): withdrawal and amendment, each a signed XML document ---------


def _signed_xml_body(wrong_type: Text, application_id: str) -> bytes:
    if request.mimetype not in XML_TYPES:
        raise UnsupportedMediaType(wrong_type)
    path_text(application_id, APPLICATION_ID, "application")
    return read_body()


@bp.post("/applications/<application_id>/withdrawal")
def withdraw(application_id: str) -> Response:
    body = _signed_xml_body(Text("Send the signed withdrawal as application/xml."), application_id)
    done = services().lifecycle.withdraw(application_id, body)
    log.info("application %s withdrawn (request %s)", application_id, g.get("request_id"))
    return jsonify(
        {
            "id": done.application_id,
            "status": "withdrawn",
            "cancelling": list(done.cancelling),
            "decision_sha256": done.decision_sha256,
            "links": {
                name: url_for(f"api.{name}", application_id=application_id)
                for name in ("status", "decision")
            },
        }
    )


@bp.post("/applications/<application_id>/versions")
def amend(application_id: str) -> tuple[Response, int]:
    body = _signed_xml_body(Text("Send the signed amendment as application/xml."), application_id)
    done = services().lifecycle.amend(application_id, body)
    log.info(
        "application %s amended to version %d (request %s)",
        application_id, done.version, g.get("request_id"),
    )  # fmt: skip
    links = {
        name: url_for(f"api.{name}", application_id=application_id)
        for name in ("status", "decision")
    }
    response = jsonify(
        {
            "id": done.application_id,
            "version": done.version,
            "changes": list(done.changes),
            "agencies": {
                "reopened": list(done.reopened),
                "added": list(done.added),
                "cancelled": list(done.cancelled),
                "untouched": list(done.untouched),
            },
            "links": links,
        }
    )
    response.headers["Location"] = links["status"]
    return response, 202


@bp.get("/applications/<application_id>/receipt")
def receipt(application_id: str) -> Response:
    app = _application(application_id)
    return Response(signed_receipt(services().identity, app), mimetype="application/xml")


@bp.get("/applications/<application_id>/evidence")
def evidence(application_id: str) -> Response:
    _application(application_id)
    return jsonify(services().auditor.bundle(application_id))


@bp.get("/applications/<application_id>/decision")
def decision(application_id: str) -> Response:
    app, xml = _readable(application_id, services().trader_reads.decision_for)
    if xml is None or app.status == "in_progress":  # an amendment is being checked again
        waiting = [
            c.agency for c in app.cases if c.state not in ("granted", "refused", "inspection")
        ]
        raise DecisionNotReady(
            Text(
                "The decision is not made yet; waiting for: %(agencies)s. "
                "Poll the status link, or try again shortly.",
                agencies=", ".join(waiting),
            ),
            waiting_for=waiting,
        )
    return Response(xml, mimetype="application/xml")


@bp.get("/applications")
def applications() -> Response:
    """A declarant's applications, newest first, a page at a time (gateway.web.application_list):
    for the company itself and its registered representatives, like every other read."""
    signer = require_trader()  # 401 before anything of the query is looked at
    declarant = application_list.read_declarant()
    authorise(signer, declarant)  # the same answer as another trader's application gets
    key = application_list.cursor_key(services().identity.key_pem)
    query = application_list.read_query(declarant, key)
    page = services().store.applications_page(
        query.declarant,
        limit=query.limit,
        state=query.state,
        since=query.since,
        after=query.after,
    )
    response = jsonify(application_list.answer(query, page, key))
    response.headers["Cache-Control"] = "no-store"  # a trader's own data: no shared cache keeps it
    return response


# --- where the trader's decisions are sent ------------------------------------------------------

SUBSCRIPTION_MAX_BYTES = 4096


def _trader_bin(value: str) -> tuple[str, TrustedSigner]:
    """The BIN and the signed caller, who may manage its notification URL: the company itself
    or its registered representative."""
    bin_ = str(Bin(value))
    signer = require_trader()
    authorise(signer, bin_)
    return bin_, signer


def _request_record(signer: TrustedSigner, body: bytes) -> Message:
    """The registration request for the trail: its signature header fields and exact body."""
    record = {
        "method": request.method,
        "target": request.url,
        "content-digest": request.headers.get("Content-Digest"),
        "signature-input": request.headers.get("Signature-Input"),
        "signature": request.headers.get("Signature"),
        "body": body.decode("utf-8", "replace"),
    }
    return Message(
        "notification-url",
        "in",
        f"trader:{signer.bin or signer.fingerprint_sha256}",
        "application/json",
        json.dumps(record, sort_keys=True).encode(),
        signer=signer.subject,
    )


@bp.get("/traders/<bin_>/notification-url")
def notification_url(bin_: str) -> Response:
    bin_, _ = _trader_bin(bin_)
    subscription = services().notifications.subscription(bin_)
    if subscription is None:
        raise NotFound(
            Text("No notification URL is registered for %(bin)s; PUT one to register it.", bin=bin_)
        )
    return jsonify(subscription.to_json())


@bp.put("/traders/<bin_>/notification-url")
def register_notification_url(bin_: str) -> Response:
    if request.mimetype != "application/json":
        raise UnsupportedMediaType(Text('Send {"url": "https://..."} as application/json.'))
    body = read_body(SUBSCRIPTION_MAX_BYTES)
    bin_, signer = _trader_bin(bin_)
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise InvalidValue(Text('The body is not JSON; send {"url": "https://..."}.')) from exc
    url = document.get("url") if isinstance(document, dict) else None
    if not isinstance(url, str):
        raise InvalidValue(
            Text('Send {"url": "https://..."}: the field "url" is missing.'), field="url"
        )
    events: tuple[str, ...] = DEFAULT_EVENTS
    if isinstance(document, dict) and "events" in document:
        try:
            events = read_events(document["events"])
        except ValueError as exc:
            raise InvalidValue(
                Text(
                    'Send "events" as a list of event types, from: %(types)s.',
                    types=", ".join(EVENT_TYPES),
                ),
                field="events",
            ) from exc
    url = services().url_policy().check(url)
    services().notifications.subscribe(
        bin_,
        url,
        fingerprint=signer.fingerprint_sha256,
        message=_request_record(signer, body),
        events=events,
    )
    subscription = services().notifications.subscription(bin_)
    return jsonify(subscription.to_json() if subscription else None)


@bp.delete("/traders/<bin_>/notification-url")
def remove_notification_url(bin_: str) -> tuple[str, int]:
    bin_, signer = _trader_bin(bin_)
    if not services().notifications.unsubscribe(bin_, message=_request_record(signer, b"")):
        raise NotFound(Text("No notification URL is registered for %(bin)s.", bin=bin_))
    return "", 204
