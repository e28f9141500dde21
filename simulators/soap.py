"""SOAP 1.1 plumbing for the stand-in agencies: a Flask app serving one WSDL contract.

POST: parse the envelope with a hardened parser, validate the body element against the agency XSD,
answer idempotently on its CaseId, or answer a SOAP 1.1 Fault (HTTP 500, SOAP 1.1 §4.4 and §6.2):
faultcode soap:Client for bad input, soap:Server for (simulated) failures. GET ?wsdl serves the WSDL
with this server's address; GET /<name>.xsd serves the schemas it imports.
"""

from __future__ import annotations

import copy
import datetime as dt
import threading
from collections.abc import Callable
from pathlib import Path

from flask import Flask, Response, request
from lxml import etree

from simulators.common import Decision, FaultInjector, IdempotentAnswers, SimulatorOptions

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
WSDL_SOAP = "http://schemas.xmlsoap.org/wsdl/soap/"
MAX_REQUEST_BYTES = 1024 * 1024
XML_TYPE = "text/xml; charset=utf-8"

# An operation: the validated request element -> the answer element (in the agency namespace).
Handler = Callable[[etree._Element], etree._Element]


class ClientFault(Exception):
    """Bad input: answered as a soap:Client Fault."""


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def parse_envelope(data: bytes) -> etree._Element:
    """The request's single body element; raises `ClientFault` for anything else."""
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
    body = root.findall(f"{{{SOAP11}}}Body/*")
    if len(body) != 1:
        raise ClientFault("the SOAP Body must hold exactly one element")
    return body[0]


def envelope(payload: etree._Element) -> bytes:
    env = etree.Element(f"{{{SOAP11}}}Envelope", nsmap={"soap": SOAP11})
    etree.SubElement(env, f"{{{SOAP11}}}Body").append(payload)
    data: bytes = etree.tostring(env, xml_declaration=True, encoding="utf-8")
    return data


def fault(code: str, text: str, status: int = 500) -> Response:
    """A SOAP 1.1 Fault; `code` is "Client", "Server" or "VersionMismatch"."""
    env = etree.Element(f"{{{SOAP11}}}Envelope", nsmap={"soap": SOAP11})
    node = etree.SubElement(etree.SubElement(env, f"{{{SOAP11}}}Body"), f"{{{SOAP11}}}Fault")
    etree.SubElement(node, "faultcode").text = f"soap:{code}"
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
    name: str, wsdl: Path, operations: dict[str, Handler], options: SimulatorOptions
) -> Flask:
    """A Flask app answering `operations` (request element QName -> handler) per `wsdl`."""
    app = Flask(name)
    schema = Schema(wsdl.parent / f"{wsdl.stem}.xsd")
    faults = FaultInjector(options)
    answers = IdempotentAnswers()

    @app.get("/")
    def serve_wsdl() -> Response:
        if "wsdl" not in request.args:
            return Response(
                f"{name}: SOAP service; the contract is at ?wsdl\n", mimetype="text/plain"
            )
        return Response(_wsdl_for(wsdl, request.host_url), content_type=XML_TYPE)

    @app.get("/<string:filename>.xsd")
    def serve_xsd(filename: str) -> Response:
        path = wsdl.parent / f"{filename}.xsd"
        if filename != wsdl.stem or not path.is_file():
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
            payload = parse_envelope(data)
        except ClientFault as exc:
            return fault("Client", str(exc))
        handler = operations.get(payload.tag)
        if handler is None:
            return fault("Client", f"no operation accepts {payload.tag}")
        # Step 3: the contract: the body must validate against the agency XSD.
        if errors := schema.errors(payload):
            return fault("Client", "the request does not match the schema: " + errors[0])
        # Step 4: one answer per CaseId, the first one, byte for byte.
        case_id = payload.findtext(f"{{{etree.QName(payload).namespace}}}CaseId") or ""

        def make() -> bytes:
            answer = handler(payload)
            if problems := schema.errors(answer):  # our own answer must keep the contract too
                raise RuntimeError(f"{name} built an invalid answer: {problems[0]}")
            return envelope(answer)

        try:
            body, _replayed = answers.answer(case_id, make)
        except Exception as exc:  # a simulator bug is a Server fault, never an HTML 500 page
            return fault("Server", f"internal error: {exc}")
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
