"""The one-pass RFC 9421 path (wire/sigbase.py, used by wire/httpsig.py): what it writes is what
the library writes, what it accepts the library accepts, and each of its checks refuses what it
exists to refuse (a refusal here hands the message to the library, which refuses it too)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from http_message_signatures import (
    HTTPMessageSigner,
    HTTPMessageVerifier,
    HTTPSignatureComponentResolver,
    MappingKeyResolver,
    algorithms,
)

from tests.unit.wire.conftest import BODY, NOW, SKEW, Keys
from wire import httpsig, sigbase
from wire.httpsig import HttpMessage, UntrustedHttpMessage


def request(keys: Keys, url: str = "http://127.0.0.1:9/cases", body: bytes = b'{"a":1}') -> Any:
    view = HttpMessage({"Content-Type": "application/json"}, method="POST", url=url).view()
    httpsig.sign(view, body, *keys, now=NOW, components=httpsig.REQUEST_COMPONENTS)
    return view


def prepared_answer(
    keys: Keys, sent: Any, *, body: bytes = BODY, algorithm: Any = httpsig.ALGORITHM, **kw: Any
) -> tuple[Any, Any]:
    """An answer to `sent` over the profile's components, prepared (not yet signed) by the
    library; `kw` are prepare()'s parameters (created, expires, nonce, tag, key_id)."""
    kw.setdefault("key_id", httpsig.key_id(keys[1]))
    kw.setdefault("created", NOW)
    view: Any = HttpMessage({"Content-Type": "application/json"}, status_code=200).view()
    view.request = sent
    prepared = HTTPMessageSigner(signature_algorithm=algorithm).prepare(
        view, label="nsw", covered_component_ids=httpsig.RESPONSE_COMPONENTS, body=body, **kw
    )
    return view, prepared


def signed(keys: Keys, view: Any, params: str, signature_base: bytes) -> Any:
    """`view` with Signature-Input `params`, signed over `signature_base` by `keys`."""
    signature = httpsig.ALGORITHM(private_key=keys[0]).sign(signature_base)
    view.headers["Signature-Input"] = f"nsw={params}"
    view.headers["Signature"] = "nsw=" + sigbase.byte_sequence(signature)
    return view


def answer(keys: Keys, sent: Any, **kw: Any) -> Any:
    view, prepared = prepared_answer(keys, sent, **kw)
    return signed(keys, view, prepared.signature_params, prepared.signature_base)


def public(cert: x509.Certificate) -> rsa.RSAPublicKey:
    key = cert.public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    return key


def one_pass(keys: Keys, sent: Any, message: Any, body: bytes = BODY) -> Any:
    pinned = keys[1]
    return httpsig._verify_profile(
        message, body, pinned, public(pinned), NOW, SKEW, httpsig.RESPONSE_COMPONENTS, sent
    )


def verify(keys: Keys, sent: Any, message: Any, body: bytes = BODY) -> Any:
    return httpsig.verify(
        message,
        body,
        keys[1],
        now=NOW,
        skew=SKEW,
        components=httpsig.RESPONSE_COMPONENTS,
        request=sent,
    )


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9/cases", "https://agency.example/api/v1/cases", "http://a:8080"]
)
def test_a_request_is_signed_as_the_library_signs_it(
    gateway_keys: Keys, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    key, cert = gateway_keys
    monkeypatch.setattr("wire.httpsig.secrets.token_urlsafe", lambda n: "fixed-nonce_0")
    ours = HttpMessage({"Content-Type": "application/json", "Idempotency-Key": "k"}, "POST", url)
    theirs = HttpMessage(dict(ours.headers), "POST", url)
    httpsig.sign(ours.view(), BODY, key, cert, now=NOW, components=httpsig.REQUEST_COMPONENTS)
    kid = httpsig.key_id(cert)
    HTTPMessageSigner(
        signature_algorithm=httpsig.ALGORITHM,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={kid: key}),
    ).sign(
        theirs.view(),
        key_id=kid,
        created=NOW,
        nonce="fixed-nonce_0",
        label="nsw",
        covered_component_ids=httpsig.REQUEST_COMPONENTS,
        body=BODY,
    )
    assert ours.headers == theirs.headers  # RSA PKCS#1 v1.5 is deterministic: same base


