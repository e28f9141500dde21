"""POST /api/v1/callbacks/<agency>: a REST agency's later answer, HTTP-message-signed (RFC 9421).

The body is the agency's own answer object (its OpenAPI `Answer`), signed with Content-Digest over
"@method" "@target-uri" "content-type" "content-digest" by the agency's pinned key. Refusals are
RFC 9457 problem documents with stable types (gateway/fanout/callback_errors.py).

The trail keeps the callback whole (a `wire.exchange` record: method, target, the signature and
digest fields, the body), so the offline verifier re-checks its signature with the agency's pinned
certificate from the trail alone (gateway/trail/verify.py).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from flask import Blueprint, Response, current_app, jsonify, request

from gateway.errors import NotFound, UnsupportedMediaType
from gateway.fanout.callback_errors import CallbackSignatureInvalid, InvalidCallback
from gateway.i18n.text import Text
from gateway.limits import CASE_ID
from gateway.web.body import read_body
from gateway.web.pinned_signature import verify_pinned
from wire import exchange, httpsig

if TYPE_CHECKING:
    from gateway.bootstrap import Services

bp = Blueprint("callbacks_rest", __name__, url_prefix="/api/v1/callbacks")


@bp.post("/<string:agency>")
def submit(agency: str) -> Response:
    services: Services = current_app.extensions["nsw"]
    service = services.callbacks
    # Step 1: an agency we know, and its pinned certificate.
    pinned = service.pins.get(agency)
    if pinned is None:
        raise NotFound(Text("There is no agency %(agency)r.", agency=agency))
    # Step 2: the signature: that agency's key, over method, URI, type and the body's digest.
    data = read_body()
    try:
        fields = verify_pinned(data, pinned, now=service.clock(), skew=service.skew)
    except httpsig.UntrustedHttpMessage as exc:
        raise CallbackSignatureInvalid(
            Text("Not signed by agency %(agency)s: %(exc)s", agency=agency, exc=exc)
        ) from exc
    # Step 3: a JSON object naming the case.
    if request.mimetype != "application/json":
        raise UnsupportedMediaType(Text("Send the answer as application/json."))
    try:
        answer = json.loads(data)
    except ValueError as exc:
        raise InvalidCallback(Text("The body is not JSON.")) from exc
    if not isinstance(answer, dict) or not isinstance(answer.get("caseId"), str):
        raise InvalidCallback(Text("The body must be the agency's answer object with a caseId."))
    if not CASE_ID.matches(answer["caseId"]):
        raise InvalidCallback(CASE_ID.sentence("caseId"), field="caseId")
    # Step 4: the service judges and records it, kept whole: what was verified is what is kept.
    kept = exchange.record(fields, data, method=request.method, target=request.url)
    outcome = service.accept(agency, answer["caseId"], answer, kept, exchange.MEDIA_TYPE)
    return jsonify({"caseId": outcome.case_id, "result": outcome.result, "state": outcome.state})
