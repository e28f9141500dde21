"""The REST/JSON adapter (health, transport): requests, one POST per case.

The body comes from the agency's declarative mapping (request.json), the path from the operation the
mapping names in the agency's OpenAPI document, and the case id travels as the `Idempotency-Key`
header so a retried request never creates a second permit. Every request is signed and every answer
verified against the agency's pinned certificate with our HTTP message signature profile
(wire/httpsig.py: RFC 9421 + RFC 9530 Content-Digest); the answer's signature must also cover
this request's method, target URI, Content-Digest and signature (`;req`, RFC 9421 §2.4), so a
signed answer recorded for another request (even for the same case) is not believed. An answer
that does not verify raises `AgencyAnswerUntrusted`. What was posted and received is kept on the
answer (and on `AgencyCallFailed`) for the trail as whole HTTP messages (`wire.exchange` records:
request line or status, the signed and signature fields, the body), so an auditor can re-check the
agency's signature offline from the trail alone.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import requests

from adapters.answer_mapping import AnswerMapping, JsonReader
from adapters.base import (
    AgencyAnswer,
    AgencyAnswerUntrusted,
    AgencyCallFailed,
    AgencyRequest,
    AgencySpec,
    Credentials,
    Outcome,
)
from adapters.errors import MalformedAnswer, MappingFailed, transport_failure
from adapters.http import AgencyConnection
from adapters.json_mapping import JsonMapping, ParsedApplications
from wire import exchange, httpsig
from wire.xmlparse import XmlRefused

# One per process: the JSON agencies of an application read one parse of it.
APPLICATIONS = ParsedApplications()

MAX_ANSWER_BYTES = 1024 * 1024


class RestAdapter:
    """`AgencyAdapter` for a JSON agency described by an OpenAPI document.

    Building reads the contract and mappings once. The connection pool to the agency is shared by
    dispatcher threads (`adapters.http`).
    """

    def __init__(
        self,
        spec: AgencySpec,
        credentials: Credentials,
        applications: ParsedApplications = APPLICATIONS,
    ) -> None:
        self.spec = spec
        self._applications = applications
        self._credentials = credentials
        self._http = AgencyConnection(spec.endpoint, spec.timeout_s)
        self._mapping = JsonMapping(spec.mapping_dir / "request.json")
        self._answers = AnswerMapping(spec.mapping_dir / "answer.json")
        self.path = operation_path(spec.contract, self._mapping.operation)
        # Life after lodging (issue 19): optional in a contract; asking an agency without them
        # is a refused request (the case goes to an operator).
        self.cancel_path = _optional_path(spec.contract, "cancelCase")
        self.amend_path = _optional_path(spec.contract, "amendCase")

    def _request_body(self, request: AgencyRequest) -> tuple[dict[str, Any], str]:
        if request.operation == "cancel":
            return {
                "caseId": request.case_id,
                "applicationId": request.application_id,
                "reason": request.reason or "withdrawn",
            }, self._path_for("cancelCase", self.cancel_path)
        body = self._applications.render(
            self._mapping,
            request.application_xml,
            {
                "case_id": request.case_id,
                "application_id": request.application_id,
                "callback_url": request.callback_url,
            },
        )
        if request.operation == "amend":
            return {"version": request.version, "request": body}, self._path_for(
                "amendCase", self.amend_path
            )
        return body, self.path

    def _path_for(self, operation_id: str, path: str | None) -> str:
        if path is None:
            raise AgencyCallFailed(
                f"{self.spec.code}: the agency's contract has no {operation_id} operation",
                retryable=False,
            )
        return path

    def close(self) -> None:
        """Close the connections kept open to the agency (HTTP keep-alive)."""
        self._http.close()

    def send(self, request: AgencyRequest) -> AgencyAnswer:
        """Deliver one case; raise `AgencyCallFailed` unless a believable answer came back."""
        # Step 1: the agency's request body, from the verified application (a cancellation
        # needs only the case), and the contract's operation for what is asked.
        try:
            body, path = self._request_body(request)
        except (XmlRefused, MappingFailed) as exc:
            raise AgencyCallFailed(f"{self.spec.code}: cannot map the application: {exc}") from exc
        if request.documents and isinstance(body, dict):
            # Inline, base64, as `attachments` of the agency's request (docs/attachments.md) —
            # of the request inside an amendment too, where the contract has it.
            target = body["request"] if request.operation == "amend" else body
            target["attachments"] = [
                {
                    "type": d.type,
                    "number": d.number,
                    "mediaType": d.media_type,
                    "sha256": d.sha256,
                    "content": base64.b64encode(d.content).decode("ascii"),
                }
                for d in request.documents
            ]
        if not self.spec.endpoint:
            raise AgencyCallFailed(f"{self.spec.code}: no endpoint is configured")

        # Step 2: the exact bytes, with the idempotency key, signed (RFC 9421) for the URL as it
        # goes on the wire.
        url = self._http.url(self.spec.endpoint.rstrip("/") + path)
        request_bytes = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        sent = httpsig.HttpMessage(
            {
                "Content-Type": "application/json",
                "Accept": "application/json, application/problem+json",
                "Idempotency-Key": request.idempotency_key,
            },
            method="POST",
            url=url,
        ).view()
        creds = self._credentials
        httpsig.sign(
            sent,
            request_bytes,
            creds.key,
            creds.cert,
            now=creds.clock(),
            components=httpsig.REQUEST_COMPONENTS,
        )
        request_record = exchange.record(sent.headers, request_bytes, method="POST", target=url)

        # Step 3: send; no redirects (an answer must come from the configured endpoint).
        try:
            response = self._http.post(url, request_bytes, sent.headers, max_bytes=MAX_ANSWER_BYTES)
        except requests.RequestException as exc:
            raise AgencyCallFailed(
                transport_failure(self.spec.code, exc, self.spec.timeout_s),
                request_bytes=request_record,
            ) from exc
        answer_bytes = response.content
        # The fields as received (repeated ones already joined by `adapters.http1`).
        answer_record = exchange.record(response.headers, answer_bytes, status=response.status_code)

        def failed(reason: str, retryable: bool = True) -> AgencyCallFailed:
            return AgencyCallFailed(
                f"{self.spec.code}: {reason}",
                request_bytes=request_record,
                answer_bytes=answer_record,
                status_code=response.status_code,
                retryable=retryable,
            )

        # Step 4: only 200 (decided) and 202 (pending) carry an answer; anything else failed.
        if response.status_code not in (200, 202):
            detail = _problem_detail(answer_bytes)
            raise failed(
                f"HTTP {response.status_code} {response.reason}{detail}",
                retryable=response.status_code not in REFUSED_REQUEST,
            )
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if media_type != "application/json":
            raise failed(f"the answer is {media_type or 'untyped'}, not application/json")
        if not response.complete:
            raise failed(f"the answer has more than {MAX_ANSWER_BYTES} bytes; limit reached")

        # Step 5: signed by the agency's pinned key over status, type and digest, and over this
        # request's method, URI, digest and signature (`;req`: the answer is to *this* request);
        # the digest matches the bytes received.
        try:
            httpsig.verify(
                response,
                answer_bytes,
                creds.peer,
                now=creds.clock(),
                skew=creds.skew,
                components=httpsig.RESPONSE_COMPONENTS,
                request=sent,
            )
        except httpsig.UntrustedHttpMessage as exc:
            raise AgencyAnswerUntrusted(
                f"{self.spec.code}: security failure: the answer is not believed: {exc}",
                request_bytes=request_record,
                answer_bytes=answer_record,
                status_code=response.status_code,
            ) from exc

        # Step 6: parse strictly (no NaN or Infinity) and read it with the agency's answer mapping.
        try:
            if request.operation == "cancel":
                return _read_cancel(answer_bytes, request.case_id, request_record, answer_record)
            return self._read(answer_bytes, request.case_id, request_record, answer_record)
        except (ValueError, MalformedAnswer) as exc:
            raise failed(f"malformed answer: {exc}") from exc

    def read_answer(self, payload: Any, *, case_id: str, answer_bytes: bytes) -> AgencyAnswer:
        """An answer that came by callback (its signature verified by the caller). `answer_bytes`
        is the callback kept whole (a `wire.exchange` record) or its bare JSON body."""
        try:
            return self._read(exchange.body_of(answer_bytes), case_id, b"", answer_bytes)
        except (ValueError, MalformedAnswer) as exc:
            raise AgencyCallFailed(
                f"{self.spec.code}: malformed answer: {exc}", answer_bytes=answer_bytes
            ) from exc

    def _read(
        self, body: bytes, case_id: str, request_bytes: bytes, answer_bytes: bytes
    ) -> AgencyAnswer:
        """Read the JSON `body`; the answer keeps `request_bytes`/`answer_bytes` for the trail."""
        data = json.loads(body, parse_constant=_refuse_constant)
        if not isinstance(data, dict):
            raise MalformedAnswer("the answer is not a JSON object")
        return self._answers.read(
            JsonReader(data),
            case_id=case_id,
            request_bytes=request_bytes,
            answer_bytes=answer_bytes,
        )


def operation_path(contract: Path, operation_id: str) -> str:
    """The path of the POST operation `operation_id` in an OpenAPI document."""
    document: dict[str, Any] = json.loads(contract.read_text(encoding="utf-8"))
    for path, item in document.get("paths", {}).items():
        post = item.get("post") or {}
        if post.get("operationId") == operation_id:
            return str(path)
    raise ValueError(f"{contract}: no POST operation {operation_id!r}")


def _optional_path(contract: Path, operation_id: str) -> str | None:
    try:
        return operation_path(contract, operation_id)
    except ValueError:
        return None


def _read_cancel(
    body: bytes, case_id: str, request_bytes: bytes, answer_bytes: bytes
) -> AgencyAnswer:
    """The CancelAnswer of the agency contracts: the case id asked about, status "cancelled"."""
    data = json.loads(body, parse_constant=_refuse_constant)
    if not isinstance(data, dict) or data.get("status") != "cancelled":
        raise MalformedAnswer("the answer to a cancellation is not status cancelled")
    if data.get("caseId") != case_id:
        raise MalformedAnswer(f"the answer is about case {data.get('caseId')!r}, not {case_id}")
    permit = data.get("cancelledPermitNumber")
    return AgencyAnswer(
        Outcome.CANCELLED,
        request_bytes,
        answer_bytes,
        permit_number=permit if isinstance(permit, str) else None,
    )


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# The agency refused the request itself; the same request will be refused again. (401/403 are
# not here: they may pass once keys or clocks are put right, so they are retried.)
REFUSED_REQUEST = frozenset({400, 405, 413, 415, 422})


def _problem_detail(content: bytes) -> str:
    """': <title>: <detail>' from an RFC 9457 problem document, else ''."""
    try:
        problem = json.loads(content[:MAX_ANSWER_BYTES])
    except ValueError:
        return ""
    if not isinstance(problem, dict):
        return ""
    parts = [str(problem[k]) for k in ("title", "detail") if problem.get(k)]
    return (": " + ": ".join(parts)) if parts else ""
