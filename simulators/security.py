"""An agency's keys and its side of the HTTP message signature profile (RFC 9421 + RFC 9530).

Each stand-in agency signs with `agency-<code>.key` (certificate `agency-<code>.pem`) and believes
only requests signed by the gateway's certificate `gateway.pem`, all from one PKI directory (the
dev PKI by default, or NSW_PKI_DIR, or an explicit `pki_dir`). Profile: Content-Digest sha-256 and
one signature labelled "nsw", rsa-v1_5-sha256, keyid = SHA-256 of the signer's certificate,
covering "@method" "@target-uri" (requests) or "@status" (answers), "content-type" and
"content-digest". An answer also covers the request it answers (RFC 9421 §2.4): "@method";req,
"@target-uri";req, "content-digest";req and "signature";key="nsw";req, read from the request as
received, so the gateway can tell that the answer was made for its request and no other.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding
from http_message_signatures import (
    HTTPMessageSignaturesException,
    HTTPMessageSigner,
    HTTPMessageVerifier,
    MappingKeyResolver,
    algorithms,
)

LABEL = "nsw"
REQUEST_COMPONENTS = ("@method", "@target-uri", "content-type", "content-digest")
RESPONSE_COMPONENTS = (
    "@status",
    "content-type",
    "content-digest",
    '"@method";req',
    '"@target-uri";req',
    '"content-digest";req',
    f'"signature";key="{LABEL}";req',
)


def default_pki_dir() -> Path:
    """The dev PKI `nsw pki init` makes by default: NSW_PKI_DIR, else $NSW_HOME/pki, else the XDG
    data directory's nsw/pki (the gateway's rule, gateway.resources; simulators may not import it).
    Never beside the installed package."""
    if os.environ.get("NSW_PKI_DIR"):
        return Path(os.environ["NSW_PKI_DIR"])
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(os.environ.get("NSW_HOME") or Path(data) / "nsw") / "pki"


class BadRequestSignature(Exception):
    """The request's HTTP message signature is missing or does not verify."""


@dataclass(frozen=True)
class AgencyKeys:
    key: rsa.RSAPrivateKey
    cert: x509.Certificate
    gateway: x509.Certificate

    @classmethod
    def load(cls, code: str, pki_dir: Path | None = None) -> AgencyKeys:
        directory = Path(pki_dir or default_pki_dir())
        key = serialization.load_pem_private_key(
            (directory / f"agency-{code}.key").read_bytes(), password=None
        )
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError(f"agency-{code}.key is not an RSA key")
        return cls(
            key,
            x509.load_pem_x509_certificate((directory / f"agency-{code}.pem").read_bytes()),
            x509.load_pem_x509_certificate((directory / "gateway.pem").read_bytes()),
        )


def key_id(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()


@dataclass
class Message:
    """A request (method, url) or response (status_code) and its headers, for the library; a
    response names the `request` it answers (its `;req` components are read from there)."""

    headers: dict[str, str]
    method: str | None = None
    url: str | None = None
    status_code: int | None = None
    request: Message | None = None


class _Request:
    def __init__(self, m: Message) -> None:
        self.method, self.url, self.headers = m.method, m.url, m.headers


class _Response:
    def __init__(self, m: Message) -> None:
        self.status_code, self.headers = m.status_code, m.headers
        self.request = _Request(m.request) if m.request is not None else None


def _view(message: Message) -> Any:
    return _Response(message) if message.status_code is not None else _Request(message)


def sign_http(
    message: Message, body: bytes, key: Any, cert: x509.Certificate, components: tuple[str, ...]
) -> None:
    """Add Content-Digest, Signature-Input and Signature to `message.headers`."""
    kid = key_id(cert)
    HTTPMessageSigner(
        signature_algorithm=algorithms.RSA_V1_5_SHA256,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={kid: key}),
    ).sign(
        _view(message),
        key_id=kid,
        created=dt.datetime.now(dt.UTC),
        label=LABEL,
        covered_component_ids=components,
        body=body,
    )


def verify_http(
    message: Message, body: bytes, pinned: x509.Certificate, components: tuple[str, ...]
) -> None:
    """Raise `BadRequestSignature` unless the pinned party signed `message` and `body`."""
    verifier = HTTPMessageVerifier(
        signature_algorithm=algorithms.RSA_V1_5_SHA256,
        key_resolver=MappingKeyResolver(
            public_keys={key_id(pinned): _rsa(pinned)}, private_keys={}
        ),
    )
    verifier.max_clock_skew = dt.timedelta(minutes=2)
    try:
        verifier.verify(
            _view(message),
            max_age=dt.timedelta(minutes=5),
            require_components=components,
            body=body,
        )
    except HTTPMessageSignaturesException as exc:
        raise BadRequestSignature(str(exc)) from exc


def _rsa(cert: x509.Certificate) -> rsa.RSAPublicKey:
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise BadRequestSignature("the pinned certificate has no RSA key")
    return key


@functools.cache
def other_key() -> rsa.RSAPrivateKey:
    """A key that belongs to no certificate: what a forger (or a misconfigured agency) signs with."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def impostor(code: str, pki_dir: Path | None = None) -> AgencyKeys:
    """Another agency's genuine keys from the same PKI: a valid signature by the wrong party."""
    return AgencyKeys.load("transport" if code == "health" else "health", pki_dir)


def spoil_first_text(element: Any) -> None:
    """Change the first character of the first text under `element` (tampering after signing)."""
    for node in element.iter():
        if isinstance(node.tag, str) and node.text and node.text.strip():
            node.text = ("Y" if node.text[0] == "X" else "X") + node.text[1:]
            return
