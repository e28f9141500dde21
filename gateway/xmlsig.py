"""The one XML signer and the one XML-DSig verification policy.

Signing: enveloped XML-DSig over the whole document (Reference URI=""), exclusive C14N, SHA-256
digests, RSA-SHA256 or ECDSA-SHA256 by key type, the signer's certificate (and chain) in
KeyInfo/X509Data. Used by the gateway for decisions and by traders through `nsw sign`.

Verification (`verify_enveloped`) is an explicit policy: exactly one signature, a child of the root,
one reference covering the whole document, allowed algorithms only (no SHA-1, no HMAC, no MD5), the
certificate from KeyInfo trusted by the `TrustStore`, and the result is the element the signature
covers — callers use that element and nothing else (see what is signed).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from lxml import etree
from signxml.algorithms import DigestAlgorithm, SignatureMethod
from signxml.exceptions import InvalidInput, SignXMLException
from signxml.signer import XMLSigner
from signxml.verifier import SignatureConfiguration, XMLVerifier

from gateway.errors import BadSignature
from gateway.trust import TrustedSigner, TrustStore

DS_NS = "http://www.w3.org/2000/09/xmldsig#"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"

ALLOWED_SIGNATURE_METHODS = frozenset(
    {
        SignatureMethod.RSA_SHA256,
        SignatureMethod.RSA_SHA384,
        SignatureMethod.RSA_SHA512,
        SignatureMethod.ECDSA_SHA256,
        SignatureMethod.ECDSA_SHA384,
        SignatureMethod.ECDSA_SHA512,
    }
)
ALLOWED_DIGESTS = frozenset(
    {DigestAlgorithm.SHA256, DigestAlgorithm.SHA384, DigestAlgorithm.SHA512}
)


@dataclass(frozen=True)
class SigningIdentity:
    """A private key with its certificate chain (leaf first)."""

    key_pem: bytes
    chain_pem: tuple[bytes, ...]

    @classmethod
    def from_files(cls, key: Path, cert: Path, *chain: Path) -> SigningIdentity:
        return cls(key.read_bytes(), (cert.read_bytes(), *(c.read_bytes() for c in chain)))

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.chain_pem[0])


def sign_enveloped(document: etree._Element, identity: SigningIdentity) -> bytes:
    """Sign `document` in place of a copy and return the signed bytes (UTF-8, with declaration)."""
    key = serialization.load_pem_private_key(identity.key_pem, password=None)
    if isinstance(key, rsa.RSAPrivateKey):
        method = SignatureMethod.RSA_SHA256
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        method = SignatureMethod.ECDSA_SHA256
    else:
        raise ValueError("Only RSA and ECDSA keys can sign single-window documents.")
    signer = XMLSigner(
        signature_algorithm=method,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=EXC_C14N,
    )
    signed = signer.sign(
        document,
        key=identity.key_pem,
        cert=[pem.decode("ascii") for pem in identity.chain_pem],
    )
    return bytes(etree.tostring(signed, xml_declaration=True, encoding="UTF-8"))


@dataclass(frozen=True)
class VerifiedDocument:
    """The element the signature covers, and who signed it. Nothing else is to be trusted."""

    signed: etree._Element
    signer: TrustedSigner


def _certificates_in(signature: etree._Element) -> list[x509.Certificate]:
    certs = []
    for node in signature.iterfind(
        f"{{{DS_NS}}}KeyInfo/{{{DS_NS}}}X509Data/{{{DS_NS}}}X509Certificate"
    ):
        text = "".join((node.text or "").split())
        try:
            certs.append(x509.load_der_x509_certificate(_b64(text)))
        except ValueError as exc:
            raise BadSignature(
                "The certificate in the signature's KeyInfo cannot be read."
            ) from exc
    return certs


def _b64(text: str) -> bytes:
    import base64
    import binascii

    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise ValueError("not base64") from exc


def verify_enveloped(
    root: etree._Element, trust: TrustStore, *, now: dt.datetime
) -> VerifiedDocument:
    """Verify the single enveloped signature of `root` under the gateway's policy."""
    # Step 1: exactly one ds:Signature in the whole document, and it is a child of the root.
    signatures = root.findall(f".//{{{DS_NS}}}Signature")
    if not signatures:
        raise BadSignature("The document is not signed. Sign it with your certificate (nsw sign).")
    if len(signatures) > 1:
        raise BadSignature("The document carries more than one signature; exactly one is accepted.")
    signature = signatures[0]
    if signature.getparent() is not root:
        raise BadSignature("The signature must be the last child of the root element (enveloped).")

    # Step 2: the signer's certificate comes from KeyInfo and must be trusted by our own store.
    certs = _certificates_in(signature)
    if not certs:
        raise BadSignature(
            "The signature has no X509Certificate in KeyInfo; include your certificate."
        )
    signer = trust.verify(certs[0], certs[1:])

    # Step 3: the signature itself, with that certificate, under the algorithm policy.
    config = SignatureConfiguration(
        require_x509=True,
        location="./",
        expect_references=1,
        signature_methods=ALLOWED_SIGNATURE_METHODS,
        digest_algorithms=ALLOWED_DIGESTS,
        verification_time=now,
    )
    try:
        result: Any = XMLVerifier().verify(root, x509_cert=signer.certificate, expect_config=config)
    except (SignXMLException, InvalidInput, ValueError) as exc:
        raise BadSignature(f"The XML signature does not verify: {exc}") from exc

    # Step 4: the signature must cover the whole document, not some element inside it.
    signed = result.signed_xml
    if signed is None or signed.tag != root.tag or signed.getparent() is not None:
        raise BadSignature(
            'The signature does not cover the whole document (Reference URI must be "").'
        )
    return VerifiedDocument(signed=signed, signer=signer)
