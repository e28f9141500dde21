"""The gateway's HTTP message signature profile (RFC 9421 with RFC 9530 Content-Digest).

Every request and answer between the gateway and a REST agency carries `Content-Digest: sha-256=`
of the exact body and one signature labelled "nsw" (rsa-v1_5-sha256) whose `Signature-Input`
covers, for a request, "@method" "@target-uri" "content-type" "content-digest", and for a
response "@status" "content-type" "content-digest", with `created` and `keyid` (the SHA-256
fingerprint of the signer's certificate). Built on the `http-message-signatures` library; the
simulators implement the same profile on their side.

An answer is bound to the request it answers (RFC 9421 §2.4): the response signature also covers
the request's "@method";req, "@target-uri";req, "content-digest";req (so the exact request body)
and "signature";key="nsw";req (the request's own signature value). Every signature made here
carries a random `nonce` (§2.3), so two requests for the same case with the same body in the same
second still have different signatures: a signed answer recorded for one request does not verify
as the answer to any other, however fresh it is. The verifier resolves the `;req` components from
the request the gateway itself sent, never from anything in the answer.

Verification pins the key: the signature must verify with the one public key configured for the
sender, cover the profile's components, be fresh (created within the allowed skew and age), and the
digest must match the body that was received. Nothing here keeps per-call state.

A request signed to the profile and an answer signed exactly to it (one "nsw" signature over the
profile's components, fields in their canonical form) are signed and verified in one pass over
plain strings (`wire.sigbase`: the library's signature base, its checks, a third of its CPU);
anything else is signed or verified by the library itself, which also words every refusal.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import http_sf
from cryptography import x509
from cryptography.exceptions import InvalidSignature as CryptoInvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from http_message_signatures import (
    ContentDigest,
    HTTPMessageSignaturesException,
    HTTPMessageSigner,
    HTTPMessageVerifier,
    InvalidSignature,
    MappingKeyResolver,
    PreparedSignature,
    algorithms,
)
from http_sf.compat import Dictionary, Item

from wire import sigbase

LABEL = "nsw"
ALGORITHM: Any = algorithms.RSA_V1_5_SHA256  # the library's classes are untyped
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
MAX_AGE = dt.timedelta(minutes=5)


class UntrustedHttpMessage(ValueError):
    """The message is unsigned, signed by another key, over the wrong parts, stale, or its body
    does not match its Content-Digest."""


@functools.lru_cache(maxsize=64)
def key_id(cert: x509.Certificate) -> str:
    """The keyid a party signs with: the SHA-256 fingerprint of its certificate (hex). Computed
    once per certificate: every signed request and every verified answer names one."""
    return hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()


@dataclass
class HttpMessage:
    """A request (method, url) or a response (status_code) with its header fields, as the
    signature library reads them. `headers` is written to when signing."""

    headers: dict[str, str]
    method: str | None = None
    url: str | None = None
    status_code: int | None = None

    def view(self) -> Any:
        if self.status_code is not None:
            return _Response(self.status_code, self.headers)
        return _Request(str(self.method), str(self.url), self.headers)


@dataclass
class _Request:
    method: str
    url: str
    headers: dict[str, str]


@dataclass
class _Response:
    status_code: int
    headers: dict[str, str]
    request: Any = None  # the request answered: what `;req` components are read from


@dataclass
class _AnswerTo:
    """A received response viewed with the request the gateway sent (RFC 9421 §2.4)."""

    status_code: int
    headers: Any
    request: Any


def sign(
    message: Any,
    body: bytes,
    key: rsa.RSAPrivateKey,
    cert: x509.Certificate,
    *,
    now: dt.datetime,
    components: Sequence[str],
) -> None:
    """Add Content-Digest, Signature-Input and Signature to `message` (anything with `headers`
    and either method+url or status_code, e.g. a `requests.PreparedRequest`; a response signed
    over `;req` components also needs `request`). The signature carries a random nonce."""
    kid = key_id(cert)
    nonce = secrets.token_urlsafe(16)
    if _sign_request(message, body, key, kid, now, nonce, components):
        return
    # The library's prepare() builds and checks the signature base; its sign() would then call
    # apply(), which parses the signature parameters prepare() has just written and builds the
    # base a second time (to catch a message changed while an external signer worked). The
    # signing happens here, in this call, so the fields are set from prepare()'s output at once.
    prepared = _signer().prepare(
        message,
        key_id=kid,
        created=now,
        nonce=nonce,
        label=LABEL,
        covered_component_ids=tuple(components),
        body=body,
    )
    attach(message, prepared, ALGORITHM(private_key=key).sign(prepared.signature_base))


_REQUEST_LIST = sigbase.components_list(REQUEST_COMPONENTS)
_RESPONSE_LIST = sigbase.components_list(RESPONSE_COMPONENTS)
_SIGNED_FIELDS = frozenset({"content-type", "content-digest", "signature-input", "signature"})


def _sign_request(
    message: Any,
    body: bytes,
    key: rsa.RSAPrivateKey,
    kid: str,
    now: dt.datetime,
    nonce: str,
    components: Sequence[str],
) -> bool:
    """Sign a request over exactly `REQUEST_COMPONENTS` in one pass (`wire.sigbase`): the
    fields the library's prepare() and apply() would write (a test holds them equal). False,
    with nothing changed, for any message the library must handle (a response, another list of
    components, a Content-Digest already there, a URL or value outside `sigbase`'s patterns)."""
    if tuple(components) != REQUEST_COMPONENTS or hasattr(message, "status_code"):
        return False
    method, uri = sigbase.method(message.method), sigbase.target_uri(str(message.url))
    lines = sigbase.fields(message.headers, _SIGNED_FIELDS)
    if method is None or uri is None or lines is None or "content-digest" in lines:
        return False
    if len(lines.get("content-type", ())) != 1:
        return False
    digest = sigbase.content_digest(body)
    signed = sigbase.signature_fields(
        LABEL,
        _REQUEST_LIST,
        (
            ("created", int(now.timestamp())),
            ("keyid", kid),
            ("alg", ALGORITHM.algorithm_id),
            ("nonce", nonce),
        ),
        (
            ('"@method"', method),
            ('"@target-uri"', uri),
            ('"content-type"', lines["content-type"][0]),
            ('"content-digest"', digest),
        ),
        key,
    )
    if signed is None:
        return False
    message.headers["Content-Digest"] = digest
    _set_signature_fields(message, *signed)
    return True


@functools.cache
def _signer() -> Any:
    # prepare() resolves no key, and the signer keeps no per-call state: one serves every call.
    return HTTPMessageSigner(signature_algorithm=ALGORITHM)


def attach(message: Any, prepared: PreparedSignature, signature: bytes) -> None:
    """Set the Signature-Input and Signature fields for `prepared`, signed as `signature`,
    replacing any there: the fields `HTTPMessageSigner.apply` writes (a test holds them equal)."""
    _set_signature_fields(
        message,
        f"{prepared.label}={prepared.signature_params}",
        str(Dictionary({prepared.label: signature})),
    )


def _set_signature_fields(message: Any, signature_input: str, signature: str) -> None:
    for name in [n for n in message.headers if n.lower() in ("signature-input", "signature")]:
        del message.headers[name]
    message.headers["Signature-Input"] = signature_input
    message.headers["Signature"] = signature


class _Verifier(HTTPMessageVerifier):
    """The library's verifier with our clock and skew (it reads the system clock otherwise)."""

    def __init__(self, key: rsa.RSAPublicKey, kid: str, now: dt.datetime, skew: dt.timedelta):
        super().__init__(
            signature_algorithm=ALGORITHM,
            key_resolver=MappingKeyResolver(public_keys={kid: key}, private_keys={}),
        )
        self._now, self._skew = now, skew

    def validate_created_and_expires(self, sig_input: Any, max_age: Any = None) -> None:
        refused = _outside_window(sig_input.params, self._now, self._skew)
        if refused:
            raise InvalidSignature(refused)


def _outside_window(params: Mapping[str, Any], now: dt.datetime, skew: dt.timedelta) -> str | None:
    """Why `created`/`expires` put a signature outside the window, or None: created within
    `skew` of now and at most `MAX_AGE` old, `expires` (if any) an integer not passed. Compared
    as integers, so that no value, however large, is an error other than a refusal."""
    created, expires = params.get("created"), params.get("expires")
    if type(created) is not int:
        return 'the signature has no integer "created" parameter'
    if created > (now + skew).timestamp():
        return "the signature was created in the future"
    if created < (now - skew - MAX_AGE).timestamp():
        return "the signature is too old"
    if "expires" in params and (type(expires) is not int or expires <= (now - skew).timestamp()):
        return "the signature has expired"
    return None


@dataclass(frozen=True)
class VerifiedHttpMessage:
    """What verification proved: the body (matching the signed digest) and the signer."""

    body: bytes
    signer: x509.Certificate
    created: int


def verify(
    message: Any,
    body: bytes,
    pinned: x509.Certificate,
    *,
    now: dt.datetime,
    skew: dt.timedelta,
    components: Sequence[str],
    request: Any = None,
) -> VerifiedHttpMessage:
    """Verify `message` (its headers, method+url or status_code) and `body` against the pinned
    certificate's key, or raise `UntrustedHttpMessage`. For an answer, `request` is the request
    the gateway sent (a `requests.PreparedRequest`): `;req` components are read from it, so an
    answer signed for any other request does not verify."""
    public_key = pinned.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise UntrustedHttpMessage("the pinned certificate has no RSA key")
    fast = _verify_profile(message, body, pinned, public_key, now, skew, components, request)
    if fast is not None:
        return fast
    if request is not None:
        message = _AnswerTo(message.status_code, message.headers, request)
    # Step 1: exactly our label; the library refuses other algorithms, unknown parameters and a
    # keyid other than the pinned certificate's.
    verifier = _Verifier(public_key, key_id(pinned), now, skew)
    try:
        results = verifier.verify(message, expect_tag=None)
        # Step 2: it covers the profile's components. Exactly the profile's serialisation is
        # checked here; anything else (the same components with their parameters in another
        # order, or a component missing) goes through the library's own check, which accepts
        # the one and names the other.
        covered = results[0].covered_components if len(results) == 1 else {}
        if not _covered_keys(tuple(components)) <= covered.keys():
            verifier.verify(message, expect_tag=None, require_components=tuple(components))
        # Step 3: the signed Content-Digest matches `body` (RFC 9530). The message's own digest
        # field, covered, is checked directly; otherwise the library looks for a covered digest.
        if '"content-digest"' in covered:
            ContentDigest.verify(covered['"content-digest"'], body)
        elif verifier.verify_body(message, results, body)[0].body != body:
            raise InvalidSignature("The message body requires a signed Content-Digest")
    except (InvalidSignature, HTTPMessageSignaturesException) as exc:
        raise UntrustedHttpMessage(f"the HTTP message signature does not verify: {exc}") from exc
    if len(results) != 1 or results[0].label != LABEL:
        raise UntrustedHttpMessage("the signature does not cover the message body")
    return VerifiedHttpMessage(body, pinned, int(results[0].parameters["created"]))


_PARAMETERS = frozenset({"alg", "created", "expires", "keyid", "nonce", "tag"})


def _verify_profile(
    message: Any,
    body: bytes,
    pinned: x509.Certificate,
    public_key: rsa.RSAPublicKey,
    now: dt.datetime,
    skew: dt.timedelta,
    components: Sequence[str],
    request: Any,
) -> VerifiedHttpMessage | None:
    """A request or an answer signed exactly to the profile (one "nsw" signature over exactly
    `REQUEST_COMPONENTS` or `RESPONSE_COMPONENTS`, fields in `wire.sigbase`'s patterns),
    verified in one pass; None for anything else or anything that fails here: `verify` then
    gives the message to the library for its verdict and its words. The checks are the
    library's (`_Verifier`, `_verify_one`, `ContentDigest.verify`) for this shape: parameters
    only those RFC 9421 §2.3 defines, with their types; `keyid` the pinned certificate's; `alg`,
    if given, ours; `created` and `expires` within the window; the digest signed is the body's;
    the signature verifies with the pinned key over the base the library would build."""
    # Step 1: the components' values, from the message and (`;req`) from the request we sent.
    values: list[tuple[str, str | None]]
    if request is not None and tuple(components) == RESPONSE_COMPONENTS:
        if not hasattr(message, "status_code"):
            return None
        sent = sigbase.fields(request.headers, _SIGNED_FIELDS)
        if sent is None or [len(sent.get(n, ())) for n in ("content-digest", "signature")] != [
            1,
            1,
        ]:
            return None
        sent_signature = sigbase.read_signature(sent["signature"][0], LABEL)
        values = [
            ('"@status"', str(message.status_code)),
            ('"@method";req', sigbase.method(request.method)),
            ('"@target-uri";req', sigbase.target_uri(str(request.url))),
            ('"content-digest";req', sent["content-digest"][0]),
            (
                f'"signature";key="{LABEL}";req',
                None if sent_signature is None else sigbase.byte_sequence(sent_signature),
            ),
        ]
        listed = _RESPONSE_LIST
    elif request is None and tuple(components) == REQUEST_COMPONENTS:
        if hasattr(message, "status_code"):
            return None
        values = [
            ('"@method"', sigbase.method(message.method)),
            ('"@target-uri"', sigbase.target_uri(str(message.url))),
        ]
        listed = _REQUEST_LIST
    else:
        return None
    lines = sigbase.fields(message.headers, _SIGNED_FIELDS)
    if lines is None or any(len(lines.get(name, ())) != 1 for name in _SIGNED_FIELDS):
        return None
    values += [('"content-type"', lines["content-type"][0])]
    values += [('"content-digest"', lines["content-digest"][0])]
    read = sigbase.read_params(lines["signature-input"][0], LABEL, listed)
    signature = sigbase.read_signature(lines["signature"][0], LABEL)
    if read is None or signature is None:
        return None
    signature_params, params = read
    # Step 2: the parameters (`_Verifier.validate_created_and_expires`, `_verify_one`).
    created = params.get("created")
    if (
        not params.keys() <= _PARAMETERS
        or any(not isinstance(params.get(n, ""), str) for n in ("alg", "keyid", "nonce", "tag"))
        or type(created) is not int
        or params["keyid"] != key_id(pinned)
        or params.get("alg", ALGORITHM.algorithm_id) != ALGORITHM.algorithm_id
        or _outside_window(params, now, skew)
    ):
        return None
    # Step 3: the digest signed is the body's (RFC 9530).
    digest = sigbase.digest_of(lines["content-digest"][0])
    if digest is None or not hmac.compare_digest(digest, hashlib.sha256(body).digest()):
        return None
    # Step 4: the signature over the base, in the order the components are listed.
    by_id = dict(values)
    ordered = [(c if c.startswith('"') else f'"{c}"') for c in components]
    resolved = [(c, by_id[c]) for c in ordered]
    if any(value is None for _, value in resolved):
        return None
    signed = sigbase.base([(c, str(v)) for c, v in resolved], signature_params)
    if signed is None:
        return None
    try:
        public_key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
    except CryptoInvalidSignature:
        return None
    return VerifiedHttpMessage(body, pinned, created)


@functools.lru_cache(maxsize=16)
def _covered_keys(components: tuple[str, ...]) -> frozenset[str]:
    """`components` as `VerifyResult.covered_components` names them: each a serialised
    Structured Field String with its parameters (RFC 9421 §2)."""
    keys = set()
    for component in components:
        item = Item()
        item.parse((component if component.startswith('"') else http_sf.ser(component)).encode())
        keys.add(str(item))
    return frozenset(keys)


def header_items(headers: Iterable[tuple[str, str]] | Mapping[str, str]) -> dict[str, str]:
    """Header fields as a plain dict (repeated fields joined with ', ', RFC 9110 §5.3)."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    joined: dict[str, str] = {}
    for name, value in pairs:
        joined[name] = f"{joined[name]}, {value}" if name in joined else value
    return joined