def test_a_signed_request_verifies_with_the_library_alone(gateway_keys: Keys) -> None:
    sent = request(gateway_keys)
    kid = httpsig.key_id(gateway_keys[1])
    (result,) = HTTPMessageVerifier(
        signature_algorithm=httpsig.ALGORITHM,
        key_resolver=MappingKeyResolver(
            public_keys={kid: public(gateway_keys[1])}, private_keys={}
        ),
    ).verify(sent, max_age=None, require_components=httpsig.REQUEST_COMPONENTS, body=b'{"a":1}')
    assert result.body == b'{"a":1}' and result.parameters["keyid"] == kid


def test_a_request_the_patterns_do_not_cover_is_signed_by_the_library(
    gateway_keys: Keys,
) -> None:
    # A query string is outside `sigbase.target_uri`: the library signs (and verifies) it.
    sent = request(gateway_keys, url="http://127.0.0.1:9/cases?x=%20")
    assert sigbase.target_uri("http://127.0.0.1:9/cases?x=%20") is None
    verified = httpsig.verify(
        sent, b'{"a":1}', gateway_keys[1], now=NOW, skew=SKEW, components=httpsig.REQUEST_COMPONENTS
    )
    assert verified.body == b'{"a":1}'


def test_a_genuine_answer_and_request_verify_in_one_pass(
    gateway_keys: Keys, agency_keys: Keys
) -> None:
    sent = request(gateway_keys)
    assert one_pass(agency_keys, sent, answer(agency_keys, sent)) is not None
    pinned = gateway_keys[1]
    assert httpsig._verify_profile(
        sent, b'{"a":1}', pinned, public(pinned), NOW, SKEW, httpsig.REQUEST_COMPONENTS, None
    )


def test_an_answer_with_an_expires_still_open_verifies_in_one_pass(
    gateway_keys: Keys, agency_keys: Keys
) -> None:
    sent = request(gateway_keys)
    message = answer(agency_keys, sent, expires=NOW + dt.timedelta(minutes=1), tag="t")
    assert one_pass(agency_keys, sent, message) is not None


def _stale(keys: Keys, sent: Any) -> Any:
    return answer(keys, sent, created=NOW - SKEW - httpsig.MAX_AGE - dt.timedelta(seconds=1))


def _future(keys: Keys, sent: Any) -> Any:
    return answer(keys, sent, created=NOW + SKEW + dt.timedelta(seconds=1))


def _expired(keys: Keys, sent: Any) -> Any:
    return answer(keys, sent, expires=NOW - SKEW)


def _other_keyid(keys: Keys, sent: Any) -> Any:
    return answer(keys, sent, key_id="0" * 64)


def _other_alg(keys: Keys, sent: Any) -> Any:
    # Parameters naming rsa-pss-sha512, signed with PKCS#1 v1.5 by the pinned key.
    view, prepared = prepared_answer(keys, sent, algorithm=algorithms.RSA_PSS_SHA512)
    assert 'alg="rsa-pss-sha512"' in prepared.signature_params
    return signed(keys, view, prepared.signature_params, prepared.signature_base)


def _unknown_parameter(keys: Keys, sent: Any) -> Any:
    view, prepared = prepared_answer(keys, sent)
    extra = ';purpose="x"'
    return signed(
        keys, view, prepared.signature_params + extra, prepared.signature_base + b';purpose="x"'
    )


def _string_created(keys: Keys, sent: Any) -> Any:
    view, prepared = prepared_answer(keys, sent)
    created = f";created={int(NOW.timestamp())}"
    params = prepared.signature_params.replace(created, f';created="{int(NOW.timestamp())}"')
    base = prepared.signature_base.replace(
        created.encode(), f';created="{int(NOW.timestamp())}"'.encode()
    )
    return signed(keys, view, params, base)


def _far_future_created(keys: Keys, sent: Any) -> Any:
    # Past any year a datetime can hold: refused like any future signature, not a ValueError.
    view, prepared = prepared_answer(keys, sent)
    created = f";created={int(NOW.timestamp())}"
    far = ";created=999999999999999"
    params = prepared.signature_params.replace(created, far)
    return signed(
        keys, view, params, prepared.signature_base.replace(created.encode(), far.encode())
    )


def _integer_nonce(keys: Keys, sent: Any) -> Any:
    view, prepared = prepared_answer(keys, sent, nonce="7")
    params = prepared.signature_params.replace(';nonce="7"', ";nonce=7")
    return signed(keys, view, params, prepared.signature_base.replace(b';nonce="7"', b";nonce=7"))


