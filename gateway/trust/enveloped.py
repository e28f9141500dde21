"""The gateway's enveloped signature, written directly: the bytes signxml's `XMLSigner` writes for
`sign_enveloped`'s settings, without its two re-parses of the document and its per-element
look-ups (issue 17: the receipt and the decision each cost ~0.15 ms of CPU beyond the RSA
signature through signxml).

Only for a document signxml would sign exactly so (`writes_as_signxml`): the root of its own tree,
no DTD, nothing beside it, no tail, no Id/ID attribute (signxml would then reference "#id"),
no signature placeholder. Anything else goes through signxml. A test signs the same documents both
ways and compares the bytes (RSA PKCS#1 v1.5 signatures are deterministic).

XML-DSig 1.1 §4 (the Signature element, made by `wire.dsig.signature`, as the WS-Security
profile's is), exclusive C14N 1.0 for SignedInfo and the reference, the enveloped-signature
transform (§6.6.4), SHA-256 digest.
"""

from __future__ import annotations

import copy
import hashlib

from lxml import etree

from wire import dsig

DS_NS = dsig.DS
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


def sign_root(document: etree._Element, key: dsig.Key, certificates: tuple[str, ...]) -> bytes:
    """A copy of `document` with its enveloped signature, as UTF-8 bytes with a declaration.
    The caller checked `writes_as_signxml(document)`."""
    # The reference: the whole document, before the signature is in it (exclusive C14N, no
    # comments), which is what the enveloped-signature transform gives the verifier back.
    digest = hashlib.sha256(dsig.canonical(document)).digest()
    signed = copy.deepcopy(document)
    signature = dsig.signature([("", (dsig.ENVELOPED, dsig.EXC_C14N), digest)], key, signed)
    x509_data = etree.SubElement(etree.SubElement(signature, _ds("KeyInfo")), _ds("X509Data"))
    for text in certificates:
        etree.SubElement(x509_data, _ds("X509Certificate")).text = text
    return bytes(etree.tostring(signed, xml_declaration=True, encoding="UTF-8"))
