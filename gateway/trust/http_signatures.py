"""HTTP Message Signatures (RFC 9421): traders reading their applications, checkpoint devices
reporting their readings.

Built on the `http-message-signatures` package (the pyauth implementation of RFC 9421), with a
trader's read verified in one pass over `wire.sigbase`; this module holds the gateway's profile of
it (its parameter rules in `http_signature_params`), used by both sides:

- covered components: "@method", "@path" and "@query" (RFC 9421 §2.2), plus "content-digest"
  (RFC 9530) whenever a request has a body; "@authority" and "@target-uri" are not required, so a
  TLS-terminating proxy in front of the gateway does not break signatures;
- parameters (§2.3): `keyid` = SHA-256 fingerprint of the signer's certificate (hex), `created`,
  `expires`, `nonce` and `tag` are all required; `alg` is optional;
- the tag names the purpose (§2.3: an application-specific tag identifies the signatures meant for
  one application): traders sign with `tag="nsw-trader"`, devices with `tag="nsw-device"`. Each side
  looks only for its own tag, so a signature made for one purpose is never accepted for the other;
- replay window: `created` at most `MAX_AGE` old and at most `CLOCK_SKEW` in the future, `expires`
  (if given) not passed, and each (keyid, nonce) accepted once while the window is open (§7.2.2);
- algorithms by the certificate's key (§3.3): RSA → rsa-pss-sha512 (rsa-v1_5-sha256 also
  accepted), P-256 → ecdsa-p256-sha256, P-384 → ecdsa-p384-sha384, Ed25519 → ed25519. Never HMAC:
  the key must be the certificate's.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import http_sf
from cryptography.exceptions import InvalidSignature as CryptoInvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from http_message_signatures import (
    HTTPMessageSigner,
    HTTPMessageVerifier,
    HTTPSignatureAlgorithm,
    MappingKeyResolver,
    algorithms,
)
from http_message_signatures.exceptions import HTTPMessageSignaturesException, InvalidSignature

from gateway.clock import Clock
from gateway.trust.http_signature_params import CLOCK_SKEW as CLOCK_SKEW
from gateway.trust.http_signature_params import MAX_AGE as MAX_AGE
from gateway.trust.http_signature_params import SignatureRefused as SignatureRefused
from gateway.trust.http_signature_params import check_params as check_params
from gateway.trust.http_signature_params import outside_window
from wire import sigbase

Tag = Literal["nsw-trader", "nsw-device"]
TRADER_TAG: Tag = "nsw-trader"  # a trader reading its applications (gateway.web.trader_auth)
DEVICE_TAG: Tag = "nsw-device"  # a checkpoint device or tracker (gateway.checkpoint.device_auth)
TAGS: tuple[Tag, ...] = (TRADER_TAG, DEVICE_TAG)
LABEL = "nsw"
COVERED = ("@method", "@path", "@query")
LIFETIME = dt.timedelta(seconds=60)  # what our own client puts in `expires`

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
_BY_ID: dict[str, type[HTTPSignatureAlgorithm]] = {
    a.algorithm_id: a
    for a in (
        algorithms.RSA_PSS_SHA512,
        algorithms.RSA_V1_5_SHA256,
        algorithms.ECDSA_P256_SHA256,
        algorithms.ECDSA_P384_SHA384,
        algorithms.ED25519,
    )
}


def algorithm_for(key: object, alg: str | None = None) -> type[HTTPSignatureAlgorithm]:
    """The algorithm for a certificate's key; `alg` (the signed parameter) picks among the ones the
    key type allows. HMAC and unknown key types are refused."""
    allowed: tuple[str, ...]
    if isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        allowed = ("rsa-pss-sha512", "rsa-v1_5-sha256")
    elif isinstance(key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey):
        by_curve = {"secp256r1": ("ecdsa-p256-sha256",), "secp384r1": ("ecdsa-p384-sha384",)}
        allowed = by_curve.get(key.curve.name, ())
    elif isinstance(key, ed25519.Ed25519PublicKey | ed25519.Ed25519PrivateKey):
        allowed = ("ed25519",)
    else:
        allowed = ()
    if not allowed:
        raise SignatureRefused("the certificate's key type cannot sign HTTP requests")
    if alg is None:
        return _BY_ID[allowed[0]]
    if alg not in allowed:
        raise SignatureRefused(f"algorithm {alg!r} is not allowed for this certificate's key")
    return _BY_ID[alg]


@dataclass(frozen=True)
class RequestView:
    """What RFC 9421 needs of a request: method, absolute encoded URL, header field lines."""

    method: str
    url: str
    headers: Any  # needs items() (and, to sign, item assignment and deletion)


def sign_request(
    request: RequestView,
    key: PrivateKey,
    keyid: str,
    *,
    tag: Tag,
    now: dt.datetime,
    body: bytes | None = None,
    nonce: str | None = None,
) -> None:
    """Add Signature-Input and Signature (and Content-Digest for a body) to `request.headers`,
    tagged `tag` (the purpose: `TRADER_TAG` or `DEVICE_TAG`)."""
    covered = COVERED + (("content-digest",) if body else ())
    signer = HTTPMessageSigner(
        signature_algorithm=algorithm_for(key),
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={keyid: key}),
    )
    signer.sign(
        request,
        key_id=keyid,
        created=now,
        expires=now + LIFETIME,
        nonce=nonce or secrets.token_urlsafe(18),
        label=LABEL,
        tag=tag,
        covered_component_ids=covered,
        body=body or None,
    )


@dataclass(frozen=True)
class SignedBy:
    """A verified request signature: which key, and the nonce to be recorded as used."""

    keyid: str
    nonce: str
    created: dt.datetime


def _tagged_params(headers: Iterable[tuple[str, str]], tag: Tag) -> list[dict[str, Any]]:
    """The parameters of every Signature-Input member tagged `tag`, in order. A request that
    carries only signatures with another of our tags is refused saying so: it was signed for
    another purpose (a trader's read is not a device's event, and the other way round)."""
    values = [v for k, v in headers if k.lower() == "signature-input"]
    if not values:
        raise SignatureRefused("the request carries no Signature-Input header")
    try:
        parsed: Any = http_sf.parse(", ".join(values).encode(), tltype="dictionary")
    except Exception as exc:  # http_sf raises ValueError and friends on any malformed input
        raise SignatureRefused("the Signature-Input header is not a valid dictionary") from exc
    tagged, others = [], set()
    for member in parsed.values():
        params = member[1] if isinstance(member, tuple) and len(member) == 2 else None
        if isinstance(params, dict) and params.get("tag") == tag:
            tagged.append(dict(params))
        elif isinstance(params, dict) and params.get("tag") in TAGS:
            others.add(str(params["tag"]))
    if not tagged and others:
        found = ", ".join(f'tag="{t}"' for t in sorted(others))
        raise SignatureRefused(
            f"the request is signed with {found}, made for another purpose; this endpoint accepts "
            f'only tag="{tag}"'
        )
    return tagged


def requested_keyid(headers: Iterable[tuple[str, str]], tag: Tag) -> str:
    """The keyid of the request's signature tagged `tag` (before anything is verified), once its
    parameters are within the profile's bounds (`check_params`)."""
    items = list(headers)
    found = _profile_keyid(items, tag)
    if found is not None:
        return found
    tagged = _tagged_params(items, tag)
    if len(tagged) != 1 or not isinstance(tagged[0].get("keyid"), str):
        raise SignatureRefused(f'exactly one signature with tag="{tag}" and a keyid is required')
    check_params(tagged[0])
    keyid: str = tagged[0]["keyid"]
    return keyid


