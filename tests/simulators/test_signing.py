"""The stand-ins' signers: their one-pass signatures (RFC 9421 through `wire.sigbase`, WS-Security
through `wire.dsig`) are byte for byte what the signature libraries make, and what the libraries
and the gateway accept."""

from __future__ import annotations

import copy
import datetime as dt
import re
import types
from typing import Any

import pytest
from lxml import etree
from signxml.algorithms import DigestAlgorithm, SignatureConstructionMethod, SignatureMethod
from signxml.signer import XMLSigner

from gateway.pki.dev import DevPki
from simulators import security, wsse
from simulators.security import (
    REQUEST_COMPONENTS,
    RESPONSE_COMPONENTS,
    AgencyKeys,
    Message,
    sign_http,
    sign_with_library,
    verify_http,
)
from wire import httpsig


def created() -> dt.datetime:
    """When a test signs: now, in whole seconds (the answers must still be fresh to verify)."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


URL = "http://127.0.0.1:8123/permits"
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def keys(pki: DevPki) -> AgencyKeys:
    return AgencyKeys.load("transport", pki.directory)


def gateway_request(pki: DevPki, url: str = URL, body: bytes = b'{"caseId":"C-1"}') -> Message:
    """A request as the gateway signs it (wire.httpsig), seen by the stand-in."""
    gateway = AgencyKeys.load("transport", pki.directory)  # any RSA key; the cert below names it
    sent = types.SimpleNamespace(headers=dict(JSON), method="POST", url=url)  # as requests has it
    httpsig.sign(
        sent, body, gateway.key, gateway.cert, now=created(), components=REQUEST_COMPONENTS
    )
    return Message(sent.headers, method="POST", url=url)


def both_ways(
    message: Message, body: bytes, keys: AgencyKeys, components: tuple[str, ...]
) -> tuple[Message, Message]:
    """`message` signed by `sign_http` and by the library alone, at the same time."""
    ours, theirs = copy.deepcopy(message), copy.deepcopy(message)
    at = created()
    sign_http(ours, body, keys.key, keys.cert, components, at)
    sign_with_library(theirs, body, keys.key, keys.cert, components, at)
    return ours, theirs


class _NoLibrary:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise AssertionError("the one-pass signer handed the message to the library")


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", "text/plain"]
)
@pytest.mark.parametrize("status", [200, 202, 409])
def test_an_answer_is_signed_in_one_pass_as_the_library_signs_it(
    pki: DevPki,
    keys: AgencyKeys,
    monkeypatch: pytest.MonkeyPatch,
    content_type: str,
    status: int,
) -> None:
    request = gateway_request(pki)
    answer = Message({"Content-Type": content_type}, status_code=status, request=request)
    body = '{"caseId":"C-1","status":"granted","reference":"É-1"}'.encode()
    theirs = copy.deepcopy(answer)
    at = created()
    sign_with_library(theirs, body, keys.key, keys.cert, RESPONSE_COMPONENTS, at)
    monkeypatch.setattr(security, "HTTPMessageSigner", _NoLibrary)
    sign_http(answer, body, keys.key, keys.cert, RESPONSE_COMPONENTS, at)
    assert list(answer.headers.items()) == list(theirs.headers.items())
    monkeypatch.undo()
    verify_http(answer, body, keys.cert, RESPONSE_COMPONENTS)  # and the library accepts it


def test_a_callback_is_signed_in_one_pass_as_the_library_signs_it(
    keys: AgencyKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    callback = Message(dict(JSON), method="POST", url="http://127.0.0.1:9/agency-answers/rest")
    theirs = copy.deepcopy(callback)
    at = created()
    sign_with_library(theirs, b"{}", keys.key, keys.cert, REQUEST_COMPONENTS, at)
    monkeypatch.setattr(security, "HTTPMessageSigner", _NoLibrary)
    sign_http(callback, b"{}", keys.key, keys.cert, REQUEST_COMPONENTS, at)
    assert list(callback.headers.items()) == list(theirs.headers.items())


@pytest.mark.parametrize(
    "change",
    [
        "query in the URL",
        "two signatures on the request",
        "request signature with parameters",
        "two digests on the request",
        "content type with a line break",
    ],
)
def test_what_the_one_pass_signer_does_not_read_the_library_signs(
    pki: DevPki, keys: AgencyKeys, change: str
) -> None:
    request = gateway_request(pki, URL + "?x=1" if change == "query in the URL" else URL)
    if change == "two signatures on the request":
        request.headers["Signature"] += ", other=:AAAA:"
    elif change == "request signature with parameters":
        request.headers["Signature"] += ";p=1"
    elif change == "two digests on the request":
        request.headers["Content-Digest"] += ", sha-512=:AAAA:"
    content_type = "application/json\r\nX: y" if "line break" in change else "application/json"
    answer = Message({"Content-Type": content_type}, status_code=200, request=request)
    try:
        ours, theirs = both_ways(answer, b"{}", keys, RESPONSE_COMPONENTS)
    except Exception as exc:  # the library refuses it: so must sign_http, with the same words
        with pytest.raises(type(exc), match=re.escape(str(exc))):
            sign_http(copy.deepcopy(answer), b"{}", keys.key, keys.cert, RESPONSE_COMPONENTS)
        return
    assert list(ours.headers.items()) == list(theirs.headers.items())


# ----- WS-Security -----

SOAP = f'<soap:Envelope xmlns:soap="{wsse.SOAP11}"><soap:Body>'


@pytest.mark.parametrize("confirm", [None, "c2lnbmF0dXJlIG9mIHRoZSByZXF1ZXN0"])
@pytest.mark.parametrize(
    "payload",
    [
        '<a:R xmlns:a="urn:a"><a:CaseId>C-1</a:CaseId><a:Status>granted</a:Status></a:R>',
        '<R xmlns="urn:r" z="2" a="&amp;&lt;"><V>a &amp; b \u049b\u0430\u0437</V><E/></R>',
    ],
)
def test_an_envelope_is_signed_as_signxml_signs_it(
    keys: AgencyKeys, confirm: str | None, payload: str
) -> None:
    envelope = etree.fromstring(f"{SOAP}{payload}</soap:Body></soap:Envelope>")
    wsse.sign(envelope, keys.key, keys.cert, confirm)
    ours = etree.tostring(envelope)
    # What the stand-ins sent before: the same envelope, signed by signxml's detached signer.
    before = copy.deepcopy(envelope)
    security_header = before.find(f".//{{{wsse.WSSE}}}Security")
    token = before.find(f".//{{{wsse.WSSE}}}BinarySecurityToken")
    assert security_header is not None and token is not None
    signature = security_header.find(f"{{{wsse.DS}}}Signature")
    assert signature is not None
    uris = [r.get("URI") for r in signature.iter(f"{{{wsse.DS}}}Reference")]
    assert len(uris) == (2 if confirm is None else 3)
    security_header.remove(signature)
    key_info = etree.Element(f"{{{wsse.DS}}}KeyInfo", nsmap={"ds": wsse.DS})
    ref = etree.SubElement(key_info, f"{{{wsse.WSSE}}}SecurityTokenReference")
    etree.SubElement(
        ref,
        f"{{{wsse.WSSE}}}Reference",
        {"URI": f"#{token.get(wsse.WSU_ID)}", "ValueType": wsse.X509V3},
    )
    signer: Any = XMLSigner(
        method=SignatureConstructionMethod.detached,
        signature_algorithm=SignatureMethod.RSA_SHA256,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#",
    )
    security_header.append(
        signer.sign(before, key=keys.key, reference_uri=uris, key_info=key_info, id_attribute="Id")
    )
    assert ours == etree.tostring(before)
    assert wsse.verify(envelope, keys.cert) is not None  # the stand-ins' own (signxml) verifier
