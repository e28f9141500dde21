"""The SOAP 1.1 adapter (customs, phytosanitary): zeep, built from the agency's WSDL in spec.contract.

One call reads as numbered steps: map the application with the agency's XSLT, validate it against
the agency XSD, wrap it in the SOAP envelope and sign it (wire/wsse.py, our
WS-Security profile, as zeep's `wsse=`), post the exact bytes, then parse the answer with the
hardened parser, refuse a Fault, verify the answer's signature against the agency's pinned
certificate and its signed SignatureConfirmation of this request's SignatureValue (WSS 1.1 §8.5;
`AgencyAnswerUntrusted` otherwise, so an answer recorded for another request is not believed),
validate the signed body against the XSD and read it with the agency's answer mapping. The bytes posted and received are kept on the answer (and on
`AgencyCallFailed`) for the trail.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import requests
import zeep
from lxml import etree

from adapters.answer_mapping import AnswerMapping, XmlReader
from adapters.base import (
    AgencyAnswer,
    AgencyAnswerUntrusted,
    AgencyCallFailed,
    AgencyRequest,
    AgencySpec,
    Credentials,
    Document,
    GuaranteeAnswer,
    GuaranteeQuery,
    GuaranteeReleased,
    Outcome,
)
from adapters.errors import MalformedAnswer, MappingFailed, transport_failure
from adapters.http import AgencyConnection
from adapters.xslt_mapping import XsltMapping
from wire.wsse import UntrustedMessage, WsSecurity, signature_value
from wire.xmlparse import DEFAULT_MAX_BYTES, XmlRefused, parse_untrusted
from wire.xsd import XsdValidator

SOAP11_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
XSD_NS = "http://www.w3.org/2001/XMLSchema"

# zeep's annotations are partial (mypy strict calls them untyped): use it through an untyped name.
_zeep: Any = zeep


def safe_settings() -> Any:
    """zeep settings for every agency client: strict parsing; no DTD, entity or external fetch."""
    return _zeep.Settings(
        strict=True,
        forbid_dtd=True,
        forbid_entities=True,
        forbid_external=True,
        xml_huge_tree=False,
    )


@dataclass(frozen=True)
class _Exchanged:
    """One verified exchange: the answer element, the exact bytes both ways, the HTTP status."""

    agency: str
    payload: etree._Element
    sent: bytes
    received: bytes
    status: int

    def failed(self, reason: str) -> AgencyCallFailed:
        return AgencyCallFailed(
            f"{self.agency}: HTTP {self.status}: {reason}",
            request_bytes=self.sent,
            answer_bytes=self.received,
            status_code=self.status,
        )


@dataclass(frozen=True)
class _Operation:
    name: str
    binding: str  # binding QName as text, "{ns}Name"
    soap_action: str
    answer_tag: str  # the output body element, "{ns}Name"
    addressing: bool  # the WSDL asks for WS-Addressing headers (only zeep renders those)


class SoapAdapter:
    """`AgencyAdapter` for a SOAP 1.1 document/literal agency.

    `credentials` sign every request (handed to zeep as its `wsse=`) and pin the agency's
    certificate for its answers; `plugins` are zeep plugins. Building reads the WSDL, XSD and
    mappings once; `send` is safe to call from several dispatcher threads.
    """

    def __init__(
        self, spec: AgencySpec, credentials: Credentials, *, plugins: list[Any] | None = None
    ):
        self.spec = spec
        self._wsse = WsSecurity(
            credentials.key,
            credentials.cert,
            credentials.peer,
            clock=credentials.clock,
            skew=credentials.skew,
        )
        wsse = self._wsse
        self._plugins = list(plugins or [])
        # zeep's transport reads the WSDL (local files); calls go through `self._http`.
        self._transport = _zeep.Transport(timeout=spec.timeout_s, operation_timeout=spec.timeout_s)
        self._http = AgencyConnection(spec.endpoint, spec.timeout_s)
        self._client = _zeep.Client(
            str(spec.contract),
            transport=self._transport,
            settings=safe_settings(),
            wsse=wsse,
            plugins=self._plugins,
        )
        self._schema = XsdValidator(_imported_schema(spec.contract))
        self._mapping = XsltMapping(spec.mapping_dir / "request.xslt")
        self._answers = AnswerMapping(spec.mapping_dir / "answer.json")
        # Document/literal dispatch: the request element the mapping produces names the operation.
        self._operations: dict[str, _Operation] = {}
        self._services: dict[str, Any] = {}
        for binding_name, binding in self._client.wsdl.bindings.items():
            self._services[str(binding_name)] = self._client.create_service(
                binding_name, spec.endpoint
            )
            for op_name, op in binding.all().items():
                self._operations[str(op.input.body.qname)] = _Operation(
                    op_name,
                    str(binding_name),
                    op.soapaction or "",
                    str(op.output.body.qname),
                    addressing=bool(op.abstract.wsa_action),
                )
        # Callbacks carry decisions only, never a cancellation's acknowledgement.
        self._answer_tags = {
            op.answer_tag for op in self._operations.values() if op.name != "CancelCase"
        }

    def close(self) -> None:
        """Close the connections kept open to the agency (HTTP keep-alive)."""
        self._http.close()
        self._transport.session.close()

    def send(self, request: AgencyRequest) -> AgencyAnswer:
        """Deliver one case; raise `AgencyCallFailed` unless a believable answer came back."""
        # Step 1: the agency's request element, from the verified application, valid per its XSD
        # (a cancellation names only the case; an amendment wraps the usual request).
        try:
            body = self._request_element(request)
            if errors := self._schema.errors(body):
                raise MappingFailed("the mapped request breaks the agency schema: " + errors[0])
        except (XmlRefused, MappingFailed) as exc:
            raise AgencyCallFailed(f"{self.spec.code}: cannot map the application: {exc}") from exc
        operation = self._operations.get(body.tag)
        if operation is None:
            raise AgencyCallFailed(f"{self.spec.code}: no WSDL operation takes {body.tag}")

        exchanged = self._exchange(body, operation)
        payload, request_bytes, answer_bytes = exchanged.payload, exchanged.sent, exchanged.received
        try:
            if request.operation == "cancel":
                if errors := self._schema.errors(payload):
                    raise MalformedAnswer("the answer breaks the agency schema: " + errors[0])
                return _read_cancel(payload, request.case_id, request_bytes, answer_bytes)
            return self._read(payload, request.case_id, request_bytes, answer_bytes)
        except MalformedAnswer as exc:
            raise exchanged.failed(str(exc)) from exc

    def _exchange(self, body: etree._Element, operation: _Operation) -> _Exchanged:
        """Steps 2-7 of any call: sign `body` into an envelope, post it, and return the agency's
        verified answer element (the operation's output), or raise `AgencyCallFailed`."""
        # Step 2: the envelope around it, signed by the wsse object (`_envelope`).
        try:
            envelope = self._envelope(body, operation)
        except (zeep.exceptions.Error, ValueError, TypeError) as exc:
            raise AgencyCallFailed(f"{self.spec.code}: zeep refused the request: {exc}") from exc
        request_bytes: bytes = etree.tostring(envelope, xml_declaration=True, encoding="utf-8")
        sent_signature = signature_value(envelope)  # what the answer must confirm

        # Step 3: post exactly these bytes (SOAP 1.1 §6.1.1: text/xml and a quoted SOAPAction).
        if not self.spec.endpoint:
            raise AgencyCallFailed(f"{self.spec.code}: no endpoint is configured")
        headers = {
            "Content-Type": "text/xml; charset=utf-8",
            "SOAPAction": f'"{operation.soap_action}"',
        }
        try:
            # No redirects: the answer must come from the configured endpoint (zeep's own post()
            # would follow them). What the environment says for this endpoint is read once.
            response = self._http.post(
                self.spec.endpoint, request_bytes, headers, max_bytes=DEFAULT_MAX_BYTES
            )
        except requests.RequestException as exc:
            raise AgencyCallFailed(
                transport_failure(self.spec.code, exc, self.spec.timeout_s),
                request_bytes=request_bytes,
            ) from exc
        answer_bytes: bytes = response.content
        status: int = response.status_code

        def failed(reason: str, retryable: bool = True) -> AgencyCallFailed:
            return AgencyCallFailed(
                f"{self.spec.code}: HTTP {status}: {reason}",
                request_bytes=request_bytes,
                answer_bytes=answer_bytes,
                status_code=status,
                retryable=retryable,
            )

        # Step 4: only 200 (an answer) and 500 (a Fault, SOAP 1.1 §6.2) carry a SOAP envelope.
        if status not in (200, 500):
            raise failed(str(response.reason or "unexpected status"))
        if not response.complete:
            raise failed(f"the answer has more than {DEFAULT_MAX_BYTES} bytes; limit reached")
        try:
            answer = parse_untrusted(answer_bytes)
        except XmlRefused as exc:
            raise failed(f"the answer is not acceptable XML: {exc}") from exc
        if answer.tag != f"{{{SOAP11_ENV}}}Envelope":
            raise failed(f"the answer is not a SOAP 1.1 envelope but {answer.tag}")

        # Step 5: a Fault is a failed call, whatever the HTTP status said.
        fault = answer.find(f"{{{SOAP11_ENV}}}Body/{{{SOAP11_ENV}}}Fault")
        if fault is not None:
            code = (fault.findtext("faultcode") or "").strip()
            text = (fault.findtext("faultstring") or "").strip()
            # SOAP 1.1 §4.4.1: Client means "the message was incorrectly formed or did not
            # contain the appropriate information" — the same request will fail again.
            client = code.rpartition(":")[2].split(".")[0] == "Client"
            raise failed(f"SOAP Fault {code}: {text}", retryable=not client)
        if status != 200:
            raise failed("an error status without a SOAP Fault")

        # Step 6: WS-Security: signed by the agency's pinned certificate, over Body, Timestamp and
        # a SignatureConfirmation of this request's signature; fresh. Only the signed Body is read
        # from here on.
        try:
            verified = self._wsse.verify(answer, confirms=sent_signature)
        except UntrustedMessage as exc:
            raise AgencyAnswerUntrusted(
                f"{self.spec.code}: security failure: the answer is not believed: {exc}",
                request_bytes=request_bytes,
                answer_bytes=answer_bytes,
                status_code=status,
            ) from exc

        # Step 7: the body holds exactly the operation's output element, valid per the agency XSD,
        # read with the agency's answer mapping.
        payload = verified.payload
        if len(payload) != 1 or payload[0].tag != operation.answer_tag:
            raise failed(f"the answer body is not one {operation.answer_tag}")
        return _Exchanged(self.spec.code, payload[0], request_bytes, answer_bytes, status)

    def check_guarantee(self, query: GuaranteeQuery) -> GuaranteeAnswer:
        """Issue 20: customs' CheckGuarantee: accepted, or refused with its reason code. Raises
        `AgencyCallFailed` when no believable answer came back (nothing is decided then)."""
        tag = self._input_of("CheckGuarantee")
        ns = etree.QName(tag).namespace
        body = etree.Element(tag, nsmap={None: ns})
        for name, value, currency in (
            ("ApplicationId", query.application_id, None),
            ("GuaranteeReference", query.reference, None),
            ("GuarantorBIN", query.guarantor_bin, None),
            ("DeclarantBIN", query.declarant_bin, None),
            ("Amount", str(query.amount_minor), query.currency),
            ("ValidUntil", query.valid_until.isoformat(), None),
            ("AmountOwed", str(query.owed_minor), query.owed_currency),
        ):
            node = etree.SubElement(body, f"{{{ns}}}{name}")
            node.text = value
            if currency is not None:
                node.set("currency", currency)
        if errors := self._schema.errors(body):
            raise AgencyCallFailed(
                f"{self.spec.code}: the guarantee query breaks the agency schema: {errors[0]}",
                retryable=False,
            )
        exchanged = self._exchange(body, self._operations[tag])
        answer = exchanged.payload
        if errors := self._schema.errors(answer):
            raise exchanged.failed("the answer breaks the agency schema: " + errors[0])
        if (answer.findtext(f"{{{ns}}}GuaranteeReference") or "").strip() != query.reference or (
            answer.findtext(f"{{{ns}}}ApplicationId") or ""
        ).strip() != query.application_id:
            raise exchanged.failed("the answer is about another guarantee or application")
        status = (answer.findtext(f"{{{ns}}}Status") or "").strip()
        code = (answer.findtext(f"{{{ns}}}ReasonCode") or "").strip() or None
        if status == "refused" and code is None:
            raise exchanged.failed("a refusal without a reason code")
        return GuaranteeAnswer(
            accepted=status == "accepted",
            reason_code=None if status == "accepted" else code,
            reason=(answer.findtext(f"{{{ns}}}Reason") or "").strip(),
            request_bytes=exchanged.sent,
            answer_bytes=exchanged.received,
        )

    def release_guarantee(
        self, application_id: str, reference: str, reason: str
    ) -> GuaranteeReleased:
        """Issue 20: customs' ReleaseGuarantee (`reason` withdrawn | not-needed): the reservation
        for the application released, or none was held. Raises `AgencyCallFailed` when no
        believable answer came back (the caller asks again later)."""
        tag = self._input_of("ReleaseGuarantee")
        ns = etree.QName(tag).namespace
        body = etree.Element(tag, nsmap={None: ns})
        for name, value in (
            ("ApplicationId", application_id),
            ("GuaranteeReference", reference),
            ("Reason", reason),
        ):
            etree.SubElement(body, f"{{{ns}}}{name}").text = value
        if errors := self._schema.errors(body):
            raise AgencyCallFailed(
                f"{self.spec.code}: the guarantee release breaks the agency schema: {errors[0]}",
                retryable=False,
            )
        exchanged = self._exchange(body, self._operations[tag])
        answer = exchanged.payload
        if errors := self._schema.errors(answer):
            raise exchanged.failed("the answer breaks the agency schema: " + errors[0])
        if (answer.findtext(f"{{{ns}}}GuaranteeReference") or "").strip() != reference or (
            answer.findtext(f"{{{ns}}}ApplicationId") or ""
        ).strip() != application_id:
            raise exchanged.failed("the answer is about another guarantee or application")
        return GuaranteeReleased(
            released=(answer.findtext(f"{{{ns}}}Status") or "").strip() == "released",
            request_bytes=exchanged.sent,
            answer_bytes=exchanged.received,
        )

    def _request_element(self, request: AgencyRequest) -> etree._Element:
        if request.operation == "cancel":
            tag = self._input_of("CancelCase")
            ns = etree.QName(tag).namespace
            element = etree.Element(tag, nsmap={None: ns})
            for name, value in (
                ("CaseId", request.case_id),
                ("ApplicationId", request.application_id),
                ("Reason", request.reason or "withdrawn"),
            ):
                etree.SubElement(element, f"{{{ns}}}{name}").text = value
            return element
        body = self._mapping.render(
            parse_untrusted(request.application_xml),
            {
                "case-id": request.case_id,
                "application-id": request.application_id,
                "callback-url": request.callback_url or "",
            },
        )
        _attach(body, request.documents)
        if request.operation != "amend":
            return body
        tag = self._input_of("AmendCase")
        ns = etree.QName(tag).namespace
        wrapper = etree.Element(tag, nsmap={None: ns})
        etree.SubElement(wrapper, f"{{{ns}}}Version").text = str(request.version)
        wrapper.append(body)
        return wrapper

    def _input_of(self, operation_name: str) -> str:
        """The request element of the WSDL operation `operation_name` (issue 19's CancelCase and
        AmendCase); a contract without it makes the request one the agency cannot take."""
        for tag, op in self._operations.items():
            if op.name == operation_name:
                return tag
        raise AgencyCallFailed(
            f"{self.spec.code}: the agency's contract has no {operation_name} operation",
            retryable=False,
        )

    def _envelope(self, body: etree._Element, operation: _Operation) -> etree._Element:
        """The signed SOAP 1.1 envelope carrying `body`, the operation's input element.

        `body` is already valid per the agency XSD, which is the schema the WSDL imports for the
        operation's message (document/literal), so the envelope is built around it directly and
        signed. Having zeep parse it into typed values and render them again only checked what
        the XSD had checked, for a large share of a SOAP call's CPU. With zeep plugins or
        WS-Addressing, which act on zeep's rendering, zeep still builds it from the WSDL."""
        if self._plugins or operation.addressing:
            value = self._client.get_element(body.tag).parse(body, self._client.wsdl.types)
            built: etree._Element = self._client.create_message(
                self._services[operation.binding], operation.name, **{k: value[k] for k in value}
            )
            return built
        envelope = etree.Element(f"{{{SOAP11_ENV}}}Envelope", nsmap={"soap-env": SOAP11_ENV})
        etree.SubElement(envelope, f"{{{SOAP11_ENV}}}Body").append(body)
        signed, _ = self._wsse.apply(envelope, {})
        return cast(etree._Element, signed)

    def read_answer(self, payload: Any, *, case_id: str, answer_bytes: bytes) -> AgencyAnswer:
        """An answer element that came by callback (its envelope verified by the caller)."""
        if not isinstance(payload, etree._Element) or payload.tag not in self._answer_tags:
            raise AgencyCallFailed(f"{self.spec.code}: the callback carries no known answer")
        try:
            return self._read(payload, case_id, b"", answer_bytes)
        except MalformedAnswer as exc:
            raise AgencyCallFailed(f"{self.spec.code}: {exc}", answer_bytes=answer_bytes) from exc

    def _read(
        self, payload: etree._Element, case_id: str, request_bytes: bytes, answer_bytes: bytes
    ) -> AgencyAnswer:
        # The payload is validated where it is: lxml validates an element that is not its
        # document's root as that root (the same nodes under a stand-in document), so a copy of
        # it (~6 us) checked nothing more; the same errors over 2,000 mutated answers.
        if errors := self._schema.errors(payload):
            raise MalformedAnswer("the answer breaks the agency schema: " + errors[0])
        try:
            return self._answers.read(
                XmlReader(payload, self._answers.namespaces),
                case_id=case_id,
                request_bytes=request_bytes,
                answer_bytes=answer_bytes,
            )
        except MalformedAnswer as exc:
            raise MalformedAnswer(f"malformed answer: {exc}") from exc


def _read_cancel(
    payload: etree._Element, case_id: str, request_bytes: bytes, answer_bytes: bytes
) -> AgencyAnswer:
    """CancelCaseResponse: the case asked about, Status cancelled, the permit it cancelled."""
    ns = etree.QName(payload).namespace
    if (payload.findtext(f"{{{ns}}}Status") or "").strip() != "cancelled":
        raise MalformedAnswer("the answer to a cancellation is not Status cancelled")
    answered = (payload.findtext(f"{{{ns}}}CaseId") or "").strip()
    if answered != case_id:
        raise MalformedAnswer(f"the answer is about case {answered!r}, not {case_id}")
    permit = (payload.findtext(f"{{{ns}}}CancelledPermitNumber") or "").strip() or None
    return AgencyAnswer(Outcome.CANCELLED, request_bytes, answer_bytes, permit_number=permit)


def _imported_schema(wsdl: Path) -> Path:
    """The one agency XSD the WSDL imports (contract-first: the XSD is the message definition)."""
    locations = [
        node.get("schemaLocation")
        for node in parse_untrusted(wsdl.read_bytes()).iter(f"{{{XSD_NS}}}import")
        if node.get("schemaLocation")
    ]
    if len(locations) != 1:
        raise ValueError(f"{wsdl}: expected one xs:import with a schemaLocation, found {locations}")
    return (wsdl.parent / str(locations[0])).resolve()


def _attach(body: etree._Element, documents: tuple[Document, ...]) -> None:
    """Each supporting document as the request's last children, one `Attachment` element (in the
    request's namespace) per document: its bytes base64, with type, number, media type and the
    signed SHA-256 as attributes (docs/attachments.md; MTOM is not used)."""
    namespace = etree.QName(body).namespace
    for doc in documents:
        element = etree.SubElement(
            body,
            f"{{{namespace}}}Attachment" if namespace else "Attachment",
            type=doc.type,
            number=doc.number,
            mediaType=doc.media_type,
            sha256=doc.sha256,
        )
        element.text = base64.b64encode(doc.content).decode("ascii")
