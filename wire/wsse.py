"""The gateway's WS-Security profile (OASIS WSS 1.1, X.509 Token Profile 1.1), on signxml.

One profile for both directions: a message carries in soap:Header one wsse:Security with a
wsse:BinarySecurityToken (the sender's certificate), a wsu:Timestamp (Created, Expires) and a
ds:Signature (RSA-SHA256, exclusive c14n, SHA-256 digests) over soap:Body and the Timestamp by
wsu:Id, whose KeyInfo is a wsse:SecurityTokenReference to that token (WSS 1.1 §8, X.509 profile
§3.2). The simulators implement the same published profile on their side (simulators/wsse.py).

An agency's answer is bound to the request it answers by WSS 1.1 SignatureConfirmation (§8.5):
its wsse:Security also holds one wsse11:SignatureConfirmation whose Value is the SignatureValue of
the gateway's request signature, with a wsu:Id among the signature's references. Verifying with
`confirms=` (the SignatureValue the gateway sent) refuses an answer whose *signed* confirmation is
missing or names another request, so a recorded, still fresh answer cannot be played back.

Signatures are made by `wire.dsig.sign`, byte for byte as signxml's detached signer made them,
without its re-parse of the envelope.

Verification pins the sender: the token must be byte-equal to the certificate configured for that
party; a certificate that merely chains to a CA is not enough. The cryptography is checked in one
pass by `wire.dsig.verify` for a signature of exactly the profile's shape, by signxml otherwise
(signxml gives every refusal and its words). This module checks what neither does: *what* was
signed (the Body and the Timestamp actually in the envelope), the key reference and the
freshness. signxml verifiers keep per-call state, so one is
made per call; `WsSecurity` is safe to share between dispatcher threads.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod
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
EXC_C14N = CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0
WSU_ID = f"{{{WSU}}}Id"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

_signxml: Any = XMLVerifier  # signxml's annotations are partial: call through Any


class UntrustedMessage(ValueError):
    """The envelope is unsigned, signed by someone else, signed over the wrong parts, or stale."""


@dataclass(frozen=True)
class VerifiedEnvelope:
    """What a verification proved. `body` is the soap:Body as it was signed (re-parsed from the
    signed bytes): later code reads the payload from here, never from the original tree."""

    body: etree._Element
    created: dt.datetime
    expires: dt.datetime
    signer: x509.Certificate

    @property
    def payload(self) -> list[etree._Element]:
        return [child for child in self.body if isinstance(child.tag, str)]


def sign_envelope(
    envelope: etree._Element,
    key: rsa.RSAPrivateKey,
    cert: x509.Certificate,
    *,
    now: dt.datetime,
    ttl: dt.timedelta = dt.timedelta(minutes=5),
) -> etree._Element:
    """Add the profile's wsse:Security header to `envelope` (in place) and return it."""
    body = envelope.find(f"{{{SOAP11}}}Body")
    if envelope.tag != f"{{{SOAP11}}}Envelope" or body is None:
        raise ValueError("only a SOAP 1.1 envelope with a Body can be signed")
    header = envelope.find(f"{{{SOAP11}}}Header")
    if header is None:
        header = etree.Element(f"{{{SOAP11}}}Header")
        envelope.insert(0, header)
    if header.find(f"{{{WSSE}}}Security") is not None:
        raise ValueError("the envelope already carries a wsse:Security header")
    security = etree.SubElement(header, f"{{{WSSE}}}Security", nsmap={"wsse": WSSE, "wsu": WSU})
    security.set(f"{{{SOAP11}}}mustUnderstand", "1")
    token_id, ts_id, body_id = (f"{kind}-{secrets.token_hex(8)}" for kind in ("X509", "TS", "Body"))
    token = etree.SubElement(
        security,
        f"{{{WSSE}}}BinarySecurityToken",
        {"EncodingType": BASE64, "ValueType": X509V3, WSU_ID: token_id},
    )
    token.text = _token_text(cert)
    timestamp = etree.SubElement(security, f"{{{WSU}}}Timestamp", {WSU_ID: ts_id})
    etree.SubElement(timestamp, f"{{{WSU}}}Created").text = now.strftime(TIME_FORMAT)
    etree.SubElement(timestamp, f"{{{WSU}}}Expires").text = (now + ttl).strftime(TIME_FORMAT)
    body.set(WSU_ID, body_id)

    key_info = etree.Element(f"{{{DS}}}KeyInfo", nsmap={"ds": DS})
    reference = etree.SubElement(key_info, f"{{{WSSE}}}SecurityTokenReference")
    etree.SubElement(
        reference, f"{{{WSSE}}}Reference", {"URI": f"#{token_id}", "ValueType": X509V3}
    )
    signature = dsig.sign(((f"#{body_id}", body), (f"#{ts_id}", timestamp)), key, key_info)
    security.append(signature)
    return envelope


