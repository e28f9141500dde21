"""Who is reporting: a checkpoint device or tracker, proved by an RFC 9421 HTTP message signature
made with the key of its certificate (keyid = the certificate's SHA-256 fingerprint).

The RFC 9421 work is gateway.trust.http_signatures (the profile traders use too); this module is only
the seam that applies it to devices: the signature must carry the devices' own tag ("nsw-device":
one made for a trader's read, tag "nsw-trader", is refused here, and the trader API refuses ours),
the device's certificate comes from the checkpoint registry and is re-judged by the trust store on
every request (so a revoked or expired device stops at once, with a `device-certificate-refused`
problem), the body must be covered by a signed Content-Digest, and each (keyid, nonce) is accepted
once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Request, current_app, request

from gateway.checkpoint.errors import DeviceCertificateRefused, UnknownDevice
from gateway.checkpoint.events import MAX_BODY
from gateway.checkpoint.registry import CheckpointRegistry, Device
from gateway.clock import Clock
from gateway.errors import GatewayError, ReplayedRequest, Unauthenticated, UnsupportedMediaType
from gateway.i18n.text import Text
from gateway.trust.certificates import TrustStore
from gateway.trust.http_signatures import (
    CLOCK_SKEW,
    DEVICE_TAG,
    MAX_AGE,
    PublicKey,
    SignatureRefused,
    requested_keyid,
    verify_request,
)
from gateway.trust.trader_keys import NonceLedger
from gateway.web.body import read_body
from gateway.web.request_view import request_view

if TYPE_CHECKING:
    from gateway.bootstrap import Services

HOW = Text(
    'Sign the request with RFC 9421 HTTP Message Signatures: cover "@method" "@path" "@query" '
    '"content-digest", keyid = the SHA-256 fingerprint of the device certificate, created, '
    'expires, nonce and tag="%(tag)s" (wsdl/checkpoint/device-events.openapi.json).',
    tag=DEVICE_TAG,
)


def authenticate_device(
    request: Request,
    body: bytes,
    *,
    registry: CheckpointRegistry,
    trust: TrustStore,
    nonces: NonceLedger,
    clock: Clock,
) -> Device:
    """The registered device that signed this request (and its body), or a 401 problem."""
    try:
        keyid = requested_keyid(request.headers.items(), DEVICE_TAG)
    except SignatureRefused as exc:
        raise Unauthenticated(
            Text("This event is not signed as required (%(exc)s). %(HOW)s", exc=exc, HOW=HOW)
        ) from exc
    device = registry.device(keyid)
    if device is None:
        raise UnknownDevice(
            Text(
                "No checkpoint device with certificate fingerprint %(keyid)r is registered "
                "(mappings/checkpoints.toml binds each device to a checkpoint and a stage).",
                keyid=keyid[:64],
            )
        )
    try:
        trust.verify(device.certificate)
    except GatewayError as exc:
        # The trust store's own code (revoked-certificate, expired-certificate, ...) goes along as
        # `certificate_problem`, with its facts (e.g. `revoked_at`), for the device's operators.
        raise DeviceCertificateRefused(
            Text(
                "The certificate of device %(slug)s is not accepted now: %(detail)s",
                slug=device.slug,
                detail=exc.detail,
            ),
            device=device.slug,
            certificate_problem=exc.code,
            **exc.extensions,
        ) from exc
    if not body:
        raise Unauthenticated(
            Text("A device event must have a body covered by Content-Digest. %(HOW)s", HOW=HOW)
        )
    key = device.certificate.public_key()
    if not isinstance(key, PublicKey):  # a CA may issue keys RFC 9421 has no algorithm for
        raise DeviceCertificateRefused(
            Text(
                "The certificate of device %(slug)s has a %(key_type)s, which cannot sign HTTP "
                "messages; issue the device an RSA, ECDSA or Ed25519 certificate.",
                slug=device.slug,
                key_type=type(key).__name__,
            ),
            device=device.slug,
            certificate_problem="certificate-usage",
        )
    try:
        signed = verify_request(request_view(request), keyid, key, clock, body, tag=DEVICE_TAG)
    except SignatureRefused as exc:
        raise Unauthenticated(
            Text("The event signature does not verify: %(exc)s. %(HOW)s", exc=exc, HOW=HOW)
        ) from exc
    if not nonces.first_use(keyid, signed.nonce, signed.created + MAX_AGE + CLOCK_SKEW):
        raise ReplayedRequest(
            Text(
                "This signed request was already used (same key and nonce). To send an event "
                "again, sign it afresh: the same event_id is answered idempotently."
            )
        )
    return device


def signed_device_json(wrong_type: Text) -> tuple[bytes, Device]:
    """The body of this JSON request (at most MAX_BODY bytes) and the device that signed it.

    `wrong_type` is the sentence a request of another media type gets (415)."""
    if request.mimetype != "application/json":
        raise UnsupportedMediaType(wrong_type)
    body = read_body(MAX_BODY)
    svc: Services = current_app.extensions["nsw"]
    device = authenticate_device(
        request, body, registry=svc.checkpoint.registry, trust=svc.trust,
        nonces=svc.nonces, clock=svc.clock,
    )  # fmt: skip
    return body, device
