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

import base64
import copy
import datetime as dt
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from lxml import etree
from signxml.algorithms import DigestAlgorithm, SignatureMethod
from signxml.exceptions import InvalidDigest, InvalidSignature, SignXMLException
from signxml.signer import XMLSigner
from signxml.verifier import SignatureConfiguration

from gateway.errors import BadSignature, UnreadableCertificate
from gateway.i18n import Text
from gateway.i18n.library import library_words
from gateway.trust import enveloped
from gateway.trust.certificates import TrustedSigner, TrustStore
from gateway.trust.signxml_verifier import Verifier
from wire import certificates

DS_NS = "http://www.w3.org/2000/09/xmldsig#"
DSIG11_NS = "http://www.w3.org/2009/xmldsig11#"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"

WRONG_KEY = Text(
    "The XML signature does not verify with the certificate in its KeyInfo: it was made with a "
    "key that is not that certificate's. Sign with the key of your certificate (`nsw sign` checks "
    "that they match)."
)
WRONG_KEY_OR_CHANGED = Text(
    "The XML signature does not verify with the certificate in its KeyInfo: it was made with a "
    "key that is not that certificate's. Sign with the key of your certificate (`nsw sign` checks "
    "that they match) (or SignedInfo was changed)."
)
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
_ALLOWED_URIS = frozenset(m.value for m in ALLOWED_SIGNATURE_METHODS)
_ECDSA_URIS = frozenset(u for u in _ALLOWED_URIS if "ecdsa" in u)


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

    @functools.cached_property
    def private_key(self) -> PrivateKeyTypes:
        """Parsed once: loading a PEM RSA key validates it (~40 ms), far more than a signature."""
        return serialization.load_pem_private_key(self.key_pem, password=None)

    @functools.cached_property
    def certificate_texts(self) -> tuple[str, ...]:
        """The chain as ds:X509Certificate texts, made once."""
        return enveloped.certificate_texts(self.chain_pem)


def sign_enveloped(document: etree._Element, identity: SigningIdentity) -> bytes:
    """Sign `document` in place of a copy and return the signed bytes (UTF-8, with declaration)."""
    key = identity.private_key
    if isinstance(key, rsa.RSAPrivateKey):
        method = SignatureMethod.RSA_SHA256
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        method = SignatureMethod.ECDSA_SHA256
    else:
        raise ValueError("Only RSA and ECDSA keys can sign single-window documents.")
    if enveloped.writes_as_signxml(document):  # the same bytes, without signxml's re-parses
        return enveloped.sign_root(document, key, identity.certificate_texts)
    return _signxml_enveloped(document, identity, method)