@functools.lru_cache(maxsize=64)
def _der(cert: x509.Certificate) -> bytes:
    """A certificate's DER, encoded once per certificate (a token signed or pinned each call)."""
    return cert.public_bytes(Encoding.DER)


@functools.lru_cache(maxsize=64)
def _token_text(cert: x509.Certificate) -> str:
    return base64.b64encode(_der(cert)).decode()


def signature_value(envelope: etree._Element) -> str:
    """The SignatureValue (base64, whitespace removed) of the profile's signature in `envelope`'s
    wsse:Security header: what the answer to this message must confirm."""
    values = envelope.findall(
        f"{{{SOAP11}}}Header/{{{WSSE}}}Security/{{{DS}}}Signature/{{{DS}}}SignatureValue"
    )
    if len(values) != 1:
        raise ValueError("the envelope does not carry exactly one profile signature")
    return "".join((values[0].text or "").split())


def verify_envelope(
    envelope: etree._Element,
    pinned: x509.Certificate,
    *,
    now: dt.datetime,
    skew: dt.timedelta,
    confirms: str | None = None,
) -> VerifiedEnvelope:
    """Verify `envelope` under the profile against the `pinned` certificate, or raise
    `UntrustedMessage` saying why it is not believed. With `confirms` (the SignatureValue of the
    request this envelope answers) it must also carry a signed SignatureConfirmation of it;
    without it (an unsolicited message, e.g. a callback) no confirmation is checked."""
    # Step 1: exactly one Security header holding one token, one timestamp and one signature.
    if envelope.tag != f"{{{SOAP11}}}Envelope":
        raise UntrustedMessage("not a SOAP 1.1 envelope")
    securities = envelope.findall(f"{{{SOAP11}}}Header/{{{WSSE}}}Security")
    if len(securities) != 1:
        raise UntrustedMessage(f"expected one wsse:Security header, found {len(securities)}")
    security = securities[0]
    tokens = security.findall(f"{{{WSSE}}}BinarySecurityToken")
    timestamps = security.findall(f"{{{WSU}}}Timestamp")
    signatures = security.findall(f"{{{DS}}}Signature")
    if (len(tokens), len(timestamps), len(signatures)) != (1, 1, 1):
        raise UntrustedMessage("wsse:Security must hold one token, one Timestamp and one Signature")
    token, timestamp = tokens[0], timestamps[0]

    # Step 2: the token is the pinned certificate, byte for byte (not just "a cert that chains").
    if token.get("ValueType") != X509V3:
        raise UntrustedMessage("the security token is not an X.509 v3 certificate")
    try:
        presented = base64.b64decode("".join((token.text or "").split()), validate=True)
    except ValueError as exc:
        raise UntrustedMessage("the security token is not base64") from exc
    if presented != _der(pinned):
        raise UntrustedMessage("the message is signed with a certificate other than the pinned one")

    # Step 3: KeyInfo names that token (WSS X.509 profile §3.2: SecurityTokenReference).
    references = signatures[0].findall(
        f"{{{DS}}}KeyInfo/{{{WSSE}}}SecurityTokenReference/{{{WSSE}}}Reference"
    )
    if len(references) != 1 or references[0].get("URI") != f"#{token.get(WSU_ID)}":
        raise UntrustedMessage("the signature's KeyInfo does not reference the security token")

    # Step 4: the signature, with the pinned certificate, under the algorithm policy: in one
    # pass when it is exactly of the profile's shape (`wire.dsig`), else by signxml.
    signed = dsig.verify(envelope, signatures[0], pinned, now)
    if signed is None:
        signed = _verified_by_signxml(envelope, pinned, now)

    # Step 5: what was signed: the envelope's own Body and the Timestamp in the Security header
    # (signxml refuses an Id that resolves to two elements, so these are the ones read later).
    body = envelope.find(f"{{{SOAP11}}}Body")
    signed_body = signed.get(f"#{body.get(WSU_ID)}") if body is not None else None
    signed_ts = signed.get(f"#{timestamp.get(WSU_ID)}")
    if body is None or body.get(WSU_ID) is None or signed_body is None:
        raise UntrustedMessage("soap:Body is not among the signed references")
    if timestamp.get(WSU_ID) is None or signed_ts is None:
        raise UntrustedMessage("the Timestamp is not among the signed references")

    # Step 6: the signed Timestamp is fresh: Created <= now + skew, Expires > now - skew.
    created = _time(signed_ts, "Created")
    expires = _time(signed_ts, "Expires")
    if created > now + skew:
        raise UntrustedMessage(f"the Timestamp was created in the future ({created:%H:%M:%S}Z)")
    if expires <= now - skew:
        raise UntrustedMessage(f"the Timestamp expired at {expires:%Y-%m-%d %H:%M:%S}Z")

    # Step 7: an answer confirms the request's signature (WSS 1.1 §8.5), in a signed element.
    if confirms is not None:
        _check_confirmation(security, signed, confirms)
    return VerifiedEnvelope(signed_body, created, expires, pinned)


