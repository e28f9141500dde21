"""The RFC 9421 profile's tags: a signature is accepted only for the purpose it was made for."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from gateway.trust.http_signatures import (
    DEVICE_TAG,
    TRADER_TAG,
    RequestView,
    SignatureRefused,
    Tag,
    check_params,
    requested_keyid,
    sign_request,
    verify_request,
)

NOW = dt.datetime(2026, 11, 27, 6, 0, tzinfo=dt.UTC)
URL = "http://127.0.0.1/api/v1/checkpoint/events"
BODY = b'{"event_id": "entry-0001"}'
KEYID = "ab" * 32


def _signed(tag: Tag) -> tuple[RequestView, ec.EllipticCurvePublicKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    view = RequestView("POST", URL, {"Content-Type": "application/json"})
    sign_request(view, key, KEYID, tag=tag, now=NOW, body=BODY)
    return view, key.public_key()


@pytest.mark.parametrize("tag", [TRADER_TAG, DEVICE_TAG])
def test_a_signature_verifies_for_its_own_tag(tag: Tag) -> None:
    view, public = _signed(tag)
    assert f'tag="{tag}"' in view.headers["Signature-Input"]
    assert requested_keyid(view.headers.items(), tag) == KEYID
    signed = verify_request(view, KEYID, public, lambda: NOW, BODY, tag=tag)
    assert signed.keyid == KEYID and signed.created == NOW


@pytest.mark.parametrize(
    ("made_for", "used_for"), [(TRADER_TAG, DEVICE_TAG), (DEVICE_TAG, TRADER_TAG)]
)
def test_a_signature_made_for_one_purpose_is_refused_for_the_other(
    made_for: Tag, used_for: Tag
) -> None:
    view, public = _signed(made_for)
    expected = rf'signed with tag="{made_for}", made for another purpose.*only tag="{used_for}"'
    with pytest.raises(SignatureRefused, match=expected):
        requested_keyid(view.headers.items(), used_for)
    with pytest.raises(SignatureRefused, match=expected):
        verify_request(view, KEYID, public, lambda: NOW, BODY, tag=used_for)


def test_an_unknown_tag_is_refused_as_missing_ours() -> None:
    view, _ = _signed(DEVICE_TAG)
    view.headers["Signature-Input"] = view.headers["Signature-Input"].replace(DEVICE_TAG, "x")
    with pytest.raises(SignatureRefused, match='exactly one signature with tag="nsw-device"'):
        requested_keyid(view.headers.items(), DEVICE_TAG)


@pytest.mark.parametrize(
    ("params", "why"),
    [
        ({"keyid": "AB" * 32}, '"keyid" must be the SHA-256 fingerprint'),
        ({"keyid": KEYID + "00"}, '"keyid" must be the SHA-256 fingerprint'),
        ({"keyid": KEYID, "nonce": "n" * 129}, '"nonce" must be a string of 1 to 128'),
        ({"keyid": KEYID, "nonce": "a b"}, '"nonce" must be a string'),
        ({"keyid": KEYID, "nonce": 5}, '"nonce" must be a string'),
        ({"keyid": KEYID, "created": -1}, '"created" must be a non-negative integer'),
        ({"keyid": KEYID, "expires": True}, '"expires" must be a non-negative integer'),
        ({"keyid": KEYID, "created": 100, "expires": 99}, '"expires" is before "created"'),
    ],
)
def test_parameters_out_of_the_profiles_bounds_are_refused(
    params: dict[str, object], why: str
) -> None:
    with pytest.raises(SignatureRefused, match=why):
        check_params(params)


def test_parameters_at_the_bounds_pass() -> None:
    check_params({"keyid": KEYID, "nonce": "~" * 128, "created": 0, "expires": 0})
