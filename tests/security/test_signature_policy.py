"""The signature and certificate policy at the API (issue 4, items 2, 3 and 9): forbidden
algorithms, stripped or altered signatures, untrusted, expired, revoked and other companies'
certificates. Signatures are made with `forge`, which signs with anything: the positive control
shows a forged document with allowed algorithms is accepted, so each refusal is the policy's."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask.testing import FlaskClient
from lxml import etree
from signxml.signer import XMLSigner
from werkzeug.test import TestResponse

from gateway.clock import system_clock
from gateway.errors import BadSignature
from gateway.pki.dev import DevPki
from gateway.pki.profiles import PARTIES, issue_certificate, new_key
from gateway.trust.certificates import TrustStore
from gateway.trust.xmlparse import parse_xml
from gateway.trust.xmlsig import verify_enveloped
from tests.responses import json_of
from tests.security.conftest import XML, problem_code
from tests.security.forge import (
    DS,
    HMAC_SHA1,
    HMAC_SHA256,
    MD5,
    RSA_MD5,
    RSA_SHA1,
    RSA_SHA256,
    SHA1,
    SHA256,
    forge,
    load_key,
)


def _post(client: FlaskClient, root: etree._Element) -> TestResponse:
    body = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return client.post("/api/v1/applications", data=body, headers=XML)


def test_control_forged_with_allowed_algorithms_is_accepted(
    client: FlaskClient,
    unsigned: Callable[..., etree._Element],
    steppe: tuple[rsa.RSAPrivateKey, list[x509.Certificate]],
) -> None:
    key, certs = steppe
    response = _post(client, forge(unsigned(), key, certs))
    assert response.status_code == 202, response.json


@pytest.mark.parametrize(
    ("method", "digest"),
    [
        (RSA_SHA1, SHA1),
        (RSA_SHA1, SHA256),
        (RSA_SHA256, SHA1),
        (RSA_MD5, MD5),
        (RSA_SHA256, MD5),
        (HMAC_SHA256, SHA256),
        (HMAC_SHA1, SHA1),
    ],
    ids=lambda uri: uri.rsplit("#", 1)[-1],
)
def test_forbidden_algorithms_are_refused(
    client: FlaskClient,
    unsigned: Callable[..., etree._Element],
    steppe: tuple[rsa.RSAPrivateKey, list[x509.Certificate]],
    method: str,
    digest: str,
) -> None:
    key, certs = steppe
    # HMAC: the "key" is a secret the attacker chooses; the certificate is only decoration.
    signing_key = b"attacker-chosen-secret" if "hmac" in method else key
    response = _post(client, forge(unsigned(), signing_key, certs, method=method, digest=digest))
    assert response.status_code == 422, response.json
    assert problem_code(response) == "bad-signature"


def test_stripped_signature_is_refused(
    client: FlaskClient,
    unsigned: Callable[..., etree._Element],
    steppe: tuple[rsa.RSAPrivateKey, list[x509.Certificate]],
) -> None:
    key, certs = steppe
    signed = forge(unsigned(), key, certs)
    signed.remove(signed.find(f"{{{DS}}}Signature"))
    response = _post(client, signed)
    assert response.status_code == 422
    assert problem_code(response) == "bad-signature"
    assert "not signed" in json_of(response)["detail"]


def test_content_changed_after_signing_is_refused(
    client: FlaskClient, signed_sample: Callable[..., bytes]
) -> None:
    tampered = signed_sample("fresh-apples-import").replace(b"Fuji", b"Gala", 1)
    response = client.post("/api/v1/applications", data=tampered, headers=XML)
    assert response.status_code == 422
    assert problem_code(response) == "bad-signature"


def test_key_value_without_certificate_is_refused(
    client: FlaskClient,
    unsigned: Callable[..., etree._Element],
    steppe: tuple[rsa.RSAPrivateKey, list[x509.Certificate]],
) -> None:
    key, _certs = steppe
    response = _post(client, forge(unsigned(), key, []))
    assert response.status_code == 422
    assert problem_code(response) == "bad-signature"
    assert "X509Certificate" in json_of(response)["detail"]


def test_two_end_entity_certificates_are_ambiguous(
    client: FlaskClient,
    unsigned: Callable[..., etree._Element],
    steppe: tuple[rsa.RSAPrivateKey, list[x509.Certificate]],
    pki: DevPki,
) -> None:
    key, certs = steppe
    response = _post(client, forge(unsigned(), key, [*certs, pki.certificate("trader-altyn")]))
    assert response.status_code == 422
    assert "exactly one end-entity" in json_of(response)["detail"]


def test_certificate_from_an_untrusted_ca_with_the_same_names_is_refused(
    client: FlaskClient, unsigned: Callable[..., etree._Element]
) -> None:
    """A look-alike PKI: a root named like ours, a leaf with the declarant's subject."""
    specs = {spec.slug: spec for spec in PARTIES}
    now = dt.datetime.now(dt.UTC)
    root_key, leaf_key = new_key("rsa2048"), new_key("rsa2048")
    assert isinstance(leaf_key, rsa.RSAPrivateKey)  # what forge signs with
    root = issue_certificate(specs["root-ca"], root_key, None, now)
    leaf = issue_certificate(specs["trader-steppe"], leaf_key, (root, root_key), now)
    response = _post(client, forge(unsigned(), leaf_key, [leaf, root]))
    assert response.status_code == 422
    assert problem_code(response) == "untrusted-certificate"


