"""The gateway's SOAP service speaks SOAP 1.1 only: an envelope of another version (SOAP 1.2) or a
root that is no envelope is answered with a soap:VersionMismatch Fault (SOAP 1.1 §4.4.1), so the
sender learns which version to speak, instead of the service's own nsw:InvalidRequest."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from lxml import etree
from werkzeug.test import TestResponse

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"


def faultcode(response: TestResponse) -> str:
    assert response.status_code == 500  # SOAP 1.1 §6.2: a Fault travels with HTTP 500
    assert response.mimetype == "text/xml"
    root = etree.fromstring(response.data)
    assert root.tag == f"{{{SOAP11}}}Envelope"  # the Fault itself is SOAP 1.1
    return root.findtext(f"{{{SOAP11}}}Body/{{{SOAP11}}}Fault/faultcode") or ""


@pytest.mark.parametrize(
    "body",
    [
        f'<env:Envelope xmlns:env="{SOAP12}"><env:Body><x/></env:Body></env:Envelope>',
        '<Envelope><Body><x xmlns="urn:kz:nsw:gateway:1"/></Body></Envelope>',
        f'<soap:Body xmlns:soap="{SOAP11}"/>',
        "<SubmitAgencyAnswer/>",
    ],
    ids=["soap-1.2", "no-namespace", "body-as-root", "no-envelope"],
)
def test_an_envelope_that_is_not_soap_1_1_is_a_version_mismatch(
    client: FlaskClient, body: str
) -> None:
    response = client.post(
        "/soap/callbacks", data=body.encode(), headers={"Content-Type": "text/xml"}
    )
    assert faultcode(response) == "soap:VersionMismatch"


def test_a_soap_1_1_envelope_without_signature_is_not_a_version_mismatch(
    client: FlaskClient,
) -> None:
    body = f'<soap:Envelope xmlns:soap="{SOAP11}"><soap:Body/></soap:Envelope>'
    response = client.post(
        "/soap/callbacks", data=body.encode(), headers={"Content-Type": "text/xml"}
    )
    assert faultcode(response) == "nsw:BadSignature"
