"""The WS-Security profile (wire/wsse.py): each check refuses what it exists to refuse."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from lxml import etree

from wire.keys import load_certificate, load_rsa_key
from wire.wsse import (
    DS,
    SOAP11,
    WSSE,
    WSU,
    WSU_ID,
    UntrustedMessage,
    sign_envelope,
    verify_envelope,
)

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(hours=1)  # in cert validity
SKEW = dt.timedelta(minutes=2)


def envelope() -> etree._Element:
    return etree.fromstring(
        f'<s:Envelope xmlns:s="{SOAP11}"><s:Body><a:Answer xmlns:a="urn:a">'
        "<a:Status>granted</a:Status></a:Answer></s:Body></s:Envelope>".encode()
    )


@pytest.fixture
def keys(pki):  # type: ignore[no-untyped-def]
    d = pki.directory
    return (
        load_rsa_key(d / "agency-customs.key"),
        load_certificate(d / "agency-customs.pem"),
        load_certificate(d / "agency-health.pem"),
    )


def signed(keys, **kw) -> etree._Element:  # type: ignore[no-untyped-def]
    key, cert, _ = keys
    return etree.fromstring(etree.tostring(sign_envelope(envelope(), key, cert, now=NOW, **kw)))


def test_a_genuine_envelope_verifies_and_yields_the_signed_body(keys) -> None:  # type: ignore[no-untyped-def]
    verified = verify_envelope(signed(keys), keys[1], now=NOW, skew=SKEW)
    assert verified.payload[0].findtext("{urn:a}Status") == "granted"


def test_a_changed_body_is_refused(keys) -> None:  # type: ignore[no-untyped-def]
    root = signed(keys)
    root.find(".//{urn:a}Status").text = "refused"
    with pytest.raises(UntrustedMessage, match="Digest mismatch"):
        verify_envelope(root, keys[1], now=NOW, skew=SKEW)


def test_another_certificate_that_chains_is_not_the_pinned_one(keys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UntrustedMessage, match="other than the pinned one"):
        verify_envelope(signed(keys), keys[2], now=NOW, skew=SKEW)


@pytest.mark.parametrize(
    ("now", "message"),
    [
        (NOW + dt.timedelta(minutes=8), "expired"),
        (NOW - dt.timedelta(minutes=3), "in the future"),
    ],
)
def test_a_stale_or_future_timestamp_is_refused(keys, now, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UntrustedMessage, match=message):
        verify_envelope(signed(keys), keys[1], now=now, skew=SKEW)


def test_within_the_skew_is_accepted(keys) -> None:  # type: ignore[no-untyped-def]
    verify_envelope(signed(keys), keys[1], now=NOW - dt.timedelta(seconds=90), skew=SKEW)


@pytest.mark.parametrize("dropped", ["Body", "TS"])
def test_a_signature_that_does_not_cover_body_and_timestamp_is_refused(keys, dropped) -> None:  # type: ignore[no-untyped-def]
    # A valid signature by the pinned key, but over only one of the two parts: what a verifier
    # that checks only the cryptography (zeep's) would accept.
    from signxml.algorithms import SignatureConstructionMethod
    from signxml.signer import XMLSigner

    from wire.wsse import EXC_C14N

    key = keys[0]
    root = signed(keys)
    security = root.find(f"{{{SOAP11}}}Header/{{{WSSE}}}Security")
    old = security.find(f"{{{DS}}}Signature")
    key_info = old.find(f"{{{DS}}}KeyInfo")
    security.remove(old)
    kept = {
        "Body": root.find(f"{{{WSU}}}Timestamp") or security.find(f"{{{WSU}}}Timestamp"),
        "TS": root.find(f"{{{SOAP11}}}Body"),
    }[dropped]
    signature = XMLSigner(
        method=SignatureConstructionMethod.detached, c14n_algorithm=EXC_C14N
    ).sign(
        root, key=key, reference_uri=[f"#{kept.get(WSU_ID)}"], key_info=key_info, id_attribute="Id"
    )
    security.append(signature)
    root = etree.fromstring(etree.tostring(root))
    with pytest.raises(UntrustedMessage, match="not among the signed references"):
        verify_envelope(root, keys[1], now=NOW, skew=SKEW)


def test_a_second_element_with_the_body_id_is_refused(keys) -> None:  # type: ignore[no-untyped-def]
    # Signature wrapping: the signed Body moved into a header, a forged Body with the same Id.
    root = signed(keys)
    body = root.find(f"{{{SOAP11}}}Body")
    forged = etree.fromstring(etree.tostring(body))
    forged.find(".//{urn:a}Status").text = "refused"
    root.find(f"{{{SOAP11}}}Header").append(body)
    root.append(forged)
    with pytest.raises(UntrustedMessage):
        verify_envelope(etree.fromstring(etree.tostring(root)), keys[1], now=NOW, skew=SKEW)


def test_an_unsigned_envelope_is_refused(keys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UntrustedMessage, match="expected one wsse:Security header, found 0"):
        verify_envelope(envelope(), keys[1], now=NOW, skew=SKEW)


def test_a_key_of_unknown_type_beside_the_token_is_refused(keys) -> None:  # type: ignore[no-untyped-def]
    """Issue 15, item 1: signxml loads a dsig11:DEREncodedKeyValue in KeyInfo (unsigned) to compare
    it with the pinned key; an unknown key type raised UnsupportedAlgorithm, a 500 at the
    gateway's SOAP callback service, instead of "not believed"."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    spki = keys[1].public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    rsa_oid = b"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01"
    root = signed(keys)
    key_info = root.find(f".//{{{DS}}}Signature/{{{DS}}}KeyInfo")
    value = etree.SubElement(key_info, "{http://www.w3.org/2009/xmldsig11#}DEREncodedKeyValue")
    value.text = base64.b64encode(spki.replace(rsa_oid, rsa_oid[:-1] + b"\x7e")).decode()
    with pytest.raises(UntrustedMessage, match="does not verify"):
        verify_envelope(root, keys[1], now=NOW, skew=SKEW)
