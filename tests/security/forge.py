"""A deliberately unrestricted XML-DSig signer for attack tests.

It signs with any algorithm URI (SHA-1, MD5, HMAC ...), any Reference URI, and puts any certificates
in KeyInfo, so a test can build a signature that is *cryptographically valid* under a forbidden
algorithm or shape: a refusal then proves the gateway's policy, not a broken signature.
`naive_verify` is the verifier the policy protects against (signxml defaults, then reading the
tree as received): tests use it to show each attack document really is an attack.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
from collections.abc import Callable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from lxml import etree
from signxml.verifier import SignatureConfiguration, XMLVerifier

DS = "http://www.w3.org/2000/09/xmldsig#"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"

RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
RSA_SHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
RSA_MD5 = "http://www.w3.org/2001/04/xmldsig-more#rsa-md5"
HMAC_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256"
HMAC_SHA1 = "http://www.w3.org/2000/09/xmldsig#hmac-sha1"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
SHA1 = "http://www.w3.org/2000/09/xmldsig#sha1"
MD5 = "http://www.w3.org/2001/04/xmldsig-more#md5"

_DIGESTS = {SHA256: hashlib.sha256, SHA1: hashlib.sha1, MD5: hashlib.md5}
_RSA_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    RSA_SHA256: hashes.SHA256,
    RSA_SHA1: hashes.SHA1,
    RSA_MD5: hashes.MD5,
}
_HMAC_HASHES = {HMAC_SHA256: hashlib.sha256, HMAC_SHA1: hashlib.sha1}


def _ds(parent: etree._Element, tag: str, **attrs: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{DS}}}{tag}", attrs)


def _c14n(node: etree._Element) -> bytes:
    return bytes(etree.tostring(node, method="c14n", exclusive=True, with_comments=False))


def forge(
    root: etree._Element,
    key: rsa.RSAPrivateKey | bytes,
    certs: list[x509.Certificate],
    *,
    method: str = RSA_SHA256,
    digest: str = SHA256,
    reference: str = "",
) -> etree._Element:
    """A copy of `root` with a ds:Signature appended as its last child. `key` is an RSA key, or
    bytes for HMAC methods. `reference` "" signs the whole document (enveloped), "#x" the element
    with Id="x"."""
    root = copy.deepcopy(root)
    if reference:
        (target,) = root.xpath("//*[@Id=$id]", id=reference[1:])
    else:
        target = root
    digest_value = base64.b64encode(_DIGESTS[digest](_c14n(target)).digest()).decode()

    signature = etree.SubElement(root, f"{{{DS}}}Signature", nsmap={"ds": DS})
    info = _ds(signature, "SignedInfo")
    _ds(info, "CanonicalizationMethod", Algorithm=EXC_C14N)
    _ds(info, "SignatureMethod", Algorithm=method)
    ref = _ds(info, "Reference", URI=reference)
    transforms = _ds(ref, "Transforms")
    _ds(transforms, "Transform", Algorithm=ENVELOPED)
    _ds(transforms, "Transform", Algorithm=EXC_C14N)
    _ds(ref, "DigestMethod", Algorithm=digest)
    _ds(ref, "DigestValue").text = digest_value
    value = _ds(signature, "SignatureValue")
    data = _x509(_ds(_ds(signature, "KeyInfo"), "X509Data"), certs)
    del data

    signed_info = _c14n(info)
    if method in _HMAC_HASHES:
        assert isinstance(key, bytes)
        raw = hmac.new(key, signed_info, _HMAC_HASHES[method]).digest()
    else:
        assert isinstance(key, rsa.RSAPrivateKey)
        raw = key.sign(signed_info, padding.PKCS1v15(), _RSA_HASHES[method]())
    value.text = base64.b64encode(raw).decode()
    return root


def _x509(parent: etree._Element, certs: list[x509.Certificate]) -> etree._Element:
    for cert in certs:
        der = cert.public_bytes(serialization.Encoding.DER)
        _ds(parent, "X509Certificate").text = base64.b64encode(der).decode()
    return parent


def naive_verify(root: etree._Element, cert: x509.Certificate) -> etree._Element:
    """What a careless integration does: signxml with its defaults (any one reference, anywhere),
    then it goes on reading the tree it was given. Returns that tree if the signature 'verifies'."""
    config = SignatureConfiguration(location=".//", expect_references=1)
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()  # signxml takes PEM text
    XMLVerifier().verify(
        copy.deepcopy(root), x509_cert=pem, expect_config=config, id_attribute="Id"
    )
    return root


def load_key(path: object) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(Path(str(path)).read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key