class _Items:
    """Header lines as `sigbase.fields` reads them (anything with `items()`)."""

    def __init__(self, items: list[tuple[str, str]]) -> None:
        self._items = items

    def items(self) -> list[tuple[str, str]]:
        return self._items


def _profile_keyid(items: list[tuple[str, str]], tag: Tag) -> str | None:
    """`requested_keyid` for a Signature-Input of one field line holding one "nsw" member as
    `sign_request` writes it, read with `wire.sigbase`'s strict patterns instead of a whole
    Structured Fields parse (issue 17: a trader's every read); None for anything else, or
    anything refused, which the whole parse then reads and words. What this accepts, the whole
    parse reads as the same single member (tests/unit/trust/test_http_signature_reads.py)."""
    lines = sigbase.fields(_Items(items), _SIGNATURE_INPUT)
    inputs = None if lines is None else lines.get("signature-input", ())
    if inputs is None or len(inputs) != 1:
        return None
    read = sigbase.read_params(inputs[0], LABEL, _PROFILE_LIST)
    if read is None:
        return None
    params = read[1]
    keyid = params.get("keyid")
    if params.get("tag") != tag or not isinstance(keyid, str):
        return None
    try:
        check_params(params)
    except SignatureRefused:
        return None
    return keyid


class _Verifier(HTTPMessageVerifier):
    """The library's verifier with our clock and replay window instead of its own."""

    def __init__(
        self, algorithm: type[HTTPSignatureAlgorithm], keyid: str, key: PublicKey, clock: Clock
    ):
        super().__init__(
            signature_algorithm=algorithm,
            key_resolver=MappingKeyResolver(public_keys={keyid: key}, private_keys={}),
        )
        self._clock = clock

    def validate_created_and_expires(self, sig_input: Any, max_age: Any = None) -> None:
        params = sig_input.params
        for name in ("created", "expires", "nonce"):
            if name not in params:
                raise InvalidSignature(f'the signature has no "{name}" parameter')
        refused = outside_window(params, self._clock())
        if refused:
            raise InvalidSignature(refused)


