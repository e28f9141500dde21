"""The one-pass XML-DSig check of the WS-Security profile (wire/dsig.py): a genuine envelope
verifies in one pass with what signxml would return, and each check leaves to signxml (None) an
envelope it exists to catch, even one whose SignedInfo the pinned key really signed; signxml and
wire.wsse then give the verdict."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from lxml import etree

from wire import dsig
from wire.keys import load_certificate, load_rsa_key
from wire.wsse import (
    DS,
    SOAP11,
    WSSE,
    WSU,
    WSU_ID,
    UntrustedMessage,
    _verified_by_signxml,
    sign_envelope,
)
from wire.wsse import verify_envelope as wsse_verify

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(hours=1)  # in cert validity
SKEW = dt.timedelta(minutes=2)


@pytest.fixture
def keys(pki: Any) -> tuple[Any, Any]:
    d = pki.directory
    return load_rsa_key(d / "agency-customs.key"), load_certificate(d / "agency-customs.pem")


def signed(keys: tuple[Any, Any], now: dt.datetime = NOW) -> etree._Element:
    envelope = etree.fromstring(
        f'<s:Envelope xmlns:s="{SOAP11}"><s:Body><a:Answer xmlns:a="urn:a">'
        "<a:Status>granted</a:Status><!-- c --></a:Answer></s:Body></s:Envelope>".encode()
    )
    return etree.fromstring(etree.tostring(sign_envelope(envelope, *keys, now=now)))


def parts(root: etree._Element) -> tuple[etree._Element, etree._Element, etree._Element]:
    security = root.find(f"{{{SOAP11}}}Header/{{{WSSE}}}Security")
    assert security is not None
    signature = security.find(f"{{{DS}}}Signature")
    body = root.find(f"{{{SOAP11}}}Body")
    assert signature is not None and body is not None
    return security, signature, body


def one_pass(root: etree._Element, keys: tuple[Any, Any], now: dt.datetime = NOW) -> Any:
    return dsig.verify(root, parts(root)[1], keys[1], now)


def resign(root: etree._Element, key: Any) -> None:
    """Sign SignedInfo again as it now stands, with the pinned key: the signature is genuine,
    so only the shape checks stand between it and acceptance in one pass."""
    signature = parts(root)[1]
    signed_info = signature.find(f"{{{DS}}}SignedInfo")
    value = signature.find(f"{{{DS}}}SignatureValue")
    assert signed_info is not None and value is not None
    raw = key.sign(dsig.canonical(signed_info), padding.PKCS1v15(), hashes.SHA256())
    value.text = base64.b64encode(raw).decode()


def test_a_genuine_envelope_verifies_in_one_pass_as_signxml_would_return_it(keys: Any) -> None:
    root = signed(keys)
    found = one_pass(root, keys)
    assert found is not None and len(found) == 2
    body_id = parts(root)[2].get(WSU_ID)
    body = found[f"#{body_id}"]
    assert body.findtext("{urn:a}Answer/{urn:a}Status") == "granted"
    assert b"<!--" not in etree.tostring(body)  # read from the canonical bytes, as signed
    # and wire.wsse reads the same from it
    verified = wsse_verify(root, keys[1], now=NOW, skew=SKEW)
    assert etree.tostring(verified.body) == etree.tostring(body)


def _algorithm(path: str, value: str) -> Callable[[etree._Element, Any], None]:
    def change(root: etree._Element, key: Any) -> None:
        for node in parts(root)[1].iterfind(path, {"ds": DS}):
            node.set("Algorithm", value)
        resign(root, key)

    return change


def _inclusive_namespaces(root: etree._Element, key: Any) -> None:
    transform = parts(root)[1].find(f".//{{{DS}}}Transform")
    assert transform is not None
    etree.SubElement(transform, "{http://www.w3.org/2001/10/xml-exc-c14n#}InclusiveNamespaces")
    resign(root, key)


def _second_transform(root: etree._Element, key: Any) -> None:
    transforms = parts(root)[1].find(f".//{{{DS}}}Transforms")
    assert transforms is not None
    etree.SubElement(transforms, f"{{{DS}}}Transform", Algorithm=dsig.EXC_C14N)
    resign(root, key)


def _comment_in_signed_info(root: etree._Element, key: Any) -> None:
    signed_info = parts(root)[1].find(f"{{{DS}}}SignedInfo")
    assert signed_info is not None
    signed_info.append(etree.Comment("x"))
    resign(root, key)


def _attribute_on_reference(root: etree._Element, key: Any) -> None:
    reference = parts(root)[1].find(f".//{{{DS}}}Reference")
    assert reference is not None
    reference.set("Type", "urn:x")
    resign(root, key)


def _key_value(root: etree._Element, key: Any) -> None:
    key_info = parts(root)[1].find(f"{{{DS}}}KeyInfo")
    assert key_info is not None
    etree.SubElement(key_info, f"{{{DS}}}KeyValue")


def _duplicate_body_id(root: etree._Element, key: Any) -> None:
    # Signature wrapping: a second element carrying the signed Body's Id.
    security, _, body = parts(root)
    copy = etree.fromstring(etree.tostring(body))
    copy.find("{urn:a}Answer/{urn:a}Status").text = "refused"
    security.append(copy)


def _duplicate_id_after_body(root: etree._Element, key: Any) -> None:
    # The same, with the copy after the signed Body in document order: the first element of
    # that Id is the genuine one, and still the Id names two elements.
    _, _, body = parts(root)
    copy = etree.fromstring(etree.tostring(body))
    copy.find("{urn:a}Answer/{urn:a}Status").text = "refused"
    root.append(copy)


def _foreign_id_attribute(root: etree._Element, key: Any) -> None:
    # signxml resolves `#id` through any attribute named Id, whatever its namespace.
    security, _, body = parts(root)
    etree.SubElement(security, "{urn:x}Other", {"{urn:x}Id": str(body.get(WSU_ID))})


def _changed_body(root: etree._Element, key: Any) -> None:
    parts(root)[2].find("{urn:a}Answer/{urn:a}Status").text = "refused"


def _changed_timestamp(root: etree._Element, key: Any) -> None:
    created = parts(root)[0].find(f"{{{WSU}}}Timestamp/{{{WSU}}}Created")
    assert created is not None
    created.text = (NOW - dt.timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _changed_signature_value(root: etree._Element, key: Any) -> None:
    value = parts(root)[1].find(f"{{{DS}}}SignatureValue")
    assert value is not None and value.text
    value.text = ("B" if value.text[0] == "A" else "A") + value.text[1:]


def _changed_digest_value(root: etree._Element, key: Any) -> None:
    digest = parts(root)[1].find(f".//{{{DS}}}DigestValue")
    assert digest is not None
    digest.text = base64.b64encode(b"\0" * 32).decode()


def _unknown_reference(root: etree._Element, key: Any) -> None:
    reference = parts(root)[1].find(f".//{{{DS}}}Reference")
    assert reference is not None
    reference.set("URI", "#nowhere")
    resign(root, key)


RSA_SHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
SHA1 = "http://www.w3.org/2000/09/xmldsig#sha1"
C14N = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"


def _object_in_signature(root: etree._Element, key: Any) -> None:
    etree.SubElement(parts(root)[1], f"{{{DS}}}Object").text = "unsigned"


def _text_in_signed_info(root: etree._Element, key: Any) -> None:
    signed_info = parts(root)[1].find(f"{{{DS}}}SignedInfo")
    assert signed_info is not None
    signed_info.text = "text"
    resign(root, key)


def _same_reference_twice(root: etree._Element, key: Any) -> None:
    reference = parts(root)[1].find(f".//{{{DS}}}Reference")
    assert reference is not None
    reference.addnext(etree.fromstring(etree.tostring(reference)))
    resign(root, key)


@pytest.mark.parametrize(
    ("change", "refused"),
    [
        (_algorithm("ds:SignedInfo/ds:SignatureMethod", RSA_SHA1), True),
        (_algorithm(".//ds:DigestMethod", SHA1), True),
        (_algorithm("ds:SignedInfo/ds:CanonicalizationMethod", C14N), True),
        (_algorithm(".//ds:Transform", C14N), True),
        (_inclusive_namespaces, False),
        (_second_transform, True),
        (_comment_in_signed_info, False),
        (_text_in_signed_info, None),
        (_attribute_on_reference, False),
        (_same_reference_twice, None),
        (_object_in_signature, None),
        (_key_value, True),
        (_duplicate_body_id, True),
        (_duplicate_id_after_body, True),
        (_foreign_id_attribute, True),
        (_changed_body, True),
        (_changed_timestamp, True),
        (_changed_signature_value, True),
        (_changed_digest_value, True),
        (_unknown_reference, True),
    ],
)
def test_each_check_leaves_the_envelope_to_signxml(
    keys: Any, change: Callable[[etree._Element, Any], None], refused: bool | None
) -> None:
    root = signed(keys)
    change(root, keys[0])
    assert one_pass(root, keys) is None
    if refused is True:
        with pytest.raises(UntrustedMessage):
            wsse_verify(root, keys[1], now=NOW, skew=SKEW)
    elif refused is False:  # a shape signxml accepts: it verifies it (the slower way)
        wsse_verify(root, keys[1], now=NOW, skew=SKEW)


def test_a_certificate_outside_its_validity_is_left_to_signxml(keys: Any) -> None:
    late = keys[1].not_valid_after_utc + dt.timedelta(days=1)
    root = signed(keys, now=late)
    assert one_pass(root, keys, now=late) is None
    with pytest.raises(UntrustedMessage, match="expired"):
        wsse_verify(root, keys[1], now=late, skew=SKEW)


def test_an_element_naming_one_id_in_two_attributes_is_one_element_as_for_signxml(
    keys: Any,
) -> None:
    # signxml resolves `#id` to the elements with *an* attribute named Id of that value: a Body
    # that carries its Id as wsu:Id and as a foreign Id is one element, not two.
    root = signed(keys)
    _, signature, body = parts(root)
    body.set("{urn:x}Id", str(body.get(WSU_ID)))
    digest = signature.find(f".//{{{DS}}}Reference[@URI='#{body.get(WSU_ID)}']/{{{DS}}}DigestValue")
    assert digest is not None
    digest.text = base64.b64encode(hashlib.sha256(dsig.canonical(body)).digest()).decode()
    resign(root, keys[0])
    found = one_pass(root, keys)
    assert found is not None
    signed_body = found[f"#{body.get(WSU_ID)}"]
    assert signed_body.findtext("{urn:a}Answer/{urn:a}Status") == "granted"
    by_signxml = _verified_by_signxml(root, keys[1], NOW)
    assert {uri: etree.tostring(e) for uri, e in by_signxml.items()} == {
        uri: etree.tostring(e) for uri, e in found.items()
    }


def test_each_detached_signature_is_its_own_and_as_one_built_in_place(keys: Any) -> None:
    # Detached signatures are copies of one skeleton per shape: signing again must neither
    # change an earlier signature nor differ from the signature built element by element.
    digests = [hashlib.sha256(bytes([n])).digest() for n in range(3)]
    first = dsig.signature([("#a", (dsig.EXC_C14N,), digests[0])], keys[0])
    made = etree.tostring(first)
    second = dsig.signature([("#b", (dsig.EXC_C14N,), digests[1])], keys[0])
    assert second is not first and etree.tostring(first) == made
    for references in (
        [("#b", (dsig.EXC_C14N,), digests[1])],
        [("", (dsig.ENVELOPED, dsig.EXC_C14N), digests[2]), ("#c", (dsig.EXC_C14N,), digests[0])],
    ):
        parent = etree.Element("Document")
        dsig.signature(references, keys[0], parent)
        assert etree.tostring(dsig.signature(references, keys[0])) == etree.tostring(parent[0])