@pytest.mark.parametrize(
    ("slug", "code", "status"),
    [
        ("trader-expired", "expired-certificate", 422),
        ("trader-revoked", "revoked-certificate", 422),
        ("trader-altyn", "signer-not-declarant", 403),  # another company's valid certificate
    ],
)
def test_certificates_that_may_not_sign_for_the_declarant(
    client: FlaskClient,
    unsigned: Callable[..., etree._Element],
    pki: DevPki,
    slug: str,
    code: str,
    status: int,
) -> None:
    certs = [pki.certificate(slug), pki.certificate("issuing-ca")]
    key = pki.key_path(slug)
    if slug == "trader-altyn":  # P-256: sign through the real signer
        from gateway.trust.xmlsig import SigningIdentity, sign_enveloped

        body = sign_enveloped(
            unsigned(),
            SigningIdentity.from_files(key, pki.cert_path(slug), pki.directory / "issuing-ca.pem"),
        )
        response = client.post("/api/v1/applications", data=body, headers=XML)
    else:
        response = _post(client, forge(unsigned(), load_key(key), certs))
    assert response.status_code == status, response.json
    assert problem_code(response) == code


def test_replay_returns_the_original_and_fans_out_once(
    client: FlaskClient, signed_sample: Callable[..., bytes]
) -> None:
    signed = signed_sample("fresh-apples-import")
    first = client.post("/api/v1/applications", data=signed, headers=XML)
    again = client.post("/api/v1/applications", data=signed, headers=XML)
    assert (first.status_code, again.status_code) == (202, 200)
    assert json_of(again)["id"] == json_of(first)["id"]
    store = client.application.extensions["nsw"].store
    assert store.count_open_outbox() == len(json_of(first)["agencies"])


def test_a_reference_canonicalized_inclusively_is_checked_on_what_it_parses_to(
    unsigned: Callable[..., etree._Element],
    steppe: tuple[rsa.RSAPrivateKey, list[x509.Certificate]],
    trust: TrustStore,
) -> None:
    """Some signing tools canonicalize the reference with inclusive C14N: the digested bytes then
    keep a namespace declaration nothing uses, which the gateway's exclusive C14N of the document
    drops. The document as received is still what was signed, so it is accepted (as before the
    digested bytes were compared first); changed afterwards, it is not."""
    key, certs = steppe
    root = unsigned()
    root.set("marker", "signed")
    wider = etree.Element(root.tag, nsmap={**root.nsmap, "unused": "urn:unused"})
    wider.attrib.update(root.attrib)
    wider.extend(list(root))
    signer = XMLSigner(c14n_algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315")
    pems = [c.public_bytes(serialization.Encoding.PEM).decode() for c in certs]
    signed = parse_xml(etree.tostring(signer.sign(wider, key=key, cert=pems)))
    verified = verify_enveloped(signed, trust, now=system_clock())
    assert verified.signed.get("marker") == "signed"

    signed.set("marker", "changed")
    with pytest.raises(BadSignature):
        verify_enveloped(signed, trust, now=system_clock())
