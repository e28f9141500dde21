"""REST/JSON plumbing for the stand-in agencies: a Flask app serving one OpenAPI operation.

POST <path>: verifies the request's HTTP message signature (RFC 9421, the gateway's pinned key; 401
otherwise), requires the Idempotency-Key header (equal to the body's caseId), validates the body
against the operation's request schema, answers idempotently on the key with an answer signed by the
agency's key, or answers an RFC 9457 problem document (400, 401, 415, 422; 500 and 503 for simulated
faults). Never an HTML error page. With `answer_later` the answer is 202 "pending" and the final one
is POSTed to the body's callbackUrl; `fault` spoils answers on the way out (a reset connection, a
truncated or non-JSON body). Each answer's signature covers the request it answers (`;req`, see
simulators/security.py); tamper "replay" sends the first answer for a case again, verbatim.
GET /openapi.json serves the contract.
"""

from __future__ import annotations

import http
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from simulators.callbacks import CallbackSender, Delivery, post
from simulators.common import (
    CaseBook,
    Decision,
    FaultInjector,
    FirstSent,
    IdempotentAnswers,
    SimulatorOptions,
)
from simulators.documents import json_documents_problem
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
from simulators.wire import reset_mid_answer

MAX_REQUEST_BYTES = 1024 * 1024
# An agency's requests may carry supporting documents inline, base64 (issue 19): a larger cap.
MAX_AGENCY_REQUEST_BYTES = 32 * 1024 * 1024

# An operation: the validated request body -> the decision.
Handler = Callable[[dict[str, Any]], Decision]


def problem(status: int, title: str, detail: str = "", **extra: Any) -> Response:
    body = {"type": "about:blank", "title": title, "status": status, **extra}
    if detail:
        body["detail"] = detail
    headers = {"Retry-After": "30"} if status == 503 else {}
    return Response(
        json.dumps(body), status=status, content_type="application/problem+json", headers=headers
    )


def decision_json(case_id: str, decision: Decision) -> dict[str, Any]:
    """The Answer schema of both agency OpenAPI documents."""
    answer: dict[str, Any] = {
        "caseId": case_id,
        "reference": decision.reference,
        "status": decision.status,
        "conditions": decision.conditions,
        "reasons": [{"code": c, "text": t} for c, t in decision.reasons],
    }
    if decision.permit_number:
        answer["permitNumber"] = decision.permit_number
    if decision.valid_until:
        answer["validUntil"] = decision.valid_until.isoformat()
    if decision.inspection:
        answer["inspection"] = {"place": decision.inspection[0], "reason": decision.inspection[1]}
    if decision.permit:
        answer["permit"] = decision.permit
    if decision.charges:
        answer["charges"] = decision.charges
    return answer