def verify_request(
    request: RequestView,
    keyid: str,
    key: PublicKey,
    clock: Clock,
    body: bytes = b"",
    *,
    tag: Tag,
) -> SignedBy:
    """Verify the signature of `request` tagged `tag`, made with `key`, under the profile above.
    A signature with any other tag is not looked at."""
    signed = _one_profile_signature(request, keyid, key, clock, body, tag)
    if signed is not None:
        return signed
    try:
        alg = _signed_params(request, keyid, tag).get("alg")
        verifier = _Verifier(
            algorithm_for(key, alg if isinstance(alg, str) else None), keyid, key, clock
        )
        results = verifier.verify(
            request,
            max_age=MAX_AGE,
            expect_tag=tag,
            require_components=COVERED,
            body=body,
        )
    except (InvalidSignature, HTTPMessageSignaturesException, ValueError, TypeError) as exc:
        raise SignatureRefused(str(exc) or type(exc).__name__) from exc
    (result,) = results
    if result.parameters.get("keyid") != keyid:
        raise SignatureRefused("the signature was made with another key")
    created = result.parameters["created"]
    assert isinstance(created, int)
    return SignedBy(keyid, str(result.nonce), dt.datetime.fromtimestamp(created, dt.UTC))


def _signed_params(request: RequestView, keyid: str, tag: Tag) -> dict[str, Any]:
    for params in _tagged_params(request.headers.items(), tag):
        if params.get("keyid") == keyid:
            return params
    raise SignatureRefused("no signature for this key")


# What a trader's client sends for a read (`nsw status`, `sign_request` without a body): one
# "nsw" Signature-Input member and one Signature member, covering exactly these, unparameterised.
_PROFILE_LIST = sigbase.components_list(COVERED)
_FIELDS = frozenset({"signature-input", "signature", "content-digest"})
_SIGNATURE_INPUT = frozenset({"signature-input"})
_PARAMETERS = frozenset({"alg", "created", "expires", "keyid", "nonce", "tag"})


def _one_profile_signature(
    request: RequestView, keyid: str, key: PublicKey, clock: Clock, body: bytes, tag: Tag
) -> SignedBy | None:
    """The signature of a bodiless request signed exactly as `sign_request` signs it, verified in
    one pass over `wire.sigbase`'s strict patterns; None for anything else (or anything that
    fails here), which `verify_request` then gives to the library's whole verification for its
    verdict and its words. The checks are the library's and `_Verifier`'s for this shape
    (tests/unit/trust/test_http_signature_reads.py holds each): a body or a Content-Digest field
    is never taken here."""
    # Step 1: one "nsw" member in each field, covering exactly "@method" "@path" "@query".
    if body:
        return None
    lines = sigbase.fields(request.headers, _FIELDS)
    if lines is None or "content-digest" in lines:
        return None
    inputs, signatures = lines.get("signature-input", ()), lines.get("signature", ())
    if len(inputs) != 1 or len(signatures) != 1:
        return None
    read = sigbase.read_params(inputs[0], LABEL, _PROFILE_LIST)
    signature = sigbase.read_signature(signatures[0], LABEL)
    if read is None or signature is None:
        return None
    signature_params, params = read
    # Step 2: the parameters: only RFC 9421 §2.3's, with their types; ours (tag, keyid, the
    # profile's bounds, the key's algorithm); `created`/`expires` in the window; a nonce.
    alg, nonce = params.get("alg"), params.get("nonce")
    if (
        not params.keys() <= _PARAMETERS
        or any(not isinstance(params.get(n, ""), str) for n in ("alg", "keyid", "nonce", "tag"))
        or params.get("tag") != tag
        or params.get("keyid") != keyid
        or not isinstance(nonce, str)
        or outside_window(params, clock())
    ):
        return None
    try:
        check_params(params)
        algorithm = algorithm_for(key, alg if isinstance(alg, str) else None)
    except SignatureRefused:
        return None
    # Step 3: the signature base (RFC 9421 §2.5) and the signature over it with the key.
    method, target = sigbase.method(request.method), sigbase.path_and_query(request.url)
    if method is None or target is None:
        return None
    values = [('"@method"', method), ('"@path"', target[0]), ('"@query"', target[1])]
    signed = sigbase.base(values, signature_params)
    if signed is None:
        return None
    try:
        algorithm(public_key=key).verify(signature=signature, message=signed)
    except (CryptoInvalidSignature, HTTPMessageSignaturesException, ValueError, TypeError):
        return None
    created = params["created"]
    assert isinstance(created, int)  # `_outside_window` held it
    return SignedBy(keyid, nonce, dt.datetime.fromtimestamp(created, dt.UTC))
