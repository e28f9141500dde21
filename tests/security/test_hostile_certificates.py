"""Issue 15, item 1: a certificate from outside that is broken in one field — the X.509 version,
the signature algorithm, the key algorithm, an extension — is refused with the certificate problem
document (422 `unreadable-certificate`), wherever it comes in: an application's or an arrival
notice's KeyInfo, or the OMC's client-certificate header. Never a 500, and nothing is recorded."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from flask.testing import FlaskClient

from gateway.errors import UnreadableCertificate
from gateway.pki.dev import DevPki
from gateway.trust.certificates import TrustStore
from gateway.trust.xmlparse import parse_xml
from tests.checkpoint.conftest import notice_xml
from tests.conftest import trader_identity
from tests.responses import json_of
from tests.security.conftest import problem_code
from tests.security.hostile_certs import BREAKAGES, broken, with_broken_leaf
from wire import certificates

XML = {"Content-Type": "application/xml"}


@pytest.mark.parametrize("how", BREAKAGES)
def test_an_application_signed_with_a_broken_certificate_is_a_certificate_problem(
    client: FlaskClient, signed_sample: Callable[..., bytes], how: str
) -> None:
    body = with_broken_leaf(signed_sample("fresh-apples-import"), how)
    response = client.post("/api/v1/applications", data=body, headers=XML)
    assert response.status_code == 422, response.data[:300]
    assert problem_code(response) == "unreadable-certificate"
    assert "KeyInfo cannot be read" in json_of(response)["detail"]


@pytest.mark.parametrize("how", BREAKAGES)
def test_an_arrival_notice_signed_with_a_broken_certificate_is_a_certificate_problem(
    client: FlaskClient, pki: DevPki, how: str
) -> None:
    from gateway.trust.xmlsig import sign_enveloped

    unsigned = notice_xml("123ABC02", ["NSW-20260101-ABCDEF0123"], reference="PAN-HOSTILE",
                          version=1, declared_kg=36000, axles=5, transit=None,
                          carrier_bin="181240044780", arrival=dt.datetime.now(dt.UTC))  # fmt: skip
    signed = sign_enveloped(parse_xml(unsigned), trader_identity(pki, "trader-kaztrans"))
    response = client.post(
        "/api/v1/checkpoint/notices", data=with_broken_leaf(signed, how), headers=XML
    )
    assert response.status_code == 422, response.data[:300]
    assert problem_code(response) == "unreadable-certificate"


@pytest.mark.parametrize("how", BREAKAGES)
def test_the_one_reader_refuses_every_breakage(pki: DevPki, how: str) -> None:
    der = broken(pki.certificate("trader-steppe").public_bytes(Encoding.DER), how)
    with pytest.raises(certificates.UnreadableCertificate, match="certificate cannot be read"):
        certificates.certificate_from_der(der)


@pytest.mark.parametrize("how", ["signature-algorithm", "key-algorithm", "extension"])
def test_the_trust_store_refuses_a_certificate_loaded_elsewhere(
    pki: DevPki, trust: TrustStore, how: str
) -> None:
    """Step 0: whoever loaded the certificate, a lazy failure is the certificate problem."""
    der = broken(pki.certificate("trader-steppe").public_bytes(Encoding.DER), how)
    cert = x509.load_der_x509_certificate(der)  # loads: the broken field is parsed later
    with pytest.raises(UnreadableCertificate, match="cannot be read"):
        trust.verify(cert, [pki.certificate("issuing-ca")])


def test_a_broken_crl_is_no_crl(pki: DevPki) -> None:
    """A CRL whose entries cannot be read counts as missing (step 5 reports it), not a 500."""
    data = (pki.directory / "crl.pem").read_bytes()
    crl = certificates.crl_from_bytes(data)
    der = crl.public_bytes(Encoding.DER)
    # The revocation date of the first entry (UTCTime, tag 0x17) re-tagged as an INTEGER.
    at = der.find(b"\x17\x0d", der.find(crl[0].serial_number.to_bytes(20, "big").lstrip(b"\0")))
    assert at > 0
    with pytest.raises(certificates.UnreadableCertificate, match="revocation list"):
        certificates.crl_from_bytes(der[:at] + b"\x02" + der[at + 1 :])


@pytest.mark.parametrize("how", ["signature-algorithm", "key-algorithm"])
def test_an_evidence_bundle_with_a_broken_gateway_certificate_fails_its_check(
    pki: DevPki, how: str
) -> None:
    """`nsw audit verify` reads a bundle from outside: a broken certificate in its gateway_chain
    is a failed check, not a stack trace half-way through the chain."""
    from gateway.trail.verify import verify_bundle

    der = broken(pki.certificate("gateway").public_bytes(Encoding.DER), how)
    pem = "-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(der).decode()
    pem += "-----END CERTIFICATE-----\n"
    from gateway.trail.format import TREE_HEAD_ORIGIN

    head = {  # well-formed, so the strict reader lets the bundle reach its certificate check
        "origin": TREE_HEAD_ORIGIN,
        "size": 1,
        "root": "00" * 32,
        "issued_at": "2026-01-01T00:00:00Z",
        "signature": "",
    }
    checks = verify_bundle(
        {"gateway_chain": [pem], "application_id": "NSW-20260101-ABCDEF0123", "tree_head": head},
        [pki.certificate("root-ca")],
        pki.certificate("gateway"),
    )
    assert [(c.ok, c.what, c.check) for c in checks] == [
        (False, "gateway certificate", "can be read")
    ]


def test_a_public_key_in_keyinfo_that_cannot_be_read_is_refused_not_a_500(
    client: FlaskClient, signed_sample: Callable[..., bytes], pki: DevPki
) -> None:
    """A dsig11:DEREncodedKeyValue beside the certificate is a key from outside too: signxml
    loads it to compare with the certificate's, and an unknown key type escaped as
    UnsupportedAlgorithm."""
    from cryptography.hazmat.primitives.serialization import PublicFormat
    from lxml import etree

    spki = (
        pki.certificate("trader-steppe")
        .public_key()
        .public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    )
    rsa_oid = b"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01"
    unknown = spki.replace(rsa_oid, rsa_oid[:-1] + b"\x7e")
    root = etree.fromstring(signed_sample("fresh-apples-import"))
    key_info = root.find(
        "{http://www.w3.org/2000/09/xmldsig#}Signature/{http://www.w3.org/2000/09/xmldsig#}KeyInfo"
    )
    value = etree.SubElement(key_info, "{http://www.w3.org/2009/xmldsig11#}DEREncodedKeyValue")
    value.text = base64.b64encode(unknown).decode()
    body = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    response = client.post("/api/v1/applications", data=body, headers=XML)
    assert response.status_code == 422, response.data[:300]
    assert problem_code(response) == "unreadable-certificate"
