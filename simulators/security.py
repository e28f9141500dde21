"""An agency's keys and its side of the HTTP message signature profile (RFC 9421 + RFC 9530).

Each stand-in agency signs with `agency-<code>.key` (certificate `agency-<code>.pem`) and believes
only requests signed by the gateway's certificate `gateway.pem`, all from one PKI directory (the
dev PKI by default, or NSW_PKI_DIR, or an explicit `pki_dir`). Profile: Content-Digest sha-256 and
one signature labelled "nsw", rsa-v1_5-sha256, keyid = SHA-256 of the signer's certificate,
covering "@method" "@target-uri" (requests) or "@status" (answers), "content-type" and
"content-digest". An answer also covers the request it answers (RFC 9421 §2.4): "@method";req,
"@target-uri";req, "content-digest";req and "signature";key="nsw";req, read from the request as
received, so the gateway can tell that the answer was made for its request and no other.

Signatures of exactly this profile are made in one pass over plain strings with the gateway's
`wire.sigbase` (the library's own signature base and fields, byte for byte: a test holds them
equal; the library spends about 0.3 ms of CPU around each RSA operation parsing and re-serialising
structured fields); anything else is signed by `http-message-signatures`. Requests are always
verified by the library, so what the stand-ins accept stays independent of the gateway's code.
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

from wire import sigbase

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


@functools.lru_cache(maxsize=64)
def key_id(cert: x509.Certificate) -> str:
    """The SHA-256 fingerprint of `cert`, once per certificate (every call signs or verifies)."""
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
    message: Message,
    body: bytes,
    key: Any,
    cert: x509.Certificate,
    components: tuple[str, ...],
    created: dt.datetime | None = None,
) -> None:
    """Add Content-Digest, Signature-Input and Signature to `message.headers`, signed at
    `created` (default: now)."""
    created = created or dt.datetime.now(dt.UTC)
    if not _sign_profile(message, body, key, key_id(cert), created, components):
        sign_with_library(message, body, key, cert, components, created)


def sign_with_library(
    message: Message,
    body: bytes,
    key: Any,
    cert: x509.Certificate,
    components: tuple[str, ...],
    created: dt.datetime,
) -> None:
    """`sign_http` by `http-message-signatures` alone, at `created`: the path of record."""
    kid = key_id(cert)
    HTTPMessageSigner(
        signature_algorithm=algorithms.RSA_V1_5_SHA256,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={kid: key}),
    ).sign(
        _view(message),
        key_id=kid,
        created=created,
        label=LABEL,
        covered_component_ids=components,
        body=body,
    )


_LISTS: dict[tuple[str, ...], str] = {
    c: sigbase.components_list(c) for c in (REQUEST_COMPONENTS, RESPONSE_COMPONENTS)
}
_OWN_FIELDS = frozenset({"content-type", "content-digest", "signature-input", "signature"})
_REQUEST_FIELDS = frozenset({"content-digest", "signature"})


def _sign_profile(
    message: Message,
    body: bytes,
    key: Any,
    kid: str,
    created: dt.datetime,
    components: tuple[str, ...],
) -> bool:
    """Sign `message` over exactly `REQUEST_COMPONENTS` or `RESPONSE_COMPONENTS` in one pass:
    the fields the library writes (a test holds them equal). False, with nothing changed, for
    anything the library must handle: another component list, a key that is not RSA, a message
    already carrying a digest or signature, values outside `wire.sigbase`'s patterns, an answered
    request whose Content-Digest or "nsw" Signature is not a single canonical field."""
    listed = _LISTS.get(components)
    lines = sigbase.fields(message.headers, _OWN_FIELDS)
    if listed is None or not isinstance(key, rsa.RSAPrivateKey) or lines is None:
        return False
    if set(lines) != {"content-type"} or len(lines["content-type"]) != 1:
        return False
    digest = sigbase.content_digest(body)
    if components == REQUEST_COMPONENTS:  # the library reads a message with a status as an answer
        values = _request_values(message, "") if message.status_code is None else None
        if values is None:
            return False
        values += [('"content-type"', lines["content-type"][0]), ('"content-digest"', digest)]
    else:
        answered = _request_values(message.request, ";req") if message.status_code else None
        if answered is None:
            return False
        values = [
            ('"@status"', str(message.status_code)),
            ('"content-type"', lines["content-type"][0]),
            ('"content-digest"', digest),
            *answered,
        ]
    params = (
        ("created", int(created.timestamp())),
        ("keyid", kid),
        ("alg", algorithms.RSA_V1_5_SHA256.algorithm_id),
    )
    signed = sigbase.signature_fields(LABEL, listed, params, values, key)
    if signed is None:
        return False
    message.headers["Content-Digest"] = digest
    message.headers["Signature-Input"], message.headers["Signature"] = signed
    return True


def _request_values(request: Message | None, suffix: str) -> list[tuple[str, str]] | None:
    """The request's "@method" and "@target-uri" (suffix ""), or with suffix ";req" also its
    "content-digest" and "nsw" signature, as the library resolves them; None where it must."""
    if request is None:
        return None
    method, uri = sigbase.method(request.method), sigbase.target_uri(str(request.url))
    if method is None or uri is None:
        return None
    values = [(f'"@method"{suffix}', method), (f'"@target-uri"{suffix}', uri)]
    if not suffix:
        return values
    lines = sigbase.fields(request.headers, _REQUEST_FIELDS)
    if lines is None or any(len(lines.get(name, ())) != 1 for name in _REQUEST_FIELDS):
        return None
    signature = sigbase.read_signature(lines["signature"][0], LABEL)
    if signature is None:
        return None
    return [
        *values,
        ('"content-digest";req', lines["content-digest"][0]),
        (f'"signature";key="{LABEL}";req', sigbase.byte_sequence(signature)),
    ]


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


@functools.lru_cache(maxsize=64)
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
