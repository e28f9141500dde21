"""The gateway's enveloped signature, written directly: the bytes signxml's `XMLSigner` writes for
`sign_enveloped`'s settings, without its two re-parses of the document and its per-element
look-ups (issue 17: the receipt and the decision each cost ~0.15 ms of CPU beyond the RSA
signature through signxml).

Only for a document signxml would sign exactly so (`writes_as_signxml`): the root of its own tree,
no DTD, nothing beside it, no tail, no Id/ID attribute (signxml would then reference "#id"),
no signature placeholder. Anything else goes through signxml. A test signs the same documents both
ways and compares the bytes (RSA PKCS#1 v1.5 signatures are deterministic).

XML-DSig 1.1 §4 (the Signature element), exclusive C14N 1.0 for SignedInfo and the reference, the
enveloped-signature transform (§6.6.4), SHA-256 digest; an ECDSA value is r || s (RFC 4050 §3.3).
"""

from __future__ import annotations

import base64
import copy
import hashlib

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from lxml import etree

DS_NS = "http://www.w3.org/2000/09/xmldsig#"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
_NSMAP = {"ds": DS_NS}
_PLACEHOLDER = f".//{{{DS_NS}}}Signature[@Id='placeholder']"


def _ds(tag: str) -> str:
    return f"{{{DS_NS}}}{tag}"


def writes_as_signxml(document: etree._Element) -> bool:
    """Whether `sign_root` writes what signxml's enveloped signer writes for `document`."""
    return (
        document.getparent() is None
        and document.getprevious() is None
        and document.getnext() is None
        and document.tail is None
        and document.getroottree().docinfo.internalDTD is None
        and document.get("Id") is None
        and document.get("ID") is None
        and document.find(_PLACEHOLDER) is None
    )


def certificate_texts(chain_pem: tuple[bytes, ...]) -> tuple[str, ...]:
    """Each PEM certificate's base64 lines with their line ends, as signxml writes them into
    ds:X509Certificate (the PEM's header and footer removed)."""
    texts = []
    for pem in chain_pem:
        body = pem.decode("ascii").replace("\r", "")
        start = body.index("-----BEGIN CERTIFICATE-----") + len("-----BEGIN CERTIFICATE-----\n")
        texts.append(body[start : body.index("-----END CERTIFICATE-----", start)])
    return tuple(texts)


def sign_root(
    document: etree._Element,
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    certificates: tuple[str, ...],
) -> bytes:
    """A copy of `document` with its enveloped signature, as UTF-8 bytes with a declaration.
    The caller checked `writes_as_signxml(document)`."""
    # The reference: the whole document, before the signature is in it (exclusive C14N, no
    # comments), which is what the enveloped-signature transform gives the verifier back.
    digest = hashlib.sha256(
        etree.tostring(document, method="c14n", exclusive=True, with_comments=False)
    ).digest()
    signed = copy.deepcopy(document)
    signature = etree.SubElement(signed, _ds("Signature"), nsmap=_NSMAP)
    signed_info = etree.SubElement(signature, _ds("SignedInfo"), nsmap=_NSMAP)
    etree.SubElement(signed_info, _ds("CanonicalizationMethod"), Algorithm=EXC_C14N)
    method = RSA_SHA256 if isinstance(key, rsa.RSAPrivateKey) else ECDSA_SHA256
    etree.SubElement(signed_info, _ds("SignatureMethod"), Algorithm=method)
    reference = etree.SubElement(signed_info, _ds("Reference"), URI="")
    transforms = etree.SubElement(reference, _ds("Transforms"))
    etree.SubElement(transforms, _ds("Transform"), Algorithm=ENVELOPED)
    etree.SubElement(transforms, _ds("Transform"), Algorithm=EXC_C14N)
    etree.SubElement(reference, _ds("DigestMethod"), Algorithm=SHA256)
    etree.SubElement(reference, _ds("DigestValue")).text = base64.b64encode(digest).decode()
    signed_info_c14n = etree.tostring(
        signed_info, method="c14n", exclusive=True, with_comments=False
    )
    if isinstance(key, rsa.RSAPrivateKey):
        value = key.sign(signed_info_c14n, padding.PKCS1v15(), hashes.SHA256())
    else:
        r, s = utils.decode_dss_signature(key.sign(signed_info_c14n, ec.ECDSA(hashes.SHA256())))
        size = (key.key_size + 7) // 8
        value = r.to_bytes(size, "big") + s.to_bytes(size, "big")
    etree.SubElement(signature, _ds("SignatureValue")).text = base64.b64encode(value).decode()
    x509_data = etree.SubElement(etree.SubElement(signature, _ds("KeyInfo")), _ds("X509Data"))
    for text in certificates:
        etree.SubElement(x509_data, _ds("X509Certificate")).text = text
    return bytes(etree.tostring(signed, xml_declaration=True, encoding="UTF-8"))
