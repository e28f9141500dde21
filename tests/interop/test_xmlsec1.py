"""Interoperability with a second, independent XML-DSig implementation: xmlsec1 (issue 4, item 8).

Traders sign with xmlsec1 and the gateway accepts; the gateway's receipts and decisions verify with
`xmlsec1 --verify` against the dev CA. The cross-check passes `--enabled-key-data x509` so that a
document signed with a bare KeyValue cannot pass it (the control test shows it would otherwise).
Without xmlsec1 these tests skip on a developer's machine and fail in CI (CI=true).
"""

from __future__ import annotations

import base64
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree

from gateway.pki.dev import DevPki
from gateway.resources import shipped
from tests.gateway_fixtures import RunningGateway
from tests.responses import json_of
from tests.security.conftest import XML

DS = "http://www.w3.org/2000/09/xmldsig#"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"


@pytest.fixture
def client(app_factory: Callable[..., Flask]) -> FlaskClient:
    return app_factory().test_client()


def template(source: bytes, method: str, key_info: str = "X509Data") -> bytes:
    """`source` with an enveloped-signature template appended, as a trader's tooling makes it."""
    root = etree.fromstring(source)
    signature = etree.SubElement(root, f"{{{DS}}}Signature", nsmap={"ds": DS})
    info = etree.SubElement(signature, f"{{{DS}}}SignedInfo")
    etree.SubElement(
        info, f"{{{DS}}}CanonicalizationMethod", Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"
    )
    etree.SubElement(info, f"{{{DS}}}SignatureMethod", Algorithm=method)
    ref = etree.SubElement(info, f"{{{DS}}}Reference", URI="")
    transforms = etree.SubElement(ref, f"{{{DS}}}Transforms")
    for algorithm in (
        "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
        "http://www.w3.org/2001/10/xml-exc-c14n#",
    ):
        etree.SubElement(transforms, f"{{{DS}}}Transform", Algorithm=algorithm)
    etree.SubElement(
        ref, f"{{{DS}}}DigestMethod", Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"
    )
    etree.SubElement(ref, f"{{{DS}}}DigestValue")
    etree.SubElement(signature, f"{{{DS}}}SignatureValue")
    etree.SubElement(etree.SubElement(signature, f"{{{DS}}}KeyInfo"), f"{{{DS}}}{key_info}")
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def xmlsec1_sign(xmlsec1: str, tmp: Path, unsigned: bytes, method: str, keys: str, key_info: str = "X509Data") -> bytes:  # fmt: skip
    (tmp / "template.xml").write_bytes(template(unsigned, method, key_info))
    subprocess.run(
        [xmlsec1, "--sign", "--privkey-pem", keys, "--output", str(tmp / "signed.xml"), str(tmp / "template.xml")],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return (tmp / "signed.xml").read_bytes()


def xmlsec1_verify(xmlsec1: str, tmp: Path, document: bytes, ca: Path, *, x509_only: bool = True) -> subprocess.CompletedProcess[bytes]:  # fmt: skip
    path = tmp / "to-verify.xml"
    path.write_bytes(document)
    options = ["--enabled-key-data", "x509"] if x509_only else []
    return subprocess.run(
        [xmlsec1, "--verify", "--trusted-pem", str(ca), *options, str(path)],
        capture_output=True, timeout=60,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("sample", "slug", "method"),
    [
        ("fresh-apples-import", "trader-steppe", RSA_SHA256),
        ("live-cattle-import", "trader-altyn", ECDSA_SHA256),
    ],
    ids=["rsa", "ecdsa"],
)
def test_application_signed_with_xmlsec1_is_accepted(
    xmlsec1: str,
    tmp_path: Path,
    pki: DevPki,
    client: FlaskClient,
    sample: str,
    slug: str,
    method: str,
) -> None:
    keys = f"{pki.key_path(slug)},{pki.cert_path(slug)},{pki.directory / 'issuing-ca.pem'}"
    unsigned = (shipped("samples") / f"{sample}.xml").read_bytes()
    signed = xmlsec1_sign(xmlsec1, tmp_path, unsigned, method, keys)
    response = client.post("/api/v1/applications", data=signed, headers=XML)
    assert response.status_code == 202, response.json
    # ... and xmlsec1 itself agrees the trader's document verifies against the dev CA.
    assert xmlsec1_verify(xmlsec1, tmp_path, signed, pki.directory / "root-ca.pem").returncode == 0


def test_receipt_verifies_with_xmlsec1(
    xmlsec1: str,
    tmp_path: Path,
    pki: DevPki,
    client: FlaskClient,
    signed_sample: Callable[..., bytes],
) -> None:
    answer = client.post(
        "/api/v1/applications", data=signed_sample("fresh-apples-import"), headers=XML
    )
    receipt = base64.b64decode(json_of(answer)["receipt"])
    ca = pki.directory / "root-ca.pem"
    result = xmlsec1_verify(xmlsec1, tmp_path, receipt, ca)
    assert result.returncode == 0, result.stderr.decode()
    altered = receipt.replace(b"<ReceivedAt>20", b"<ReceivedAt>19", 1)
    assert xmlsec1_verify(xmlsec1, tmp_path, altered, ca).returncode != 0


@pytest.mark.slow
def test_decision_verifies_with_xmlsec1(
    xmlsec1: str,
    tmp_path: Path,
    pki: DevPki,
    gateway: Callable[..., RunningGateway],
    signed_sample: Callable[..., bytes],
) -> None:
    gw = gateway()
    accepted = gw.client.submit(signed_sample("overweight-machinery-transit"))
    decision = gw.client.wait_for_decision(accepted["id"], deadline_s=60)
    result = xmlsec1_verify(xmlsec1, tmp_path, decision, pki.directory / "root-ca.pem")
    assert result.returncode == 0, result.stderr.decode()


def test_cross_check_can_fail_on_a_bare_key_value(
    xmlsec1: str, tmp_path: Path, pki: DevPki
) -> None:
    """The control: a document signed by any key with a bare KeyValue passes `--trusted-pem` alone
    (the trap), and fails once only X509 key data is enabled, as every check above runs."""
    rogue = f"{pki.key_path('trader-steppe')}"  # any key; KeyValue carries its public half
    unsigned = b'<Receipt xmlns="urn:kz:nsw:receipt:1"><ApplicationId>X</ApplicationId></Receipt>'
    signed = xmlsec1_sign(xmlsec1, tmp_path, unsigned, RSA_SHA256, rogue, key_info="KeyValue")
    ca = pki.directory / "root-ca.pem"
    assert xmlsec1_verify(xmlsec1, tmp_path, signed, ca, x509_only=False).returncode == 0
    assert xmlsec1_verify(xmlsec1, tmp_path, signed, ca).returncode != 0