def _signxml_enveloped(
    document: etree._Element, identity: SigningIdentity, method: SignatureMethod
) -> bytes:
    """signxml's enveloped signature: for documents `enveloped.sign_root` does not sign, and the
    reference its bytes are compared with in tests."""
    signer = XMLSigner(
        signature_algorithm=method,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=EXC_C14N,
    )
    key = identity.private_key
    assert isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)
    signed = signer.sign(
        document,
        key=key,
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
        # The one reader reads every lazily parsed part now, so a malformed certificate is
        # refused here and not half-way through the trust checks or signxml (a 500).
        try:
            certs.append(_certificate(node.text or ""))
        except certificates.UnreadableCertificate as exc:
            raise UnreadableCertificate(
                Text(
                    "A certificate in the signature's KeyInfo cannot be read (%(why)s). Sign again "
                    "with your certificate as your signing tool writes it, unchanged.",
                    why=library_words(str(exc)),
                )
            ) from exc
    # A key beside the certificate (XML-DSig 1.1 §4.5.3): signxml loads it to compare with the
    # certificate's, so it is read here first, by the same reader.
    for node in signature.iterfind(f"{{{DS_NS}}}KeyInfo/{{{DSIG11_NS}}}DEREncodedKeyValue"):
        try:
            certificates.public_key_from_der(base64.b64decode(node.text or "", validate=True))
        except (ValueError, certificates.UnreadableCertificate) as exc:
            raise UnreadableCertificate(
                Text(
                    "The public key in the signature's KeyInfo cannot be read (%(why)s).",
                    why=library_words(str(exc)),
                )
            ) from exc
    return certs


@functools.lru_cache(maxsize=1024)
def _certificate(text: str) -> x509.Certificate:
    """The certificate in a ds:X509Certificate's text, read whole once per distinct text: a
    trader sends the same certificate (and its CA's) with every document, and reading one costs
    more than the signature's cryptography (issue 17). A certificate object is immutable; a
    refusal raises and is not remembered."""
    return certificates.certificate_from_base64(text)


def _leaf(certs: list[x509.Certificate]) -> x509.Certificate:
    """The one end-entity certificate in KeyInfo, whatever order the signing tool wrote them in
    (xmlsec1 and others may put the chain first). Several candidates are ambiguous: refused."""
    leaves = [c for c in certs if not _is_ca(c)]
    if len(leaves) != 1:
        raise BadSignature(
            Text(
                "The signature's KeyInfo must hold exactly one end-entity certificate (yours), "
                "optionally with its CA certificates; it holds %(n)s.",
                n=len(leaves),
            )
        )
    return leaves[0]


@functools.lru_cache(maxsize=1024)
def _is_ca(cert: x509.Certificate) -> bool:
    """Remembered per certificate (the same objects come back from `_certificate`'s cache):
    reading an extension walks them all in Python."""
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def verify_enveloped(
    root: etree._Element, trust: TrustStore, *, now: dt.datetime
) -> VerifiedDocument:
    """Verify the single enveloped signature of `root` under the gateway's policy."""
    # Step 1: exactly one ds:Signature in the whole document, and it is a child of the root.
    signatures = root.findall(f".//{{{DS_NS}}}Signature")
    if not signatures:
        raise BadSignature(
            Text("The document is not signed. Sign it with your certificate (nsw sign).")
        )
    if len(signatures) > 1:
        raise BadSignature(
            Text("The document carries more than one signature; exactly one is accepted.")
        )
    signature = signatures[0]
    if signature.getparent() is not root or _next_element(signature) is not None:
        raise BadSignature(
            Text("The signature must be the last child of the root element (enveloped).")
        )
    # ... with exactly one Reference, to the whole document: a signature over some element inside
    # (URI="#id") would let unsigned content around that element through (signature wrapping).
    references = signature.findall(f"{{{DS_NS}}}SignedInfo/{{{DS_NS}}}Reference")
    if len(references) != 1 or references[0].get("URI") != "":
        raise BadSignature(
            Text(
                'The signature must have exactly one Reference, with URI="" (the whole document); '
                "sign the whole application with an enveloped signature."
            )
        )

    # Step 2: the signer's certificate comes from KeyInfo and must be trusted by our own store.
    certs = _certificates_in(signature)
    if not certs:
        raise BadSignature(
            Text("The signature has no X509Certificate in KeyInfo; include your certificate.")
        )
    leaf = _leaf(certs)
    signer = trust.verify(leaf, [c for c in certs if c is not leaf])

    # Step 3: the signature itself, with that certificate, under the algorithm policy. An allowed
    # algorithm of the other key type means the key was not the certificate's: say so, rather
    # than signxml's "key value does not match specified signature algorithm".
    method = signature.find(f"{{{DS_NS}}}SignedInfo/{{{DS_NS}}}SignatureMethod")
    algorithm = method.get("Algorithm", "") if method is not None else ""
    if algorithm in _ALLOWED_URIS:
        ec_signature = algorithm in _ECDSA_URIS
        if ec_signature != isinstance(signer.certificate.public_key(), ec.EllipticCurvePublicKey):
            raise BadSignature(WRONG_KEY)
    config = SignatureConfiguration(
        require_x509=True,
        location="./",
        expect_references=1,
        signature_methods=ALLOWED_SIGNATURE_METHODS,
        digest_algorithms=ALLOWED_DIGESTS,
        verification_time=now,
    )
    try:
        result: Any = Verifier().verify(root, x509_cert=signer.certificate, expect_config=config)
    # Say which of the two failures it is: signxml's own words ("Signature verification failed")
    # only repeat the title, and a trader who signed with the wrong key learns nothing from them.
    except InvalidDigest as exc:
        raise BadSignature(
            Text(
                "The XML signature does not verify: the document was changed after it was signed "
                "(its digest no longer matches)."
            )
        ) from exc
    except InvalidSignature as exc:
        raise BadSignature(WRONG_KEY_OR_CHANGED) from exc
    # Anything signxml raises on attacker-shaped input means "does not verify", never a 500.
    except (
        SignXMLException,
        UnsupportedAlgorithm,  # cryptography's, for a key type it does not know
        ValueError,
        TypeError,
        KeyError,
        AttributeError,
        etree.LxmlError,
    ) as exc:
        raise BadSignature(
            Text("The XML signature does not verify: %(why)s", why=library_words(str(exc)))
        ) from exc

    # Step 4: what the signature covers is the document as received, less the signature (and
    # comments, which C14N drops): so the stored bytes, which agencies get, say what was signed.
    signed = result.signed_xml
    received = _c14n(_without(root, signature))
    # The bytes whose digest verified are those of the document as received: that is the check.
    # Otherwise (a reference canonicalized another way) what they parse to is compared.
    if signed is None or (result.signed_data != received and _c14n(signed) != received):
        raise BadSignature(
            Text('The signature does not cover the whole document (Reference URI must be "").')
        )
    return VerifiedDocument(signed=signed, signer=signer)


def _next_element(node: etree._Element) -> etree._Element | None:
    """The next sibling that is an element (comments and processing instructions skipped)."""
    sibling = node.getnext()
    while sibling is not None and not isinstance(sibling.tag, str):
        sibling = sibling.getnext()
    return sibling


def _without(root: etree._Element, signature: etree._Element) -> etree._Element:
    # A copy of the tree the hardened parser built (no DTD, no entities: it refused them), made in
    # lxml's C code — a third of the cost of serializing and parsing it again.
    duplicate = copy.deepcopy(root)
    del duplicate[list(root).index(signature)]
    return duplicate


def _c14n(element: etree._Element) -> bytes:
    return bytes(etree.tostring(element, method="c14n", exclusive=True, with_comments=False))
