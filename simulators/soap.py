"""SOAP 1.1 plumbing for the stand-in agencies: a Flask app serving one WSDL contract.

POST: parse the envelope with a hardened parser, verify its WS-Security signature (the gateway's
pinned certificate, simulators/wsse.py), validate the signed body element against the agency XSD,
answer idempotently on its CaseId with an envelope signed by the agency's key, or answer a SOAP 1.1
Fault (HTTP 500, SOAP 1.1 §4.4 and §6.2): faultcode soap:Client for bad input, wsse:FailedCheck
for a missing or bad signature (WSS 1.1 §12), soap:Server for (simulated) failures. With
`answer_later` the answer is "pending" and the final one goes to the request's CallbackUrl;
`fault` spoils answers on the way out (a reset connection, a truncated or non-XML body).
An answer confirms the request's signature (wsse11:SignatureConfirmation, WSS 1.1 §8.5); tamper
"replay" sends the first answer for a case again, verbatim. GET ?wsdl serves the WSDL with this server's address; GET /<name>.xsd serves the schemas beside it.
"""

from __future__ import annotations

import copy
import datetime as dt
import threading
from collections.abc import Callable
from pathlib import Path

from flask import Flask, Response, request
from lxml import etree

from simulators import wsse
from simulators.callbacks import (
    SOAP_ACTION,
    CallbackSender,
    Delivery,
    post,
    signed_soap,
    submit_answer,
)
from simulators.common import (
    CaseBook,
    Decision,
    FaultInjector,
    FirstSent,
    IdempotentAnswers,
    SimulatorOptions,
)
from simulators.documents import xml_attachments_problem
from simulators.security import AgencyKeys, impostor, other_key, spoil_first_text
from simulators.wire import reset_mid_answer

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
WSDL_SOAP = "http://schemas.xmlsoap.org/wsdl/soap/"
MAX_REQUEST_BYTES = 16 * 1024 * 1024  # attachments travel inline, base64
XML_TYPE = "text/xml; charset=utf-8"

# An operation: the validated request element -> the answer element (in the agency namespace).
Handler = Callable[[etree._Element], etree._Element]


class ClientFault(Exception):
    """Bad input: answered as a soap:Client Fault."""


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def parse_envelope(data: bytes) -> etree._Element:
    """The request's envelope, checked to hold a single body element; raises `ClientFault` for
    anything else."""
    if len(data) > MAX_REQUEST_BYTES:
        raise ClientFault(f"the request is larger than {MAX_REQUEST_BYTES} bytes")
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as exc:
        raise ClientFault(f"not well-formed XML: {exc.msg}") from exc
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise ClientFault("DOCTYPE declarations are not accepted")
    if root.tag != f"{{{SOAP11}}}Envelope":
        raise ClientFault(f"expected a SOAP 1.1 Envelope, got {root.tag}")
    if len(root.findall(f"{{{SOAP11}}}Body/*")) != 1:
        raise ClientFault("the SOAP Body must hold exactly one element")
    return root


def envelope(payload: etree._Element) -> bytes:
    env = etree.Element(f"{{{SOAP11}}}Envelope", nsmap={"soap": SOAP11})
    etree.SubElement(env, f"{{{SOAP11}}}Body").append(payload)
    data: bytes = etree.tostring(env, xml_declaration=True, encoding="utf-8")
    return data


def fault(code: str, text: str, status: int = 500) -> Response:
    """A SOAP 1.1 Fault; `code` is "Client", "Server", "VersionMismatch" or a qualified name."""
    env = etree.Element(f"{{{SOAP11}}}Envelope", nsmap={"soap": SOAP11, "wsse": wsse.WSSE})
    node = etree.SubElement(etree.SubElement(env, f"{{{SOAP11}}}Body"), f"{{{SOAP11}}}Fault")
    etree.SubElement(node, "faultcode").text = code if ":" in code else f"soap:{code}"
    etree.SubElement(node, "faultstring").text = text
    body = etree.tostring(env, xml_declaration=True, encoding="utf-8")
    return Response(body, status=status, content_type=XML_TYPE)


class Schema:
    """An agency XSD with a lock (lxml keeps the error log on the schema object)."""

    def __init__(self, path: Path) -> None:
        self._schema = etree.XMLSchema(etree.parse(str(path), parser=_parser()))
        self._lock = threading.Lock()

    def errors(self, element: etree._Element) -> list[str]:
        with self._lock:
            if self._schema.validate(copy.deepcopy(element)):
                return []
            return [str(e.message) for e in self._schema.error_log]


