"""Certificates broken in one field, as a changed byte (or base64 character) in transit makes them:
each still loads with `cryptography` (the outer DER is intact) and fails only when that field is
read — the lazy failures behind issue 15, item 1."""

from __future__ import annotations

import base64

from lxml import etree

DS = "http://www.w3.org/2000/09/xmldsig#"
_VERSION_3 = b"\xa0\x03\x02\x01\x02"  # [0] EXPLICIT INTEGER 2 (v3), first field of the TBS
_SIGNATURE_ALGORITHMS = (
    b"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0b",  # sha256WithRSAEncryption
    b"\x06\x08\x2a\x86\x48\xce\x3d\x04\x03\x02",  # ecdsa-with-SHA256
)
_KEY_ALGORITHMS = (
    b"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01",  # rsaEncryption
    b"\x06\x07\x2a\x86\x48\xce\x3d\x02\x01",  # id-ecPublicKey
)
_KEY_USAGE = b"\x06\x03\x55\x1d\x0f"

BREAKAGES = ("version", "signature-algorithm", "key-algorithm", "extension")


def _last_byte_of(der: bytes, candidates: tuple[bytes, ...], *, last: bool, value: int) -> bytes:
    for pattern in candidates:
        at = der.rfind(pattern) if last else der.find(pattern)
        if at >= 0:
            end = at + len(pattern) - 1
            return der[:end] + bytes([value]) + der[end + 1 :]
    raise AssertionError("pattern not in the certificate")


def broken(der: bytes, how: str) -> bytes:
    """`der` with one field made unreadable (`how` is one of BREAKAGES); same length."""
    if how == "version":  # X.509 has v1..v3 (0..2): InvalidVersion when `version` is read
        return _last_byte_of(der, (_VERSION_3,), last=False, value=7)
    if how == "signature-algorithm":  # the outer one: UnsupportedAlgorithm from the hash
        return _last_byte_of(der, _SIGNATURE_ALGORITHMS, last=True, value=0x7F)
    if how == "key-algorithm":  # an unknown key type: UnsupportedAlgorithm from public_key()
        return _last_byte_of(der, _KEY_ALGORITHMS, last=False, value=0x7E)
    if how == "extension":  # KeyUsage's BIT STRING tagged as an OCTET STRING: ValueError
        at = der.find(_KEY_USAGE)
        assert at >= 0
        inner = der.find(b"\x03", at + len(_KEY_USAGE) + 2)
        return der[:inner] + b"\x04" + der[inner + 1 :]
    raise ValueError(how)


def with_broken_leaf(signed: bytes, how: str) -> bytes:
    """A signed document whose first KeyInfo certificate (the signer's) is broken as `how`."""
    root = etree.fromstring(signed)
    node = root.find(f"{{{DS}}}Signature/{{{DS}}}KeyInfo/{{{DS}}}X509Data/{{{DS}}}X509Certificate")
    assert node is not None
    der = base64.b64decode("".join((node.text or "").split()))
    node.text = base64.b64encode(broken(der, how)).decode()
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
