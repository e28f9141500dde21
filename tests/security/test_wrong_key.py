"""A document signed with a key that is not its certificate's, or changed after signing, is
refused with a sentence that says which (not the title said twice)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask

from gateway.pki.dev import DevPki
from gateway.trust.xmlparse import parse_xml
from gateway.trust.xmlsig import SigningIdentity, sign_enveloped
from tests.conftest import SAMPLES


def _refusal(app: Flask, body: bytes) -> dict[str, object]:
    answer = app.test_client().post(
        "/api/v1/applications", data=body, content_type="application/xml"
    )
    assert answer.status_code == 422, answer.get_data(as_text=True)
    problem: dict[str, object] = answer.get_json()
    assert problem["type"] == "urn:kz:nsw:problem:bad-signature"
    return problem


@pytest.mark.parametrize("key", ["trader-kaztrans", "trader-altyn"])  # RSA like the cert; ECDSA
def test_a_key_that_is_not_the_certificates(
    app_factory: Callable[..., Flask], pki: DevPki, key: str
) -> None:
    wrong = SigningIdentity(
        pki.key_path(key).read_bytes(),
        (
            pki.cert_path("trader-steppe").read_bytes(),
            (pki.directory / "issuing-ca.pem").read_bytes(),
        ),
    )
    document = parse_xml((SAMPLES / "fresh-apples-import.xml").read_bytes())
    detail = str(_refusal(app_factory(), sign_enveloped(document, wrong))["detail"])
    assert "made with a key that is not that certificate's" in detail
    assert "Signature verification failed" not in detail and "DER" not in detail


def test_content_changed_after_signing(
    app_factory: Callable[..., Flask], signed_sample: Callable[..., bytes]
) -> None:
    tampered = signed_sample("fresh-apples-import").replace(
        b"<NetMassKg>19800</NetMassKg>", b"<NetMassKg>9800</NetMassKg>"
    )
    detail = str(_refusal(app_factory(), tampered)["detail"])
    assert "the document was changed after it was signed" in detail
