"""The payment order's signature: a detached JWS (RFC 7515 appendix F) over the order's canonical
JSON bytes (gateway.payments.order: sorted keys, no whitespace, integers only — the RFC 8785 form).

Why JSON and not the XML signer of decisions: the order is read by payment software and by
`nsw pay`, which want JSON, and `PaymentOrder.canonical_bytes()` already gives one byte string per
order. The header names the signing certificate (`x5c`, `kid` = its SHA-256 fingerprint, hex, as
the RFC 9421 profile's keyid); RS256 (RSASSA-PKCS1-v1_5 with SHA-256) like the HTTP signatures.
Anyone holding the order's JSON value re-serialises it canonically and checks the signature with
the gateway's certificate.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from gateway.errors import BadSignature, UnusableKey
from gateway.i18n.text import Text
from gateway.trust.xmlsig import SigningIdentity


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_detached(payload: bytes, identity: SigningIdentity) -> str:
    """`<protected>..<signature>`: the compact JWS with the payload left out."""
    key = identity.private_key
    if not isinstance(key, rsa.RSAPrivateKey):
        raise UnusableKey(Text("The gateway signs payment orders with an RSA key (RS256)."))
    der = identity.certificate.public_bytes(Encoding.DER)
    header = {
        "alg": "RS256",
        "kid": hashlib.sha256(der).hexdigest(),
        "x5c": [base64.b64encode(der).decode("ascii")],
        "typ": "nsw-payment-order+jws",
    }
    protected = _b64url(json.dumps(header, sort_keys=True, separators=(",", ":")).encode())
    signing_input = f"{protected}.{_b64url(payload)}".encode("ascii")
    signature = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return f"{protected}..{_b64url(signature)}"


def verify_detached(jws: str, payload: bytes, pinned: x509.Certificate) -> dict[str, Any]:
    """The protected header if `jws` signs `payload` with `pinned`'s key; `BadSignature` if not.
    Only RS256, and only the pinned certificate (the header's x5c must be it)."""
    try:
        protected, empty, signature = jws.split(".")
        header = json.loads(_unb64url(protected))
        sig = _unb64url(signature)
    except ValueError as exc:
        raise BadSignature(
            Text("The payment order signature is not a detached JWS: %(exc)s", exc=exc)
        ) from exc
    der = pinned.public_bytes(Encoding.DER)
    if empty or not isinstance(header, dict) or header.get("alg") != "RS256":
        raise BadSignature(Text("The payment order signature must be a detached RS256 JWS."))
    if header.get("x5c") != [base64.b64encode(der).decode("ascii")]:
        raise BadSignature(Text("The payment order is signed by another certificate."))
    key = pinned.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise BadSignature(Text("The pinned certificate has no RSA key."))
    try:
        key.verify(
            sig,
            f"{protected}.{_b64url(payload)}".encode("ascii"),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
    except InvalidSignature as exc:
        raise BadSignature(Text("The payment order's signature does not verify.")) from exc
    return header
