"""The pure-crypto floor: what the protocol's signatures cost when only the cryptography is counted
— the RSA/ECDSA operation, the SHA-256 digests and the exclusive c14n of what is digested and
signed — with none of the parsing, policy, structured-field or library work around it. Not a test.

`bench/_floor.py` times the protocol's calls as the gateway makes them (`wire.httpsig.sign` with its
structured-field parsing, signxml with its re-parse, the trust path); this module redoes, for each
of those calls, only its cryptography, over the same bytes and keys:

    XML-DSig (intake, receipt, decision, WS-Security request and answer), per ds:Signature:
        every Reference: exclusive c14n of its target and SHA-256 of that
        exclusive c14n of SignedInfo, then the RSA/ECDSA sign or verify (a real verify of the
        SignatureValue, so a floor that does not verify is a bench bug, refused)
    RFC 9421 sign or verify: SHA-256 of the body (Content-Digest), then RSA over the signature
        base the library wrote (rebuilt from the message's own Signature-Input on the sender's side
        would be more library work: a 512-byte base stands in; RSA hashes it in one go)

Certificate path and CRL checks are left out: their result is a function of the certificate and
the CRLs in force, remembered by the trust store, so no message needs them.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_private_key,
)
from lxml import etree

from gateway.pki.dev import DevPki

DS = "http://www.w3.org/2000/09/xmldsig#"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
BASE = b"x" * 512  # an RFC 9421 signature base: 250-600 bytes in this profile

Signer = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
Verifier = rsa.RSAPublicKey | ec.EllipticCurvePublicKey


def _c14n(element: etree._Element) -> bytes:
    return bytes(etree.tostring(element, method="c14n", exclusive=True, with_comments=False))


def _target(root: etree._Element, signature: etree._Element, uri: str) -> etree._Element:
    """The element a Reference covers: the whole document less the signature for URI="" (the
    enveloped-signature transform), else the element whose wsu:Id or Id is the fragment."""
    if uri == "":
        whole = copy.deepcopy(root)
        for node in whole.iter(f"{{{DS}}}Signature"):
            node.getparent().remove(node)
            break
        return whole
    wanted = uri.removeprefix("#")
    for node in root.iter():
        if node.get(f"{{{WSU}}}Id") == wanted or node.get("Id") == wanted:
            return node
    raise LookupError(f"no element with Id {wanted}")


def _operate(data: bytes, signature: bytes, *, key: Signer | None, public: Verifier | None) -> None:
    if key is not None:
        if isinstance(key, rsa.RSAPrivateKey):
            key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        else:
            key.sign(data, ec.ECDSA(hashes.SHA256()))
    elif isinstance(public, rsa.RSAPublicKey):
        public.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    elif isinstance(public, ec.EllipticCurvePublicKey):
        # XML-DSig writes ECDSA as r||s (RFC 4050); cryptography wants DER.
        half = len(signature) // 2
        der = encode_dss_signature(
            int.from_bytes(signature[:half], "big"), int.from_bytes(signature[half:], "big")
        )
        public.verify(der, data, ec.ECDSA(hashes.SHA256()))
    else:
        raise TypeError("a signer key or a public key is needed")


def xmldsig(
    root: etree._Element, *, key: Signer | None = None, public: Verifier | None = None
) -> float:
    """Thread CPU seconds of the cryptography in `root`'s signatures: made with `key`, or
    verified with `public`. Locating the targets (and the enveloped copy) is not counted."""
    spent = 0.0
    for signature in root.iter(f"{{{DS}}}Signature"):
        signed_info = signature.find(f"{{{DS}}}SignedInfo")
        value = signature.findtext(f"{{{DS}}}SignatureValue") or ""
        assert signed_info is not None
        targets = [
            _target(root, signature, ref.get("URI", ""))
            for ref in signed_info.iterfind(f"{{{DS}}}Reference")
        ]
        raw = base64.b64decode("".join(value.split()))
        t0 = time.thread_time()
        for target in targets:
            hashlib.sha256(_c14n(target)).digest()
        _operate(_c14n(signed_info), raw, key=key, public=public)
        spent += time.thread_time() - t0
    return spent


def httpsig(body: bytes, *, key: Signer | None = None, public: Verifier | None = None) -> float:
    """Thread CPU seconds of one RFC 9421 sign (with `key`) or verify (with `public`)."""
    signature = b""
    if public is not None:  # a signature of the same key size to verify, made untimed
        signature = _signature_for(public)
    t0 = time.thread_time()
    hashlib.sha256(body).digest()
    _operate(BASE, signature, key=key, public=public)
    return time.thread_time() - t0


_made: dict[bytes, bytes] = {}
signers_by_public: dict[bytes, Signer] = {}  # public key DER -> its private key (`know_keys`)


def know_keys(pki: DevPki) -> None:
    """The dev PKI's private keys: `httpsig(public=...)` verifies a signature made with the key
    of the same public key (the agencies' answers are signed with theirs)."""
    for slug in pki.slugs():
        key = load_pem_private_key(pki.key_path(slug).read_bytes(), password=None)
        if isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            der = key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
            signers_by_public[der] = key


def _signature_for(public: Verifier) -> bytes:
    der = public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    if der not in _made:
        signer = signers_by_public[der]
        if isinstance(signer, rsa.RSAPrivateKey):
            _made[der] = signer.sign(BASE, padding.PKCS1v15(), hashes.SHA256())
        else:
            _made[der] = signer.sign(BASE, ec.ECDSA(hashes.SHA256()))
    return _made[der]


def public_of(cert: x509.Certificate) -> Verifier:
    key = cert.public_key()
    assert isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey)
    return key
