"""The gateway's own SOAP service (contract-first: wsdl/gateway/gateway.wsdl): SubmitAgencyAnswer.

POST /soap/callbacks takes a WS-Security-signed envelope (wire/wsse.py, the same profile the
gateway uses towards the agencies) from a SOAP agency answering later; GET /soap/callbacks?wsdl
serves the contract with this server's address, GET /soap/gateway.xsd its schema. Every refusal is
a SOAP 1.1 Fault (HTTP 500) with a stable faultcode in urn:kz:nsw:gateway:1 (nsw:UnknownCase, ...)
and a faultstring in the language the request asks for (Accept-Language: kk, ru or en), except an envelope that is not SOAP 1.1's, which gets soap:VersionMismatch (SOAP 1.1 §4.4.1).

`install` registers the service on an app with gateway.xsd read once for it; the callback service
itself is the app's (`Services.callbacks`, built by the composition root).
"""

from __future__ import annotations

import base64
import copy
from typing import TYPE_CHECKING

from flask import Blueprint, Flask, Response, current_app, request
from lxml import etree

from gateway.errors import BodyTooLarge, GatewayError
from gateway.fanout.callback_errors import (
    GATEWAY_NS,
    CallbackRefused,
    CallbackSignatureInvalid,
    InvalidCallback,
    VersionMismatch,
)
from gateway.i18n.library import library_words
from gateway.i18n.text import Text, localize
from gateway.i18n.web import current_locale, gettext
from gateway.resources import shipped
from gateway.trust.xmlparse import parse_xml
from gateway.web.body import read_body
from wire.wsse import SOAP11, WSSE, UntrustedMessage, verify_envelope
from wire.xsd import XsdValidator

if TYPE_CHECKING:
    from gateway.bootstrap import Services

bp = Blueprint("callbacks_soap", __name__)

XML = "text/xml; charset=utf-8"
WSDL_SOAP = "http://schemas.xmlsoap.org/wsdl/soap/"
SCHEMA = "nsw-soap-callbacks-schema"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def install(app: Flask) -> None:
    """Serve the SOAP callback service on `app`, validating with gateway.xsd (read now)."""
    app.extensions[SCHEMA] = XsdValidator(shipped("wsdl") / "gateway" / "gateway.xsd")
    app.register_blueprint(bp)


@bp.get("/soap/callbacks")
def wsdl() -> Response:
    if "wsdl" not in request.args:
        return Response("SOAP service; the contract is at ?wsdl\n", mimetype="text/plain")
    tree = parse_xml((shipped("wsdl") / "gateway" / "gateway.wsdl").read_bytes())
    for address in tree.iter(f"{{{WSDL_SOAP}}}address"):
        address.set("location", request.base_url)
    return Response(etree.tostring(tree, xml_declaration=True, encoding="utf-8"), content_type=XML)


@bp.get("/soap/gateway.xsd")
def xsd() -> Response:
    return Response((shipped("wsdl") / "gateway" / "gateway.xsd").read_bytes(), content_type=XML)


@bp.post("/soap/callbacks")
def submit() -> Response:
    try:
        return _submit(read_body())
    except BodyTooLarge as exc:
        # Refused whole, never parsed cut: HTTP 413 says so to any client, the Fault to zeep.
        return fault("nsw:BodyTooLarge", exc.detail, status=413)
    except CallbackRefused as exc:
        return fault(exc.fault, exc.detail)
    except GatewayError as exc:
        return fault("soap:Client" if exc.status < 500 else "soap:Server", exc.detail)