def create_rest_app(
    name: str, contract: Path, operation_id: str, handler: Handler, options: SimulatorOptions
) -> Flask:
    """A Flask app answering the POST operation `operation_id` of the OpenAPI `contract`."""
    document = json.loads(contract.read_text(encoding="utf-8"))
    path, operation = next(
        (p, item["post"])
        for p, item in document["paths"].items()
        if item.get("post", {}).get("operationId") == operation_id
    )
    request_schema = operation["requestBody"]["content"]["application/json"]["schema"]
    checker = SchemaChecker(document)
    faults = FaultInjector(options)
    answers = IdempotentAnswers()
    sent: FirstSent[tuple[int, dict[str, str], bytes]] = FirstSent()
    app = Flask(name)
    app.config["MAX_CONTENT_LENGTH"] = MAX_AGENCY_REQUEST_BYTES
    keys = AgencyKeys.load(name, options.pki_dir)
    sender = CallbackSender()
    app.extensions["callbacks"] = sender

    def signed(message: Message, content: bytes, components: tuple[str, ...]) -> bytes:
        """Sign `message` for `content` (or spoil it as `options.tamper` says); the bytes to send."""
        if options.tamper == "other-agency":
            other = impostor(name, options.pki_dir)
            sign_http(message, content, other.key, other.cert, components)
        elif options.tamper != "unsigned":
            key = other_key() if options.tamper == "wrong-key" else keys.key
            sign_http(message, content, key, keys.cert, components)
        if options.tamper == "body":  # one byte changed after signing
            return content.replace(b'"reference":"', b'"reference":"X', 1)
        return content

    def call_back(url: str, content: bytes) -> Delivery:
        message = Message({"Content-Type": "application/json"}, method="POST", url=url)
        data = signed(message, content, REQUEST_COMPONENTS)
        return post(url, data, message.headers, sender.stopped)

    @app.errorhandler(HTTPException)
    def http_problem(exc: HTTPException) -> Response:
        return problem(exc.code or 500, exc.name, exc.description or "")

    @app.errorhandler(Exception)
    def internal_problem(exc: Exception) -> Response:
        return problem(500, "Internal Server Error", f"{name}: {type(exc).__name__}")

    @app.get("/openapi.json")
    def serve_contract() -> Response:
        return Response(contract.read_bytes(), content_type="application/json")

    book = CaseBook()
    app.extensions["cases"] = book

    def checked(schema: dict[str, Any]) -> Response | tuple[Message, str, dict[str, Any]]:
        """Steps 1-4 of every operation: a problem to answer, or (request, key, body)."""
        # Step 1: simulated faults first, as a real outage would.
        injected = faults.fault()
        if injected == "outage":
            return problem(503, "Service Unavailable", f"{name} is down for maintenance")
        if injected == "error":
            return problem(500, "Internal Server Error", "simulated failure; retry later")
        # Step 2: signed by the gateway (RFC 9421 over method, URI, type and Content-Digest).
        data = request.get_data(cache=False)
        incoming = Message(dict(request.headers.items()), method=request.method, url=request.url)
        try:
            verify_http(incoming, data, keys.gateway, REQUEST_COMPONENTS)
        except BadRequestSignature as exc:
            return problem(401, "Signature required", f"security: {exc}")
        # Step 3: the idempotency key and a JSON object.
        key = request.headers.get("Idempotency-Key", "")
        if not key:
            return problem(400, "Idempotency-Key required", "Send the case id as Idempotency-Key.")
        if request.mimetype != "application/json":
            return problem(415, "Unsupported Media Type", "Send application/json.")
        try:
            body = json.loads(data)
        except ValueError:
            return problem(400, "Bad Request", "The body is not JSON.")
        # Step 4: the contract.
        errors = checker.problems(body, schema)
        if errors:
            return problem(422, "Unprocessable Content", errors[0], errors=errors)
        return incoming, key, body

    def answered(incoming: Message, content: bytes, status: int = 200) -> Response:
        outgoing = Message(
            {"Content-Type": "application/json"}, status_code=status, request=incoming
        )
        content = signed(outgoing, content, RESPONSE_COMPONENTS)
        return Response(content, status=status, headers=outgoing.headers)

    for op_id, suffix in (("cancelCase", "cancel"), ("amendCase", "amend")):
        found = [
            (p, item["post"])
            for p, item in document["paths"].items()
            if item.get("post", {}).get("operationId") == op_id
        ]
        if not found:
            continue
        op_path, op = found[0]
        op_schema = op["requestBody"]["content"]["application/json"]["schema"]
        app.add_url_rule(
            op_path,
            f"{suffix}_case",
            (lambda s=op_schema, f=suffix: life_after_lodging(s, f)),
            methods=["POST"],
        )

    def life_after_lodging(schema: dict[str, Any], operation: str) -> Response:
        """Issue 19: cancel a case (its permit too), or decide it again for an amended version."""
        got = checked(schema)
        if isinstance(got, Response):
            return got
        incoming, key, body = got
        if operation == "cancel":
            case_id = body["caseId"]
            if key != f"{case_id}.cancel":
                return problem(
                    422, "Unprocessable Content", "Idempotency-Key must be <caseId>.cancel"
                )
            permit = book.cancel(case_id, body["reason"])
            answer: dict[str, Any] = {"caseId": case_id, "status": "cancelled"}
            if permit:
                answer["cancelledPermitNumber"] = permit
            return answered(incoming, json.dumps(answer, separators=(",", ":")).encode())
        inner, version = body["request"], int(body["version"])
        case_id = inner.get("caseId", "")
        errors = checker.problems(inner, request_schema)
        if not errors and key != f"{case_id}.v{version}":
            errors = ["Idempotency-Key must be <request.caseId>.v<version>"]
        if errors:
            return problem(422, "Unprocessable Content", errors[0], errors=errors)
        if why := json_documents_problem(inner):  # the documents are the ones the trader signed
            return problem(422, "Unprocessable Content", why)
        if not book.may_amend(case_id):
            return problem(409, "Conflict", f"case {case_id} was cancelled; it cannot be amended")

        def make() -> bytes:
            final = decision_json(case_id, handler(inner))
            book.issued(case_id, final.get("permitNumber"), version)
            return json.dumps(final, ensure_ascii=False, separators=(",", ":")).encode()

        content, _replayed = answers.answer(key, make)
        return answered(incoming, content)

    @app.post(path)
    def call() -> Response:
        got = checked(request_schema)
        if isinstance(got, Response):
            return got
        incoming, key, body = got
        errors = (
            [] if body.get("caseId") == key else ["$.caseId must equal the Idempotency-Key header"]
        )
        if errors:
            return problem(422, "Unprocessable Content", errors[0], errors=errors)
        if book.cancelled(key):
            return problem(409, "Conflict", f"case {key} was cancelled")
        if why := json_documents_problem(body):  # the documents are the ones the trader signed
            return problem(422, "Unprocessable Content", why)
        if options.fault == "client-fault":
            detail = f"simulated business fault: {name} refuses case {key}"
            return problem(422, "Unprocessable Content", detail)

        # Step 5: one answer per key, the first one, byte for byte (signed afresh each time).
        callback_url = body.get("callbackUrl") or ""

        def make() -> bytes:
            final = decision_json(key, handler(body))
            book.issued(key, final.get("permitNumber"))
            content = json.dumps(final, ensure_ascii=False, separators=(",", ":")).encode()
            if not (options.answer_later and callback_url):
                return content
            if options.callback_first:
                sender.record(call_back(callback_url, content))
            else:
                sender.later(options.callback_delay_s, lambda: call_back(callback_url, content))
            pending = {**final, "status": "pending", "conditions": [], "reasons": []}
            for field in ("permitNumber", "validUntil", "inspection", "permit", "charges"):
                pending.pop(field, None)
            return json.dumps(pending, ensure_ascii=False, separators=(",", ":")).encode()

        content, _replayed = answers.answer(key, make)
        status = 202 if b'"status":"pending"' in content else 200
        outgoing = Message(
            {"Content-Type": "application/json"}, status_code=status, request=incoming
        )
        content = signed(outgoing, spoilt(content), RESPONSE_COMPONENTS)
        if options.tamper == "replay":  # the answer signed for this case's first request
            status, outgoing.headers, content = sent.first(key, (status, outgoing.headers, content))
        if options.fault == "reset":
            line = f"{status} {http.HTTPStatus(status).phrase}"
            reset_mid_answer(request.environ, line, outgoing.headers.items(), content)
        return Response(content, status=status, headers=outgoing.headers)

    def spoilt(content: bytes) -> bytes:
        """The answer as `options.fault` breaks it before signing (signed as sent)."""
        if options.fault == "truncated":
            return content[: len(content) // 2]
        if options.fault == "garbage":
            return b"<html><body>Internal error: the registry did not answer</body></html>"
        if options.fault == "off-contract":  # a status outside the contract's enumeration
            return json.dumps({**json.loads(content), "status": "approved"}).encode()
        return content

    return app
