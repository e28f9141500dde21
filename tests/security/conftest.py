"""Fixtures for the attack tests: the sample application, the dev PKI's keys, a trust store."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree
from werkzeug.test import TestResponse

from gateway.clock import system_clock
from gateway.pki.dev import DevPki
from gateway.resources import shipped
from gateway.trust.certificates import TrustStore
from gateway.trust.xmlparse import parse_xml
from tests.responses import json_of
from tests.security.forge import load_key

SAMPLES = shipped("samples")
A = "{urn:kz:nsw:application:1}"
XML = {"Content-Type": "application/xml"}


@pytest.fixture
def unsigned() -> Callable[..., etree._Element]:
    """unsigned(name="fresh-apples-import"): the sample as a fresh element, not signed."""

    def make(name: str = "fresh-apples-import") -> etree._Element:
        return parse_xml((SAMPLES / f"{name}.xml").read_bytes())

    return make


@pytest.fixture(scope="session")
def trust(pki: DevPki) -> TrustStore:
    return TrustStore.from_directory(pki.directory, system_clock)


@pytest.fixture(scope="session")
def steppe(pki: DevPki) -> tuple[rsa.RSAPrivateKey, list[x509.Certificate]]:
    """(RSA key, [leaf, issuing CA]) of the declarant of fresh-apples-import."""
    return load_key(pki.key_path("trader-steppe")), [
        pki.certificate("trader-steppe"),
        pki.certificate("issuing-ca"),
    ]


@pytest.fixture
def client(app_factory: Callable[..., Flask]) -> FlaskClient:
    return app_factory().test_client()


def problem_code(response: TestResponse) -> str:
    assert response.mimetype == "application/problem+json", response.data[:300]
    return str(json_of(response)["type"]).rsplit(":", 1)[-1]


def text_of(root: etree._Element, path: str) -> str:
    return "".join(root.find(path).itertext())
