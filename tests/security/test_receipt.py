"""The signed receipt in every 202 (issue 4, item 6)."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable

from flask.testing import FlaskClient
from lxml import etree

from gateway.clock import system_clock
from gateway.resources import shipped_file
from gateway.trust.certificates import TrustStore
from gateway.trust.xmlparse import parse_xml
from gateway.trust.xmlsig import verify_enveloped
from tests.responses import json_of
from tests.security.conftest import XML

R = "{urn:kz:nsw:receipt:1}"


def test_receipt_is_signed_by_the_gateway_over_the_exact_bytes(
    client: FlaskClient, signed_sample: Callable[..., bytes], trust: TrustStore
) -> None:
    body = signed_sample("fresh-apples-import")
    answer = client.post("/api/v1/applications", data=body, headers=XML)
    assert answer.status_code == 202
    receipt = base64.b64decode(json_of(answer)["receipt"])

    verified = verify_enveloped(parse_xml(receipt), trust, now=system_clock())
    assert "NSW Gateway" in verified.signer.subject
    signed = verified.signed
    assert signed.findtext(f"{R}ApplicationId") == json_of(answer)["id"]
    assert signed.findtext(f"{R}ApplicationSHA256") == hashlib.sha256(body).hexdigest()
    assert signed.findtext(f"{R}ReceivedAt") == json_of(answer)["received_at"]
    assert signed.findtext(f"{R}DeclarantBIN") == "210540012341"
    schema = etree.XMLSchema(etree.parse(str(shipped_file("wsdl/application/receipt.xsd"))))
    assert schema.validate(parse_xml(receipt)), schema.error_log

    # A replay gets the original's receipt: same id, digest and time.
    again = client.post("/api/v1/applications", data=body, headers=XML)
    assert again.status_code == 200
    replayed = verify_enveloped(
        parse_xml(base64.b64decode(json_of(again)["receipt"])), trust, now=system_clock()
    ).signed
    assert etree.tostring(replayed, method="c14n") == etree.tostring(signed, method="c14n")


def test_altered_receipt_does_not_verify(
    client: FlaskClient, signed_sample: Callable[..., bytes], trust: TrustStore
) -> None:
    import pytest

    from gateway.errors import BadSignature

    answer = client.post(
        "/api/v1/applications", data=signed_sample("fresh-apples-import"), headers=XML
    )
    receipt = base64.b64decode(json_of(answer)["receipt"])
    altered = receipt.replace(b"<ReceivedAt>20", b"<ReceivedAt>19", 1)
    assert altered != receipt
    with pytest.raises(BadSignature):
        verify_enveloped(parse_xml(altered), trust, now=system_clock())
