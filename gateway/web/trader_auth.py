"""Who is asking: traders prove their identity with an RFC 9421 HTTP message signature.

`require_trader()` authenticates the request (gateway.trust.http_signatures profile) with the key of a
registered trader certificate that the trust store still accepts now, and records the nonce;
`authorise(signer, declarant_bin)` lets through the declarant itself and its registered
representatives. Failures are problem documents: 401 (no or bad proof, unknown or untrusted key,
replay) or 403 (a valid proof from someone else) — never data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Response, current_app, request

from gateway.errors import GatewayError, NotYourApplication, ReplayedRequest, Unauthenticated
from gateway.trust.certificates import TrustedSigner
from gateway.trust.http_signatures import (
    CLOCK_SKEW,
    COVERED,
    MAX_AGE,
    TRADER_TAG,
    PublicKey,
    SignatureRefused,
    requested_keyid,
    verify_request,
)
from gateway.web.body import read_body
from gateway.web.request_view import request_view

if TYPE_CHECKING:
    from gateway.bootstrap import Services

HOW = (
    "Sign the request with RFC 9421 HTTP Message Signatures: cover "
    + " ".join(f'"{c}"' for c in COVERED)
    + f", with keyid = the SHA-256 fingerprint of your registered certificate, created, expires, "
    f'nonce and tag="{TRADER_TAG}" (nsw status does this for you).'
)
# RFC 9421 §5.1: tells a client what signature to send.
ACCEPT_SIGNATURE = (
    "nsw=(" + " ".join(f'"{c}"' for c in COVERED) + f');created;expires;nonce;tag="{TRADER_TAG}"'
)


def _services() -> Services:
    svc: Services = current_app.extensions["nsw"]
    return svc


def require_trader() -> TrustedSigner:
    """The certificate holder who signed this request, or 401."""
    svc = _services()
    try:
        keyid = requested_keyid(request.headers.items(), TRADER_TAG)
    except SignatureRefused as exc:
        raise Unauthenticated(f"This request is not signed as required ({exc}). {HOW}") from exc
    certificate = svc.trader_certs.certificate(keyid)
    if certificate is None:
        raise Unauthenticated(
            f"No trader certificate with fingerprint {keyid[:64]!r} is registered. Submit an "
            "application signed with it first, or ask the gateway operators to register it "
            "(nsw traders register)."
        )
    try:
        signer = svc.trust.verify(certificate)
    except GatewayError as exc:
        raise Unauthenticated(f"Your certificate is not accepted now: {exc.detail}") from exc
    key = certificate.public_key()
    assert isinstance(key, PublicKey)  # the trust store accepted it, so it is one of these
    try:
        signed = verify_request(
            request_view(request),
            keyid,
            key,
            svc.clock,
            read_body(),
            tag=TRADER_TAG,
        )
    except SignatureRefused as exc:
        raise Unauthenticated(f"The request signature does not verify: {exc}. {HOW}") from exc
    if not svc.nonces.first_use(keyid, signed.nonce, signed.created + MAX_AGE + CLOCK_SKEW):
        raise ReplayedRequest(
            "This signed request was already used (same key and nonce). Sign every request "
            "afresh with a new nonce."
        )
    return signer


def may_act_for(signer: TrustedSigner, declarant_bin: str | None) -> bool:
    """Whether `signer` is the declarant or its registered representative. Another company's
    signer costs the same representative look-up whether or not `declarant_bin` is known."""
    if signer.bin is not None and signer.bin == declarant_bin:
        return True
    return bool(
        signer.bin and _services().representatives.may_act_for(signer.bin, declarant_bin or "")
    )


def authorise(signer: TrustedSigner, declarant_bin: str) -> None:
    """403 unless `signer` is the declarant or its registered representative."""
    if may_act_for(signer, declarant_bin):
        return
    raise NotYourApplication(
        "The application belongs to another company; a trader sees only its own applications "
        "and those of companies it is registered to represent."
    )


def add_accept_signature(response: Response) -> Response:
    if response.status_code == 401:
        response.headers["Accept-Signature"] = ACCEPT_SIGNATURE
    return response
