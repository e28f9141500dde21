"""The gateway's SOAP Faults are said in the language the request asks for (issue 21, item 2):
SOAP 1.1 has one faultstring, chosen by Accept-Language and marked with xml:lang; the faultcode
stays the same stable code in every language."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from lxml import etree

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
UNSIGNED = f'<soap:Envelope xmlns:soap="{SOAP11}"><soap:Body/></soap:Envelope>'.encode()


def _fault(client: FlaskClient, body: bytes, language: str | None) -> tuple[str, etree._Element]:
    headers = {"Content-Type": "text/xml"} | ({"Accept-Language": language} if language else {})
    response = client.post("/soap/callbacks", data=body, headers=headers)
    assert response.status_code == 500 and response.mimetype == "text/xml"
    fault = etree.fromstring(response.data).find(f"{{{SOAP11}}}Body/{{{SOAP11}}}Fault")
    assert fault is not None
    return response.headers["Content-Language"], fault


@pytest.mark.parametrize(
    ("language", "used", "reason"),
    [
        ("ru-RU,ru;q=0.9", "ru", "В конверте нет токена WS-Security."),  # noqa: RUF001
        ("kk", "kk", "Конвертте WS-Security токені жоқ."),
        (None, "en", "The envelope carries no WS-Security token."),
        ("fr", "en", "The envelope carries no WS-Security token."),
    ],
)
def test_a_fault_reason_is_in_the_requested_language_with_the_same_code(
    client: FlaskClient, language: str | None, used: str, reason: str
) -> None:
    content_language, fault = _fault(client, UNSIGNED, language)
    assert fault.findtext("faultcode") == "nsw:BadSignature"
    faultstring = fault.find("faultstring")
    assert faultstring is not None and faultstring.text == reason
    assert faultstring.get(XML_LANG) == used and content_language == used


def test_a_fault_with_values_keeps_them_in_the_translation(client: FlaskClient) -> None:
    _, fault = _fault(client, b"<SubmitAgencyAnswer/>", "ru")
    assert fault.findtext("faultcode") == "soap:VersionMismatch"
    reason = fault.findtext("faultstring") or ""
    assert "SubmitAgencyAnswer" in reason and SOAP11 in reason and "send a SOAP" not in reason
