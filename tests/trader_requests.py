"""Signing trader requests in tests (RFC 9421, the gateway's profile) for the Flask test client."""

from __future__ import annotations

import datetime as dt
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization

from gateway.cli.client import GatewayClient
from gateway.clock import system_clock
from gateway.pki.dev import DevPki
from gateway.trust.http_signatures import TRADER_TAG, PrivateKey, RequestView, Tag, sign_request
from gateway.trust.xmlsig import SigningIdentity


def identity(pki: DevPki, slug: str) -> SigningIdentity:
    return SigningIdentity.from_files(
        pki.key_path(slug), pki.cert_path(slug), pki.directory / "issuing-ca.pem"
    )


def keyid_of(who: SigningIdentity) -> str:
    return who.certificate.fingerprint(hashes.SHA256()).hex()


def signature_headers(
    who: SigningIdentity,
    path: str,
    *,
    method: str = "GET",
    now: dt.datetime | None = None,
    nonce: str | None = None,
    keyid: str | None = None,
    body: bytes | None = None,
    tag: Tag = TRADER_TAG,
) -> dict[str, str]:
    """Signature-Input and Signature (and Content-Digest) headers for `method path`, tagged
    `tag` (a trader's, unless a test signs for another purpose)."""
    key = serialization.load_pem_private_key(who.key_pem, password=None)
    assert isinstance(key, PrivateKey)
    view = RequestView(method, f"http://localhost{path}", {})
    sign_request(
        view,
        key,
        keyid or keyid_of(who),
        tag=tag,
        now=now or system_clock(),
        body=body,
        nonce=nonce,
    )
    return dict(view.headers)


def registered_trader(gw: Any, pki: DevPki, slug: str) -> GatewayClient:
    """The trader's own client against a running gateway `gw`, its certificate registered by the
    operators (nsw traders register) so that it can sign requests before it has lodged anything."""
    who = identity(pki, slug)
    gw.services.trader_certs.register(gw.services.trust.verify(who.certificate), "operator")
    return GatewayClient(gw.url, identity=who)
