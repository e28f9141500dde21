"""The WS-Security profile against xmlsec1, a second XML-DSig implementation: what the gateway
signs (wire.wsse's own signer) verifies with xmlsec1 under the agency-side pinned key, and what
xmlsec1 signs in the profile's shape verifies in wire.dsig's one pass. xmlsec1 gets the key from
the command line only (the profile's KeyInfo is a SecurityTokenReference, which it cannot
resolve), and the control cases show each cross-check can fail."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import pytest
from lxml import etree

from gateway.pki.dev import DevPki
from wire import dsig
from wire.keys import load_certificate, load_rsa_key
from wire.wsse import DS, SOAP11, WSSE, WSU, sign_envelope, verify_envelope

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(hours=1)  # in cert validity
ID_ATTRIBUTES = ["--id-attr:Id", f"{SOAP11}:Body", "--id-attr:Id", f"{WSU}:Timestamp"]


def signed_by_us(pki: DevPki) -> bytes:
    d = pki.directory
    envelope = etree.fromstring(
        f'<s:Envelope xmlns:s="{SOAP11}"><s:Body><a:Case xmlns:a="urn:a">'
        "<a:Status>granted</a:Status></a:Case></s:Body></s:Envelope>".encode()
    )
    key, cert = load_rsa_key(d / "gateway.key"), load_certificate(d / "gateway.pem")
    return bytes(etree.tostring(sign_envelope(envelope, key, cert, now=NOW)))


def run_xmlsec1(xmlsec1: str, tmp: Path, action: list[str], document: bytes) -> subprocess.CompletedProcess[bytes]:  # fmt: skip
    path = tmp / "envelope.xml"
    path.write_bytes(document)
    return subprocess.run(
        [xmlsec1, *action, *ID_ATTRIBUTES, "--output", str(tmp / "out.xml"), str(path)],
        capture_output=True, timeout=60,
    )  # fmt: skip


def test_what_we_sign_verifies_with_xmlsec1(xmlsec1: str, tmp_path: Path, pki: DevPki) -> None:
    document = signed_by_us(pki)
    ours = ["--verify", "--pubkey-cert-pem", str(pki.directory / "gateway.pem")]
    result = run_xmlsec1(xmlsec1, tmp_path, ours, document)
    assert result.returncode == 0, result.stderr.decode()
    # Controls: a changed body, and another party's key, fail the same cross-check.
    changed = document.replace(b">granted<", b">refused<")
    assert run_xmlsec1(xmlsec1, tmp_path, ours, changed).returncode != 0
    theirs = ["--verify", "--pubkey-cert-pem", str(pki.directory / "agency-customs.pem")]
    assert run_xmlsec1(xmlsec1, tmp_path, theirs, document).returncode != 0


def test_what_xmlsec1_signs_in_the_profile_verifies_in_one_pass(
    xmlsec1: str, tmp_path: Path, pki: DevPki
) -> None:
    # The template: our own envelope with its digests and signature value emptied.
    template = etree.fromstring(signed_by_us(pki))
    for name in ("DigestValue", "SignatureValue"):
        for node in template.iter(f"{{{DS}}}{name}"):
            node.text = ""
    d = pki.directory
    sign = ["--sign", "--privkey-pem", f"{d / 'gateway.key'},{d / 'gateway.pem'}"]
    result = run_xmlsec1(xmlsec1, tmp_path, sign, etree.tostring(template))
    assert result.returncode == 0, result.stderr.decode()
    envelope = etree.fromstring((tmp_path / "out.xml").read_bytes())
    signature = envelope.find(f"{{{SOAP11}}}Header/{{{WSSE}}}Security/{{{DS}}}Signature")
    assert signature is not None
    pinned = load_certificate(d / "gateway.pem")
    assert dsig.verify(envelope, signature, pinned, NOW) is not None
    verified = verify_envelope(envelope, pinned, now=NOW, skew=dt.timedelta(minutes=2))
    assert verified.payload[0].findtext("{urn:a}Status") == "granted"
    # Control: with another key pinned, neither the one pass nor signxml believes it.
    other = load_certificate(d / "agency-customs.pem")
    assert dsig.verify(envelope, signature, other, NOW) is None
    with pytest.raises(ValueError, match="other than the pinned one"):
        verify_envelope(envelope, other, now=NOW, skew=dt.timedelta(minutes=2))
