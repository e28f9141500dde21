"""The gateway's own enveloped signer writes the bytes signxml writes, and signxml verifies them.

RSA PKCS#1 v1.5 is deterministic, so the same document signed both ways must give the same bytes;
ECDSA is not, so its signatures are checked by verifying them. A document signxml would sign
differently (an Id it would reference, a placeholder, content beside the root) goes to signxml."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml.algorithms import SignatureMethod
from signxml.verifier import SignatureConfiguration, XMLVerifier

from gateway.intake.receipt import render_receipt
from gateway.trust import enveloped
from gateway.trust.xmlparse import parse_xml
from gateway.trust.xmlsig import SigningIdentity, _signxml_enveloped, sign_enveloped
from tests.conftest import SAMPLES

DS = "{http://www.w3.org/2000/09/xmldsig#}"


def _identity(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> SigningIdentity:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Enveloped Test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    return SigningIdentity(key_pem, (pem, pem.replace(b"\n", b"\r\n")))  # CRLF PEMs too


@pytest.fixture(scope="module")
def rsa_identity() -> SigningIdentity:
    return _identity(rsa.generate_private_key(public_exponent=65537, key_size=2048))


@pytest.fixture(scope="module")
def ec_identity() -> SigningIdentity:
    return _identity(ec.generate_private_key(ec.SECP256R1()))


def _receipt() -> etree._Element:
    from gateway.domain.views import ApplicationStatus

    status = ApplicationStatus(
        id="NSW-20261207-ABCDEF0123",
        declarant_bin="210540012341",
        trader_reference="Réf «42» & <more>",
        procedure="import",
        status="in_progress",
        verdict=None,
        received_at="2026-12-07T18:00:00.123456Z",
        decided_at=None,
        application_sha256="ab" * 32,
        signer="CN=x",
        routing={},
        request_id=None,
        cases=(),
    )
    return render_receipt(status)


DOCUMENTS = {
    "receipt": _receipt,
    "sample application": lambda: parse_xml(etree.tostring(_sample())),
    "comments, PIs, prefixes, attributes": lambda: parse_xml(
        b'<p:doc xmlns:p="urn:p" xmlns:q="urn:q" b="2" a="1 &amp; &lt;">'
        b'<!-- a comment --><?pi data?><q:x q:attr="\t"> text\r\n with  space </q:x>'
        b"<y>\xc3\xa9\xe4\xb8\xad</y><z/></p:doc>"
    ),
    "a default namespace on an inner element": lambda: parse_xml(
        b'<doc><inner xmlns="urn:inner"><leaf>1</leaf></inner></doc>'
    ),
}


@pytest.mark.parametrize("make", DOCUMENTS.values(), ids=DOCUMENTS.keys())
def test_rsa_signature_is_byte_for_byte_signxmls(
    make: object, rsa_identity: SigningIdentity
) -> None:
    assert callable(make)
    document = make()
    assert enveloped.writes_as_signxml(document)
    before = etree.tostring(document)
    ours = sign_enveloped(document, rsa_identity)
    theirs = _signxml_enveloped(document, rsa_identity, SignatureMethod.RSA_SHA256)
    assert ours == theirs
    assert etree.tostring(document) == before  # the caller's document is left as it was


@pytest.mark.parametrize("make", DOCUMENTS.values(), ids=DOCUMENTS.keys())
def test_ecdsa_signature_verifies_with_signxml(make: object, ec_identity: SigningIdentity) -> None:
    assert callable(make)
    signed = sign_enveloped(make(), ec_identity)
    result: Any = XMLVerifier().verify(
        signed,
        x509_cert=ec_identity.certificate,
        expect_config=SignatureConfiguration(expect_references=1, location="./"),
    )
    assert result.signed_xml is not None
    ours = etree.fromstring(signed).find(f"{DS}Signature")
    theirs = etree.fromstring(
        _signxml_enveloped(make(), ec_identity, SignatureMethod.ECDSA_SHA256)
    ).find(f"{DS}Signature")
    # Everything but the (randomised) signature value is what signxml writes.
    for signature in (ours, theirs):
        signature.find(f"{DS}SignatureValue").text = ""
    assert etree.tostring(ours) == etree.tostring(theirs)


def _sample() -> etree._Element:
    return parse_xml((SAMPLES / "fresh-apples-import.xml").read_bytes())


def _sibling() -> etree._Element:
    root = parse_xml(b"<doc><a/></doc>")
    root.addnext(etree.Comment("after the root"))
    return root


def _tail() -> etree._Element:
    root = etree.Element("doc")
    root.tail = "tail"
    return root


def _child() -> etree._Element:
    return parse_xml(b"<outer><doc><a/></doc></outer>")[0]


OTHERS = {
    "a comment before the root (the samples have one)": _sample,
    "an Id signxml references": lambda: parse_xml(b'<doc Id="app"><a/></doc>'),
    "an ID signxml references": lambda: parse_xml(b'<doc ID="app"><a/></doc>'),
    "a signature placeholder": lambda: parse_xml(
        b'<doc><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Id="placeholder"/>'
        b"<a/></doc>"
    ),
    "a comment beside the root": _sibling,
    "a tail": _tail,
    "an element inside another": _child,
}


@pytest.mark.parametrize("make", OTHERS.values(), ids=OTHERS.keys())
def test_what_signxml_would_sign_otherwise_is_left_to_signxml(make: object) -> None:
    assert callable(make)
    assert not enveloped.writes_as_signxml(make())


def test_a_document_with_an_id_is_still_signed_by_signxml(rsa_identity: SigningIdentity) -> None:
    signed = etree.fromstring(sign_enveloped(parse_xml(b'<doc Id="app"><a/></doc>'), rsa_identity))
    assert signed.find(f"{DS}Signature/{DS}SignedInfo/{DS}Reference").get("URI") == "#app"
