"""`Verifier` is signxml's XMLVerifier less two costs that check nothing: each check it skipped
the cost of is still made (these tests fail without it), and the two methods it overrides are
still signxml's (a new signxml that renames them fails here, not in production)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml.exceptions import InvalidCertificate, InvalidDigest
from signxml.verifier import SignatureConfiguration, XMLVerifier

from gateway.trust.signxml_verifier import Verifier
from gateway.trust.xmlparse import parse_xml
from gateway.trust.xmlsig import SigningIdentity, sign_enveloped

NOT_BEFORE = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
NOT_AFTER = dt.datetime(2026, 12, 31, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def signed() -> tuple[bytes, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Verifier Test")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(NOT_AFTER)
        .sign(key, hashes.SHA256())
    )
    identity = SigningIdentity(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        (cert.public_bytes(serialization.Encoding.PEM),),
    )
    document = parse_xml(b'<doc xmlns="urn:doc"><mass unit="kg">19800</mass></doc>')
    return sign_enveloped(document, identity), cert


def _verify(body: bytes, cert: x509.Certificate, at: dt.datetime) -> Any:
    config = SignatureConfiguration(expect_references=1, location="./", verification_time=at)
    return Verifier().verify(parse_xml(body), x509_cert=cert, expect_config=config)


def test_the_overridden_methods_are_still_signxmls() -> None:
    assert callable(XMLVerifier.get_root) and callable(XMLVerifier._check_cert_validity)
    assert callable(XMLVerifier._get_cert_verification_time)


def test_a_signature_within_the_certificate_dates_verifies(
    signed: tuple[bytes, x509.Certificate],
) -> None:
    body, cert = signed
    for at in (NOT_BEFORE, dt.datetime(2026, 6, 1, tzinfo=dt.UTC), NOT_AFTER):
        assert _verify(body, cert, at).signed_xml.findtext("{urn:doc}mass") == "19800"


@pytest.mark.parametrize(
    ("at", "words"),
    [
        (NOT_BEFORE - dt.timedelta(seconds=1), "not yet valid"),
        (NOT_AFTER + dt.timedelta(seconds=1), "expired"),
    ],
)
def test_outside_the_certificate_dates_signxml_refuses_and_says_why(
    signed: tuple[bytes, x509.Certificate], at: dt.datetime, words: str
) -> None:
    body, cert = signed
    with pytest.raises(InvalidCertificate, match=f"subject=CN=Verifier Test.*{words}"):
        _verify(body, cert, at)


def test_the_document_given_is_not_changed_and_a_changed_one_is_refused(
    signed: tuple[bytes, x509.Certificate],
) -> None:
    body, cert = signed
    root = parse_xml(body)
    before = etree.tostring(root)
    config = SignatureConfiguration(
        expect_references=1, location="./", verification_time=dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    )
    Verifier().verify(root, x509_cert=cert, expect_config=config)
    assert etree.tostring(root) == before  # signature still there, nothing moved
    root.find("{urn:doc}mass").text = "9800"
    with pytest.raises(InvalidDigest):
        Verifier().verify(root, x509_cert=cert, expect_config=config)


def test_an_element_inside_a_tree_is_still_copied_by_signxml(
    signed: tuple[bytes, x509.Certificate],
) -> None:
    body, cert = signed
    outer = etree.Element("outer")
    outer.append(parse_xml(body))
    config = SignatureConfiguration(
        expect_references=1, location="./", verification_time=dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    )
    result: Any = Verifier().verify(outer[0], x509_cert=cert, expect_config=config)
    assert result.signed_xml.findtext("{urn:doc}mass") == "19800"
