"""What the RFC 9421 tests of wire/ share: the dev PKI's gateway and agency keys, one moment,
the clock skew allowed, and an answer's body."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from wire.keys import load_certificate, load_rsa_key

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
SKEW = dt.timedelta(minutes=2)
BODY = b'{"caseId":"c","status":"granted"}'

Keys = tuple[rsa.RSAPrivateKey, x509.Certificate]


@pytest.fixture
def gateway_keys(pki: Any) -> Keys:
    d = pki.directory
    return load_rsa_key(d / "gateway.key"), load_certificate(d / "gateway.pem")


@pytest.fixture
def agency_keys(pki: Any) -> Keys:
    d = pki.directory
    return load_rsa_key(d / "agency-health.key"), load_certificate(d / "agency-health.pem")