def create_soap_app(
    name: str,
    wsdl: Path,
    operations: dict[str, Handler],
    options: SimulatorOptions,
    permit_of: Callable[[etree._Element], str | None] = lambda answer: None,
    direct: dict[str, Handler] | None = None,
) -> Flask:
    """A Flask app answering `operations` (request element QName -> handler) per `wsdl`, and,
    when the contract has them, CancelCase and AmendCase (issue 19) for those cases; `permit_of`
    reads the permit number out of an answer, so a cancellation names the permit it cancelled.
    `direct` handlers (customs' CheckGuarantee, issue 20) answer at once about no case: their
    answers are checked against the schema and signed, never kept or sent later."""
    app = Flask(name)
    schema = Schema(wsdl.parent / f"{wsdl.stem}.xsd")
    faults = FaultInjector(options)
    answers = IdempotentAnswers()
    sent: FirstSent[bytes] = FirstSent()
    keys = AgencyKeys.load(name, options.pki_dir)
    sender = CallbackSender()
    app.extensions["callbacks"] = sender
    book = CaseBook()
    app.extensions["cases"] = book

    def signed(payload: etree._Element, confirm: str | None = None) -> bytes:
        """The envelope, signed by the agency (or spoilt as `options.tamper` says); an answer
        confirms the SignatureValue of its request (`confirm`), a callback nothing."""
        env = etree.fromstring(envelope(copy.deepcopy(payload)))
        if options.tamper == "other-agency":
            signed_soap(env, impostor(name, options.pki_dir), confirm=confirm)
        elif options.tamper != "unsigned":
            wrong = other_key() if options.tamper == "wrong-key" else None
            signed_soap(env, keys, wrong, confirm)
        if options.tamper == "body":  # one byte of the signed Body changed after signing
            spoil_first_text(env.find(f"{{{SOAP11}}}Body"))
        data: bytes = etree.tostring(env, xml_declaration=True, encoding="utf-8")
        return data

    def call_back(url: str, case_id: str, final: etree._Element) -> Delivery:
        data = signed(submit_answer(case_id, final))
        headers = {"Content-Type": XML_TYPE, "SOAPAction": SOAP_ACTION}
        return post(url, data, headers, sender.stopped)

    @app.get("/")
    def serve_wsdl() -> Response:
        if "wsdl" not in request.args:
            return Response(
                f"{name}: SOAP service; the contract is at ?wsdl\n", mimetype="text/plain"
            )
        return Response(_wsdl_for(wsdl, request.host_url), content_type=XML_TYPE)

    @app.get("/<string:filename>.xsd")
    def serve_xsd(filename: str) -> Response:
        # The agency XSD and the schemas it imports, all beside the WSDL (a flat directory).
        path = wsdl.parent / f"{filename}.xsd"
        if not path.is_file():
            return Response("no such schema\n", status=404, mimetype="text/plain")
        return Response(path.read_bytes(), content_type=XML_TYPE)

    @app.post("/")
    def call() -> Response:
        # Step 1: the simulated faults come first, as a real outage would.
        injected = faults.fault()
        if injected == "outage":
            return Response(
                "service unavailable\n",
                status=503,
                mimetype="text/plain",
                headers={"Retry-After": "30"},
            )
        if injected == "error":
            return fault("Server", "simulated internal error; retry later")
        # Step 2: hardened parse, SOAP 1.1 only, one body element, an operation we offer.
        data = request.get_data(cache=False)
        if data.lstrip().startswith(b"<") and SOAP12.encode() in data[:2048]:
            return fault("VersionMismatch", "this service speaks SOAP 1.1 only")
        try:
            root = parse_envelope(data)
        except ClientFault as exc:
            return fault("Client", str(exc))
        # Step 3: WS-Security: only what the gateway signed is read.
        try:
            payload = wsse.verify(root, keys.gateway)[0]
        except wsse.SecurityFault as exc:
            return fault("wsse:FailedCheck", f"security: {exc}")
        ns = etree.QName(payload).namespace
        local = etree.QName(payload).localname
        handler = operations.get(payload.tag)
        answer_now = (direct or {}).get(payload.tag)
        if (
            handler is None
            and answer_now is None
            and local
            not in (
                "CancelCaseRequest",
                "AmendCaseRequest",
            )
        ):
            return fault("Client", f"no operation accepts {payload.tag}")
        # Step 4: the contract: the body must validate against the agency XSD.
        if errors := schema.errors(payload):
            return fault("Client", "the request does not match the schema: " + errors[0])
        version = 1
        if answer_now is not None:
            try:
                answer = answer_now(payload)
                if problems := schema.errors(answer):
                    raise RuntimeError(f"{name} built an invalid answer: {problems[0]}")
            except Exception as exc:  # a simulator bug is a Server fault, never an HTML 500
                return fault("Server", f"internal error: {exc}")
            return Response(
                signed(answer, wsse.signature_value(root)), status=200, content_type=XML_TYPE
            )
        if local == "CancelCaseRequest":  # issue 19: close the case, cancel its permit
            case_id = text(payload, "CaseId")
            cancelled = book.cancel(case_id, text(payload, "Reason"))
            answer = etree.Element(f"{{{ns}}}CancelCaseResponse", nsmap={None: ns})
            sub(answer, "CaseId", case_id)
            sub(answer, "Status", "cancelled")
            if cancelled:
                sub(answer, "CancelledPermitNumber", cancelled)
            return Response(
                signed(answer, wsse.signature_value(root)), status=200, content_type=XML_TYPE
            )
        if local == "AmendCaseRequest":  # issue 19: the usual request, for a new version
            version = int(text(payload, "Version"))
            payload = payload[1]
            handler = operations.get(payload.tag)
            if handler is None:
                return fault("Client", f"no operation accepts {payload.tag}")
        if why := xml_attachments_problem(payload):  # the signed documents, or nothing
            return fault("Client", why)
        case_id = payload.findtext(f"{{{ns}}}CaseId") or ""
        if book.cancelled(case_id) if version == 1 else not book.may_amend(case_id):
            return fault("Client", f"case {case_id} was cancelled")
        key = case_id if version == 1 else f"{case_id}.v{version}"
        assert handler is not None
        if options.fault == "client-fault":
            return fault("Client", f"simulated business fault: {name} refuses case {case_id}")
        # Step 5: one answer per CaseId, the first one (signed afresh each time).
        callback_url = (payload.findtext(f"{{{ns}}}CallbackUrl") or "").strip()

        def make() -> bytes:
            answer = handler(payload)
            if problems := schema.errors(answer):  # our own answer must keep the contract too
                raise RuntimeError(f"{name} built an invalid answer: {problems[0]}")
            book.issued(case_id, permit_of(answer), version)
            if version > 1 or not (options.answer_later and callback_url):
                return bytes(etree.tostring(answer))
            # Answer later: "pending" now (the first three elements: CaseId, file, Status).
            pending = copy.deepcopy(answer)
            for extra in pending[3:]:
                pending.remove(extra)
            pending[2].text = "pending"
            if options.callback_first:
                sender.record(call_back(callback_url, case_id, answer))
            else:
                sender.later(
                    options.callback_delay_s, lambda: call_back(callback_url, case_id, answer)
                )
            return bytes(etree.tostring(pending))

        try:
            stored, _replayed = answers.answer(key, make)
            answer = etree.fromstring(stored, parser=_parser())
            if options.fault == "off-contract":  # Status (the third element) outside the XSD
                answer[2].text = "approved"
            body = signed(answer, wsse.signature_value(root))
            if options.tamper == "replay":  # the answer signed for this case's first request
                body = sent.first(case_id, body)
        except Exception as exc:  # a simulator bug is a Server fault, never an HTML 500 page
            return fault("Server", f"internal error: {exc}")
        # Step 6: the answer, unless a fault spoils it on the way out.
        if options.fault == "reset":
            reset_mid_answer(request.environ, "200 OK", [("Content-Type", XML_TYPE)], body)
        elif options.fault == "truncated":
            body = body[: len(body) // 2]
        elif options.fault == "garbage":
            body = b"Internal error: the registry did not answer\n"
        return Response(body, status=200, content_type=XML_TYPE)

    return app


def _wsdl_for(wsdl: Path, base_url: str) -> bytes:
    """The WSDL with soap:address pointing at this server (as a deployed service would show)."""
    tree = etree.parse(str(wsdl), parser=_parser())
    for address in tree.iter(f"{{{WSDL_SOAP}}}address"):
        address.set("location", base_url)
    data: bytes = etree.tostring(tree, xml_declaration=True, encoding="utf-8")
    return data


# ----- writing answers -----


def sub(parent: etree._Element, tag: str, text: object = None) -> etree._Element:
    """Append a child in the parent's namespace; `text` is written with str()."""
    ns = etree.QName(parent).namespace
    child = etree.SubElement(parent, f"{{{ns}}}{tag}" if ns else tag)
    if text is not None:
        child.text = text.isoformat() if isinstance(text, dt.date) else str(text)
    return child


def append_outcome(answer: etree._Element, decision: Decision, permit_tag: str) -> None:
    """Permit, validity, conditions, reasons and inspection, in the order both agency XSDs use."""
    if decision.permit_number:
        sub(answer, permit_tag, decision.permit_number)
    if decision.valid_until:
        sub(answer, "ValidUntil", decision.valid_until)
    if decision.conditions:
        conditions = sub(answer, "Conditions")
        for text in decision.conditions:
            sub(conditions, "Condition", text)
    if decision.reasons:
        reasons = sub(answer, "Reasons")
        for code, text in decision.reasons:
            reason = sub(reasons, "Reason")
            sub(reason, "Code", code)
            sub(reason, "Text", text)
    if decision.inspection:
        inspection = sub(answer, "Inspection")
        sub(inspection, "Place", decision.inspection[0])
        sub(inspection, "Reason", decision.inspection[1])


def text(element: etree._Element, path: str) -> str:
    """The text at `path` (names without prefix, in the element's namespace), '' when absent."""
    ns = etree.QName(element).namespace
    qualified = "/".join(
        f"{{{ns}}}{step}" if step not in (".", "..") else step for step in path.split("/")
    )
    return (element.findtext(qualified) or "").strip()


def children(element: etree._Element, path: str) -> list[etree._Element]:
    ns = etree.QName(element).namespace
    return list(element.findall("/".join(f"{{{ns}}}{step}" for step in path.split("/"))))