def _for_another_request(keys: Keys, sent: Any) -> Any:
    # Same case, same body, same second: only the request's signature (its nonce) differs.
    return answer(keys, request((keys[0], keys[1])))


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (_stale, "too old"),
        (_future, "in the future"),
        (_far_future_created, "in the future"),
        (_expired, "expired"),
        (_other_keyid, "resolve verification key"),
        (_other_alg, "Unexpected algorithm"),
        (_unknown_parameter, "Unexpected signature metadata parameter"),
        (_string_created, "must be a Structured Field Integer"),
        (_integer_nonce, 'Parameter "nonce" must be a Structured Field String'),
        (_for_another_request, "does not verify"),
    ],
)
def test_each_check_refuses_in_one_pass_and_the_library_says_why(
    gateway_keys: Keys, agency_keys: Keys, make: Any, words: str
) -> None:
    sent = request(gateway_keys)
    message = make(agency_keys, sent)
    assert one_pass(agency_keys, sent, message) is None
    with pytest.raises(UntrustedHttpMessage, match=words):
        verify(agency_keys, sent, message)


def test_a_body_other_than_the_signed_digest_is_refused_in_one_pass(
    gateway_keys: Keys, agency_keys: Keys
) -> None:
    sent = request(gateway_keys)
    message = answer(agency_keys, sent)
    other = BODY.replace(b"granted", b"refused")
    assert one_pass(agency_keys, sent, message, other) is None
    with pytest.raises(UntrustedHttpMessage, match="Content-Digest does not match"):
        verify(agency_keys, sent, message, other)


def test_a_status_other_than_the_signed_one_is_refused(
    gateway_keys: Keys, agency_keys: Keys
) -> None:
    sent = request(gateway_keys)
    message = answer(agency_keys, sent)
    message.status_code = 202
    assert one_pass(agency_keys, sent, message) is None
    with pytest.raises(UntrustedHttpMessage, match="does not verify"):
        verify(agency_keys, sent, message)


@pytest.mark.parametrize(
    "field",
    [
        'nsw=("@status");created=1',  # other components
        'nsw=("@status" "content-type");created=01',  # not canonical
        'nsw=("@status" "content-type");created=1;created=2',  # repeated
        'nsw=("@status" "content-type");keyid="a\\"b"',  # an escape
        'nsw=("@status" "content-type");created=1, x=()',  # two members
        'x=("@status" "content-type");created=1',  # another label
        'nsw=("@status" "content-type");created=1 ',  # trailing space
    ],
)
def test_signature_inputs_outside_the_pattern_are_left_to_the_library(field: str) -> None:
    listed = sigbase.components_list(("@status", "content-type"))
    assert sigbase.read_params(field, "nsw", listed) is None


def test_a_canonical_signature_input_is_read_whole() -> None:
    listed = sigbase.components_list(("@status", '"content-digest";req'))
    field = 'nsw=("@status" "content-digest";req);created=0;keyid="k";nonce="n-_"'
    assert sigbase.read_params(field, "nsw", listed) == (
        field[4:],
        {"created": 0, "keyid": "k", "nonce": "n-_"},
    )


@pytest.mark.parametrize(
    "field", ["nsw=:AAB=:", "nsw=:AA==:, x=:AA==:", "nsw=:AA==:;p", "x=:AA==:"]
)
def test_signatures_outside_the_pattern_are_left_to_the_library(field: str) -> None:
    assert sigbase.read_signature(field, "nsw") is None


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/api/v1/applications/NSW-20261207-A37A8EF537",
        "https://gw.example:8443",
        "http://gw/?",
        "http://gw/a/b;c=d?x=%20a%2Fb&y=?/:@&z=~!$'()*+,",
        "http://gw/%7e?q=%41",
    ],
)
def test_path_and_query_are_the_librarys(url: str) -> None:
    resolver: Any = HTTPSignatureComponentResolver  # untyped, like the whole library
    resolver = resolver(HttpMessage({}, "GET", url).view())
    assert sigbase.path_and_query(url) == (resolver.get_path(), resolver.get_query())


@pytest.mark.parametrize(
    "url",
    [
        "http://gw/a%2",  # a broken escape (the library refuses it)
        "http://gw/a b",  # an unencoded space (the library refuses it)
        "http://u@gw/a",  # userinfo
        "http://gw/a?b#f",  # a fragment
        "http://[::1]/a",  # an IP literal
        "ftp://gw/a",
        "http://gw/é",
    ],
)
def test_urls_outside_the_path_pattern_are_left_to_the_library(url: str) -> None:
    assert sigbase.path_and_query(url) is None