def _verified_by_signxml(
    envelope: etree._Element, pinned: x509.Certificate, now: dt.datetime
) -> dict[str, etree._Element]:
    """URI → signed element, as signxml verifies the envelope's signature (a fresh verifier per
    call: signxml keeps per-call state on it), or `UntrustedMessage` in signxml's words."""
    config = SignatureConfiguration(
        require_x509=True,
        location=f"./{{{SOAP11}}}Header/{{{WSSE}}}Security/",
        expect_references=True,
        signature_methods=frozenset({SignatureMethod.RSA_SHA256}),
        digest_algorithms=frozenset({DigestAlgorithm.SHA256}),
        verification_time=now,
    )
    try:
        results = _signxml().verify(
            envelope, x509_cert=pinned, id_attribute="Id", expect_config=config
        )
    # UnsupportedAlgorithm: signxml loads a KeyValue/DEREncodedKeyValue of the message, if any,
    # to compare it with the pinned key; an unknown key type is "does not verify", not a 500.
    except (SignXMLException, UnsupportedAlgorithm, ValueError, TypeError, etree.LxmlError) as exc:
        raise UntrustedMessage(f"the signature does not verify: {exc}") from exc
    signed_info = results[0].signature_xml.find(f"{{{DS}}}SignedInfo")
    _check_c14n(signed_info)
    return {
        ref.get("URI", ""): result.signed_xml
        for ref, result in zip(signed_info.findall(f"{{{DS}}}Reference"), results, strict=True)
    }


def _check_confirmation(
    security: etree._Element, signed: dict[str, etree._Element], confirms: str
) -> None:
    confirmations = security.findall(f"{{{WSSE11}}}SignatureConfirmation")
    if len(confirmations) != 1:
        raise UntrustedMessage(
            f"expected one SignatureConfirmation of our request, found {len(confirmations)}"
        )
    ident = confirmations[0].get(WSU_ID)
    signed_confirmation = signed.get(f"#{ident}") if ident else None
    if (
        signed_confirmation is None
        or signed_confirmation.tag != f"{{{WSSE11}}}SignatureConfirmation"
    ):
        raise UntrustedMessage("the SignatureConfirmation is not among the signed references")
    value = "".join((signed_confirmation.get("Value") or "").split())
    if not secrets.compare_digest(value, "".join(confirms.split())):
        raise UntrustedMessage("the answer confirms another request's signature (replayed?)")


def _check_c14n(signed_info: etree._Element | None) -> None:
    if signed_info is None:
        raise UntrustedMessage("the signature has no SignedInfo")
    method = signed_info.find(f"{{{DS}}}CanonicalizationMethod")
    if method is None or method.get("Algorithm") != EXC_C14N.value:
        raise UntrustedMessage("SignedInfo must use exclusive canonicalization")
    for ref in signed_info.findall(f"{{{DS}}}Reference"):
        transforms = [
            t.get("Algorithm") for t in ref.findall(f"{{{DS}}}Transforms/{{{DS}}}Transform")
        ]
        if transforms != [EXC_C14N.value]:
            raise UntrustedMessage(f"reference {ref.get('URI')} must use exactly exclusive c14n")


def _time(timestamp: etree._Element, name: str) -> dt.datetime:
    text = (timestamp.findtext(f"{{{WSU}}}{name}") or "").strip()
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise UntrustedMessage(f"the Timestamp has no valid {name}") from exc
    if moment.tzinfo is None:
        raise UntrustedMessage(f"the Timestamp {name} has no time zone")
    return moment


class WsSecurity:
    """The profile as a zeep `wsse=` object: `apply` signs each request with our key, `verify`
    checks each answer against the peer's pinned certificate and returns the `VerifiedEnvelope`."""

    def __init__(
        self,
        key: rsa.RSAPrivateKey,
        cert: x509.Certificate,
        peer: x509.Certificate,
        *,
        clock: Callable[[], dt.datetime],
        skew: dt.timedelta = dt.timedelta(minutes=2),
        ttl: dt.timedelta = dt.timedelta(minutes=5),
    ) -> None:
        self.key, self.cert, self.peer = key, cert, peer
        self._clock, self.skew, self.ttl = clock, skew, ttl

    def apply(self, envelope: etree._Element, headers: dict[str, str]) -> tuple[Any, Any]:
        return sign_envelope(
            envelope, self.key, self.cert, now=self._clock(), ttl=self.ttl
        ), headers

    def verify(self, envelope: etree._Element, *, confirms: str | None = None) -> VerifiedEnvelope:
        return verify_envelope(
            envelope, self.peer, now=self._clock(), skew=self.skew, confirms=confirms
        )
