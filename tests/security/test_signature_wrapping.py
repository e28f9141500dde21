"""Signature wrapping and signed-content confusion (issue 4, items 2 and 9).

Each attack document is first shown to be a real attack: a careless verifier (`naive_verify`:
signxml defaults, then reading the tree as received) accepts it and would read forged content.
Then the gateway's policy (`verify_enveloped`) must refuse it, or read only what was signed.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from flask.testing import FlaskClient
from lxml import etree

from gateway.clock import system_clock
from gateway.errors import BadSignature
from gateway.trust.certificates import TrustStore
from gateway.trust.xmlparse import parse_xml
from gateway.trust.xmlsig import verify_enveloped
from tests.responses import json_of
from tests.security.conftest import XML, A, problem_code
from tests.security.forge import DS, forge, naive_verify

FORGED_MASS = "9800"  # the real, signed consignment is 19800 kg


def _reparsed(root: etree._Element) -> etree._Element:
    return parse_xml(etree.tostring(root))


def _forged(root: etree._Element) -> etree._Element:
    forged = copy.deepcopy(root)
    forged.attrib.pop("Id", None)
    forged.find(f".//{A}NetMassKg").text = FORGED_MASS
    return forged


def _signed_by_id(
    unsigned: Callable[..., etree._Element],
    steppe: tuple[rsa.RSAPrivateKey, list[x509.Certificate]],
) -> tuple[etree._Element, etree._Element]:
    """The declarant's genuine signature, but over Reference URI="#app" (not the whole document):
    the shape wrapping attacks start from. Returns (signed root without its signature, signature)."""
    key, certs = steppe
    root = unsigned()
    root.set("Id", "app")
    signed = forge(root, key, certs, reference="#app")
    signature = signed.find(f"{{{DS}}}Signature")
    signed.remove(signature)
    return signed, signature


def wrapped_in_forged_root(
    unsigned: Callable[..., etree._Element],
    steppe: tuple[rsa.RSAPrivateKey, list[x509.Certificate]],
) -> etree._Element:
    """Variant 1: the signed original moved inside another element under a forged root."""
    original, signature = _signed_by_id(unsigned, steppe)
    forged = _forged(original)
    etree.SubElement(forged, f"{A}Extension").append(original)
    forged.append(signature)
    return forged


def duplicate_id(
    unsigned: Callable[..., etree._Element],
    steppe: tuple[rsa.RSAPrivateKey, list[x509.Certificate]],
) -> etree._Element:
    """Variant 2: the forged root carries the same Id as the signed original it wraps."""
    original, signature = _signed_by_id(unsigned, steppe)
    forged = _forged(original)
    forged.set("Id", "app")
    etree.SubElement(forged, f"{A}Extension").append(original)
    forged.append(signature)
    return forged


def reference_to_other_element(
    unsigned: Callable[..., etree._Element],
    steppe: tuple[rsa.RSAPrivateKey, list[x509.Certificate]],
) -> etree._Element:
    """Variant 3: the signature covers one element (Transport); the rest is changed freely."""
    key, certs = steppe
    root = unsigned()
    root.find(f"{A}Transport").set("Id", "t")
    return _forged(forge(root, key, certs, reference="#t"))


def extra_sibling_content(
    unsigned: Callable[..., etree._Element],
    steppe: tuple[rsa.RSAPrivateKey, list[x509.Certificate]],
) -> etree._Element:
    """Variant 4: a properly enveloped whole-document signature, then unsigned content added
    as a sibling after it (a second goods item list the signer never saw)."""
    key, certs = steppe
    signed = forge(unsigned(), key, certs)
    extra = copy.deepcopy(signed.find(f"{A}GoodsItems"))
    extra.find(f".//{A}NetMassKg").text = FORGED_MASS
    signed.append(extra)
    return signed


def signature_in_object(
    unsigned: Callable[..., etree._Element],
    steppe: tuple[rsa.RSAPrivateKey, list[x509.Certificate]],
) -> etree._Element:
    """Variant 5: the signed original hidden in the signature's own ds:Object (where the schema's
    xs:any would not look), the forged application as root."""
    original, signature = _signed_by_id(unsigned, steppe)
    forged = _forged(original)
    etree.SubElement(signature, f"{{{DS}}}Object").append(original)
    forged.append(signature)
    return forged


WRAPPINGS = [
    wrapped_in_forged_root,
    duplicate_id,
    reference_to_other_element,
    extra_sibling_content,
    signature_in_object,
]


@pytest.mark.parametrize("attack", WRAPPINGS, ids=lambda f: f.__name__)
def test_wrapping_is_refused(
    attack: Callable[..., etree._Element],
    unsigned: Callable[..., etree._Element],
    steppe: tuple[rsa.RSAPrivateKey, list[x509.Certificate]],
    trust: TrustStore,
) -> None:
    document = _reparsed(attack(unsigned, steppe))
    with pytest.raises(BadSignature):
        verify_enveloped(document, trust, now=system_clock())


@pytest.mark.parametrize(
    "attack", [wrapped_in_forged_root, reference_to_other_element], ids=lambda f: f.__name__
)
def test_wrapping_documents_fool_a_naive_verifier(
    attack: Callable[..., etree._Element],
    unsigned: Callable[..., etree._Element],
    steppe: tuple[rsa.RSAPrivateKey, list[x509.Certificate]],
) -> None:
    """The control: without the policy these documents verify and the forged mass is read."""
    document = _reparsed(attack(unsigned, steppe))
    read = naive_verify(document, steppe[1][0])
    assert read.find(f"{A}GoodsItems/{A}Item/{A}NetMassKg").text == FORGED_MASS


@pytest.mark.parametrize("attack", WRAPPINGS, ids=lambda f: f.__name__)
def test_wrapping_is_refused_at_the_api(
    attack: Callable[..., etree._Element],
    unsigned: Callable[..., etree._Element],
    steppe: tuple[rsa.RSAPrivateKey, list[x509.Certificate]],
    client: FlaskClient,
) -> None:
    body = etree.tostring(attack(unsigned, steppe), xml_declaration=True, encoding="UTF-8")
    response = client.post("/api/v1/applications", data=body, headers=XML)
    assert response.status_code in (400, 422), response.json
    assert problem_code(response) in ("bad-signature", "schema-violation")


def test_only_the_signed_element_is_read_after_comment_injection(
    unsigned: Callable[..., etree._Element],
    steppe: tuple[rsa.RSAPrivateKey, list[x509.Certificate]],
    trust: TrustStore,
) -> None:
    """A comment inside the BIN survives the signature (C14N drops comments), and a reader of the
    received tree would see only "210540": the gateway reads the signed element, which has the
    whole BIN."""
    key, certs = steppe
    text = etree.tostring(forge(unsigned(), key, certs))
    injected = _reparsed(
        etree.fromstring(
            text.replace(b"<DeclarantBIN>210540012341<", b"<DeclarantBIN>210540<!---->012341<")
        )
    )
    assert injected.find(f"{A}DeclarantBIN").text == "210540"  # the naive reading
    verified = verify_enveloped(injected, trust, now=system_clock())
    assert verified.signed.find(f"{A}DeclarantBIN").text == "210540012341"


def test_comment_injection_at_the_api_reads_the_signed_bin(
    unsigned: Callable[..., etree._Element],
    steppe: tuple[rsa.RSAPrivateKey, list[x509.Certificate]],
    client: FlaskClient,
) -> None:
    key, certs = steppe
    text = etree.tostring(forge(unsigned(), key, certs), xml_declaration=True, encoding="UTF-8")
    injected = text.replace(b"<DeclarantBIN>210540012341<", b"<DeclarantBIN>210540<!---->012341<")
    assert injected != text
    response = client.post("/api/v1/applications", data=injected, headers=XML)
    assert response.status_code == 202, response.json
    app = client.application.extensions["nsw"].store.application(json_of(response)["id"])
    assert app.declarant_bin == "210540012341"


def test_signature_not_last_child_is_refused(
    unsigned: Callable[..., etree._Element],
    steppe: tuple[rsa.RSAPrivateKey, list[x509.Certificate]],
    trust: TrustStore,
) -> None:
    key, certs = steppe
    signed = forge(unsigned(), key, certs)
    signature = signed.find(f"{{{DS}}}Signature")
    signed.remove(signature)
    signed.insert(0, signature)
    with pytest.raises(BadSignature, match="last child"):
        verify_enveloped(_reparsed(signed), trust, now=system_clock())


def test_two_signatures_are_refused(
    unsigned: Callable[..., etree._Element],
    steppe: tuple[rsa.RSAPrivateKey, list[x509.Certificate]],
    trust: TrustStore,
) -> None:
    key, certs = steppe
    signed = forge(unsigned(), key, certs)
    twice = forge(signed, key, certs)
    with pytest.raises(BadSignature, match="more than one signature"):
        verify_enveloped(_reparsed(twice), trust, now=system_clock())
