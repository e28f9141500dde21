"""The permit edges (issue 20 item 4).

- `GET /api/v1/permits/<id>`: the permit, its balance and every write-off, for its holder (and
  the holder's registered representatives: a trader-signed read, like every trader read) and for
  its issuing agency (RFC 9421 signed with the agency's pinned key over "@method" "@target-uri"
  "content-digest", the digest of the empty body). Anyone else gets the same 404 as an unknown id.
- `GET /api/v1/permits?holder=BIN`: a holder's permits (trader-signed; `holder` defaults to the
  signer's BIN).
- `POST /api/v1/permits/<id>/standing`: the issuing agency suspends, reinstates or revokes the
  permit, signed like its callbacks; the applications citing it that have not exited are held
  (or released from a suspension's hold). The request as received is a trail entry.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from cryptography import x509
from flask import Blueprint, Response, current_app, jsonify, request

from gateway.billing.errors import (
    InvalidPermitStanding,
    NotYourPermit,
    PermitStandingSignatureInvalid,
)
from gateway.billing.permit_ports import step_messages
from gateway.billing.permits import STANDING_ACTIONS, PermitBook
from gateway.bootstrap import Services
from gateway.errors import NotFound, UnsupportedMediaType
from gateway.i18n.text import Text
from gateway.limits import AGENCY, IDENTIFIER
from gateway.trail.messages import Message
from gateway.web.body import read_body
from gateway.web.params import path_text
from gateway.web.pinned_signature import verify_pinned
from gateway.web.trader_auth import add_accept_signature, may_act_for, require_trader
from wire import httpsig

bp = Blueprint("permits", __name__, url_prefix="/api/v1")
bp.after_request(add_accept_signature)
READ_COMPONENTS = ("@method", "@target-uri", "content-digest")
STANDING_MAX_BYTES = 8 * 1024


def permit_book() -> PermitBook:
    book: PermitBook = current_app.extensions["nsw-permits"]
    return book


def _services() -> Services:
    svc: Services = current_app.extensions["nsw"]
    return svc


def _pins() -> Mapping[str, x509.Certificate]:
    return _services().callbacks.pins


def _signing_agency() -> str | None:
    """The agency whose pinned key the request names (keyid), if any; verified by the caller."""
    signature_input = request.headers.get("Signature-Input", "")
    for agency, cert in _pins().items():
        if f'keyid="{httpsig.key_id(cert)}"' in signature_input:
            return agency
    return None


def _verify_agency(
    agency: str,
    data: bytes,
    components: Sequence[str],
    consequence: str = Text("Nothing was changed."),
) -> None:
    pinned = _pins().get(agency)
    if pinned is None:
        raise NotFound(Text("There is no agency %(agency)r.", agency=agency[:32]))
    svc = _services()
    try:
        verify_pinned(data, pinned, now=svc.clock(), skew=svc.callbacks.skew, components=components)
    except httpsig.UntrustedHttpMessage as exc:
        raise PermitStandingSignatureInvalid(
            Text(
                "Not signed by agency %(agency)s: %(exc)s. %(consequence)s",
                agency=agency,
                exc=exc,
                consequence=consequence,
            )
        ) from exc


def _no_store(value: Any) -> Response:
    response = jsonify(value)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/permits/<permit_id>")
def show(permit_id: str) -> Response:
    path_text(permit_id, IDENTIFIER, "permit")
    book = permit_book()
    agency = _signing_agency()
    unknown = NotFound(
        Text(
            "There is no permit %(permit_id)s issued to your company, to a company you represent "
            "or by your agency.",
            permit_id=permit_id,
        )
    )
    if agency is not None:
        # Step 1 (agency): its pinned key, over the request and the empty body's digest.
        _verify_agency(agency, read_body(), READ_COMPONENTS, "Nothing is shown.")
        permit = book.permits.get(permit_id)
        if permit is None or permit.agency != agency:
            raise unknown
    else:
        # Step 1 (trader): a registered trader certificate, the holder or its representative.
        signer = require_trader()
        permit = book.permits.get(permit_id)
        if permit is None or not may_act_for(signer, str(permit.holder)):
            raise unknown
    return _no_store(book.show(permit_id))


@bp.get("/permits")
def of_holder() -> Response:
    signer = require_trader()
    holder = request.args.get("holder") or signer.bin or ""
    if not may_act_for(signer, holder):
        raise NotYourPermit(
            Text(
                "BIN %(holder)s is neither your company nor one you are registered to represent.",
                holder=holder[:12],
            )
        )
    return _no_store({"holder": holder, "permits": permit_book().of_holder(holder)})


@bp.post("/permits/<permit_id>/standing")
def change_standing(permit_id: str) -> Response:
    path_text(permit_id, IDENTIFIER, "permit")
    data = read_body(STANDING_MAX_BYTES)
    # Step 1: the agency the body names, read before anything is believed only to pick its key.
    try:
        body = json.loads(data)
        agency, action = body["agency"], body["action"]
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidPermitStanding(
            Text(
                'The body is {"agency": code, "action": "suspend" | "reinstate" | "revoke", '
                '"reason": text}.'
            )
        ) from exc
    if not isinstance(agency, str) or not AGENCY.matches(agency):
        raise InvalidPermitStanding(AGENCY.sentence("agency"), field="agency")
    # Step 2: signed by that agency's pinned key over method, URI, type and the body's digest.
    _verify_agency(agency, data, httpsig.REQUEST_COMPONENTS)
    if request.mimetype != "application/json":
        raise UnsupportedMediaType(Text("Send the change as application/json."))
    if action not in STANDING_ACTIONS:
        raise InvalidPermitStanding(
            Text("action must be one of %(list)s.", list=", ".join(STANDING_ACTIONS)),
            field="action",
        )
    # Step 3: only the issuing agency changes its permit.
    book = permit_book()
    permit = book.permits.get(permit_id)
    if permit is None:
        raise NotFound(Text("There is no permit %(permit_id)s.", permit_id=permit_id))
    if permit.agency != agency:
        raise NotYourPermit(
            Text(
                "Permit %(permit_id)s was issued by another agency. Nothing changed.",
                permit_id=permit_id,
            )
        )
    # Step 4: change it, hold what it affects; the request as received is in the trail.
    record = json.dumps(
        {
            "method": request.method,
            "target": request.url,
            "content-digest": request.headers.get("Content-Digest"),
            "signature-input": request.headers.get("Signature-Input"),
            "signature": request.headers.get("Signature"),
            "body": data.decode("utf-8", "replace"),
        },
        sort_keys=True,
    ).encode()

    def messages(kind: str, value: Mapping[str, object]) -> Sequence[Message]:
        received = Message("permit-standing", "in", f"agency:{agency}", "application/json", record)
        return [received, *step_messages(kind, value)]

    # A reinstatement releases what the suspension held (paid, secured or nothing owed) in the
    # same transaction (gateway.storage.held_retry.retry_reinstated).
    after, affected = book.permits.change_standing(permit_id, action, messages)
    return _no_store(
        {"permitId": permit_id, "standing": after.standing.value, "applications": affected}
    )
