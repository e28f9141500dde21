"""The agencies' side of the published WS-Security profile (OASIS WSS 1.1, X.509 token profile).

A message carries one wsse:Security header: a BinarySecurityToken (the sender's certificate), a
wsu:Timestamp and a ds:Signature (RSA-SHA256, exclusive c14n) over soap:Body and the Timestamp by
wsu:Id, with KeyInfo referencing the token. An answer also carries a wsse11:SignatureConfirmation
(WSS 1.1 §8.5) whose Value is the SignatureValue of the request it answers, signed by wsu:Id with
the rest, so the gateway can tell the answer was made for its request. The gateway implements the same profile in its own code;
the simulators share only the contract and the certificates with it.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import secrets
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree
from signxml.algorithms import DigestAlgorithm, SignatureMethod
from signxml.exceptions import SignXMLException
from signxml.verifier import SignatureConfiguration, XMLVerifier

from wire import dsig

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
DS = "http://www.w3.org/2000/09/xmldsig#"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
WSSE11 = "http://docs.oasis-open.org/wss/oasis-wss-wssecurity-secext-1.1.xsd"
X509V3 = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3"
BASE64 = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"
)
WSU_ID = f"{{{WSU}}}Id"
SKEW = dt.timedelta(minutes=2)


# What a request's signature must be (signxml's configuration is frozen: one serves every call).
_EXPECTED = SignatureConfiguration(
    location=f"./{{{SOAP11}}}Header/{{{WSSE}}}Security/",
    expect_references=True,
    signature_methods=frozenset({SignatureMethod.RSA_SHA256}),
    digest_algorithms=frozenset({DigestAlgorithm.SHA256}),
)


class SecurityFault(Exception):
    """The request is not signed by the gateway as the profile requires."""


def sign(
    envelope: etree._Element, key: Any, cert: x509.Certificate, confirm: str | None = None
) -> etree._Element:
    """Add the wsse:Security header to `envelope` in place, signed with `key` (`cert` is sent as
    the token; a test may pass a key that does not belong to it). `confirm`: the SignatureValue
    of the request this answers, sent back as a signed SignatureConfirmation."""
    now = dt.datetime.now(dt.UTC)
    header = envelope.find(f"{{{SOAP11}}}Header")
    if header is None:
        header = etree.Element(f"{{{SOAP11}}}Header")
        envelope.insert(0, header)
    security = etree.SubElement(header, f"{{{WSSE}}}Security", nsmap={"wsse": WSSE, "wsu": WSU})
    security.set(f"{{{SOAP11}}}mustUnderstand", "1")
    token_id, ts_id, body_id = (f"{k}-{secrets.token_hex(8)}" for k in ("X509", "TS", "Body"))
    token = etree.SubElement(
        security,
        f"{{{WSSE}}}BinarySecurityToken",
        {"EncodingType": BASE64, "ValueType": X509V3, WSU_ID: token_id},
    )
    token.text = base64.b64encode(_der(cert)).decode()
    timestamp = etree.SubElement(security, f"{{{WSU}}}Timestamp", {WSU_ID: ts_id})
    etree.SubElement(timestamp, f"{{{WSU}}}Created").text = f"{now:%Y-%m-%dT%H:%M:%SZ}"
    expires = now + dt.timedelta(minutes=5)
    etree.SubElement(timestamp, f"{{{WSU}}}Expires").text = f"{expires:%Y-%m-%dT%H:%M:%SZ}"
    body = envelope.find(f"{{{SOAP11}}}Body")
    assert body is not None
    body.set(WSU_ID, body_id)
    signed = [(f"#{body_id}", body), (f"#{ts_id}", timestamp)]
    if confirm is not None:
        sc_id = f"SC-{secrets.token_hex(8)}"
        confirmation = etree.SubElement(
            security,
            f"{{{WSSE11}}}SignatureConfirmation",
            {WSU_ID: sc_id, "Value": confirm},
            nsmap={"wsse11": WSSE11},
        )
        signed.append((f"#{sc_id}", confirmation))
    key_info = etree.Element(f"{{{DS}}}KeyInfo", nsmap={"ds": DS})
    ref = etree.SubElement(key_info, f"{{{WSSE}}}SecurityTokenReference")
    etree.SubElement(ref, f"{{{WSSE}}}Reference", {"URI": f"#{token_id}", "ValueType": X509V3})
    # The detached signature signxml's XMLSigner makes (RSA-SHA256, SHA-256, exclusive c14n),
    # byte for byte, without its re-parses of the envelope and each reference (a test holds
    # them equal). Verification below stays signxml's: independent of the gateway's code.
    signature = dsig.sign(tuple(signed), key, key_info)
    security.append(signature)
    return envelope


@functools.lru_cache(maxsize=64)
def _der(cert: x509.Certificate) -> bytes:
    """A certificate's DER, once per certificate (sent or compared on every call)."""
    return cert.public_bytes(Encoding.DER)


def signature_value(envelope: etree._Element) -> str:
    """The SignatureValue of the (verified) request's signature, to confirm in the answer."""
    value = envelope.findtext(
        f"{{{SOAP11}}}Header/{{{WSSE}}}Security/{{{DS}}}Signature/{{{DS}}}SignatureValue"
    )
    return "".join((value or "").split())


def verify(envelope: etree._Element, pinned: x509.Certificate) -> etree._Element:
    """The signed soap:Body of `envelope` if the pinned party signed Body and Timestamp and the
    Timestamp is fresh; raises `SecurityFault` otherwise."""
    security = envelope.findall(f"{{{SOAP11}}}Header/{{{WSSE}}}Security")
    if len(security) != 1:
        raise SecurityFault("the request carries no (or more than one) wsse:Security header")
    token = security[0].find(f"{{{WSSE}}}BinarySecurityToken")
    timestamp = security[0].find(f"{{{WSU}}}Timestamp")
    if token is None or timestamp is None:
        raise SecurityFault("wsse:Security needs a BinarySecurityToken and a Timestamp")
    try:
        presented = base64.b64decode("".join((token.text or "").split()), validate=True)
    except ValueError as exc:
        raise SecurityFault("the security token is not base64") from exc
    if presented != _der(pinned):
        raise SecurityFault("the request is not signed with the gateway's certificate")
    try:
        results: Any = XMLVerifier().verify(
            envelope, x509_cert=pinned, id_attribute="Id", expect_config=_EXPECTED
        )
    except (SignXMLException, ValueError, etree.LxmlError) as exc:
        raise SecurityFault(f"the signature does not verify: {exc}") from exc
    uris = [r.get("URI") for r in results[0].signature_xml.iter(f"{{{DS}}}Reference")]
    signed = dict(zip(uris, (r.signed_xml for r in results), strict=True))
    body = envelope.find(f"{{{SOAP11}}}Body")
    signed_body = signed.get(f"#{body.get(WSU_ID)}") if body is not None else None
    signed_ts = signed.get(f"#{timestamp.get(WSU_ID)}")
    if signed_body is None or signed_ts is None:
        raise SecurityFault("Body and Timestamp must both be signed")
    now = dt.datetime.now(dt.UTC)
    try:
        created = dt.datetime.fromisoformat(signed_ts.findtext(f"{{{WSU}}}Created") or "")
        expires = dt.datetime.fromisoformat(signed_ts.findtext(f"{{{WSU}}}Expires") or "")
    except ValueError as exc:
        raise SecurityFault("the Timestamp is not readable") from exc
    if created > now + SKEW or expires <= now - SKEW:
        raise SecurityFault("the Timestamp is not fresh")
    result: etree._Element = signed_body
    return result