def _submit(data: bytes) -> Response:
    services: Services = current_app.extensions["nsw"]
    service = services.callbacks
    # Step 1: the hardened parser, a SOAP 1.1 envelope. A root that is not the SOAP 1.1 Envelope
    # in its namespace (a SOAP 1.2 envelope, or no envelope at all) is a VersionMismatch: SOAP 1.1
    # §4.4.1 names that fault for "an invalid namespace for the SOAP Envelope element".
    root = parse_xml(data)
    if root.tag != f"{{{SOAP11}}}Envelope":
        raise VersionMismatch(
            Text(
                "The root element is %(tag)s; send a SOAP 1.1 envelope ({%(SOAP11)s}Envelope).",
                tag=root.tag,
                SOAP11=SOAP11,
            )
        )
    # Step 2: who signed: the agency whose pinned certificate is the token, verified with it.
    tokens = root.findall(f"{{{SOAP11}}}Header/{{{WSSE}}}Security/{{{WSSE}}}BinarySecurityToken")
    try:
        der = base64.b64decode("".join((tokens[0].text or "").split()), validate=True)
    except (IndexError, ValueError) as exc:
        raise CallbackSignatureInvalid(Text("The envelope carries no WS-Security token.")) from exc
    agency = service.agency_by_certificate(der)
    if agency is None:
        raise CallbackSignatureInvalid(
            Text("The envelope is not signed with an agency's certificate.")
        )
    try:
        verified = verify_envelope(
            root, service.pins[agency], now=service.clock(), skew=service.skew
        )
    except UntrustedMessage as exc:
        raise CallbackSignatureInvalid(
            Text(
                "Not believed from agency %(agency)s: %(exc)s",
                agency=agency,
                exc=library_words(str(exc)),
            )
        ) from exc
    # Step 3: the signed Body holds one SubmitAgencyAnswer, valid per gateway.xsd.
    payload = verified.payload
    if len(payload) != 1 or payload[0].tag != f"{{{GATEWAY_NS}}}SubmitAgencyAnswer":
        raise InvalidCallback(Text("The Body must hold one SubmitAgencyAnswer."))
    schema: XsdValidator = current_app.extensions[SCHEMA]
    if errors := schema.errors(copy.deepcopy(payload[0])):  # validated as a document of its own
        raise InvalidCallback(
            Text("SubmitAgencyAnswer breaks gateway.xsd: %(error)s", error=library_words(errors[0]))
        )
    case_id = payload[0].findtext(f"{{{GATEWAY_NS}}}CaseId") or ""
    answer = payload[0].find(f"{{{GATEWAY_NS}}}Answer")
    assert answer is not None  # the schema requires it, with exactly one element
    # Step 4: the service judges and records it.
    outcome = service.accept(agency, case_id, answer[0], data, "application/xml")
    env = etree.Element(f"{{{SOAP11}}}Envelope", nsmap={"soap": SOAP11})
    body = etree.SubElement(env, f"{{{SOAP11}}}Body")
    node = etree.SubElement(
        body, f"{{{GATEWAY_NS}}}SubmitAgencyAnswerResponse", nsmap={None: GATEWAY_NS}
    )
    for tag, text in (
        ("CaseId", outcome.case_id),
        ("Result", outcome.result),
        ("CaseState", outcome.state),
    ):
        etree.SubElement(node, f"{{{GATEWAY_NS}}}{tag}").text = text
    return Response(etree.tostring(env, xml_declaration=True, encoding="utf-8"), content_type=XML)


def fault(code: str, text: str, status: int = 500) -> Response:
    """A SOAP 1.1 Fault (§4.4, HTTP 500 per §6.2, 413 for a body over the limit); nsw: codes are
    in urn:kz:nsw:gateway:1 and the same in every language.

    SOAP 1.1 has one faultstring: it is said in the language the request asks for
    (Accept-Language, else NSW_DEFAULT_LOCALE), marked with xml:lang as the WS-I Basic Profile 1.1
    (§3.3.4, R1017) allows, and named again in Content-Language."""
    language = current_locale()
    env = etree.Element(f"{{{SOAP11}}}Envelope", nsmap={"soap": SOAP11, "nsw": GATEWAY_NS})
    node = etree.SubElement(etree.SubElement(env, f"{{{SOAP11}}}Body"), f"{{{SOAP11}}}Fault")
    etree.SubElement(node, "faultcode").text = code
    reason = etree.SubElement(node, "faultstring", {XML_LANG: language})
    reason.text = localize(text, gettext)
    body = etree.tostring(env, xml_declaration=True, encoding="utf-8")
    response = Response(body, status=status, content_type=XML)
    response.headers["Content-Language"] = language
    response.vary.add("Accept-Language")
    return response
