"""A signed read whose `created` or `expires` is hostile (huge, negative, not an integer) is a 401
problem document, never a 500: whether the signature has the profile's exact shape (verified in
one pass) or another one (verified by the library), and whether or not the key really signed it.

The signatures are made here over the base as RFC 9421 §2.5 builds it, so that a correctly
signed out-of-range value is refused by the replay window and not by a failed signature check."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives import serialization
from flask.testing import FlaskClient
from http_message_signatures import HTTPMessageVerifier

from gateway.pki.dev import DevPki
from gateway.trust.http_signatures import TRADER_TAG, PrivateKey, algorithm_for
from tests.responses import json_of
from tests.security.conftest import XML, problem_code
from tests.trader_requests import identity, keyid_of
from wire.sigbase import byte_sequence

# One Signature-Input member: covered components as serialised identifiers.
PROFILE = ('"@method"', '"@path"', '"@query"')
WITH_AUTHORITY = (*PROFILE, '"@authority"')  # not the profile's shape: the library verifies it

HOSTILE = {
    "largest RFC 8941 integer": "999999999999999",
    "just past year 9999": "253402300800",
    "negative": "-1",
    "most negative": "-999999999999999",
    "a decimal": "1.5",
    "a string": '"1700000000"',
    "a boolean": "?1",
    "too many digits": "1000000000000000",
}


@pytest.fixture
def lodged(client: FlaskClient, signed_sample: Callable[..., bytes]) -> str:
    response = client.post(
        "/api/v1/applications", data=signed_sample("fresh-apples-import"), headers=XML
    )
    assert response.status_code == 202
    return f"/api/v1/applications/{json_of(response)['id']}"


def _headers(
    pki: DevPki, path: str, covered: tuple[str, ...], created: str, expires: str, nonce: str
) -> dict[str, str]:
    """Signature-Input and Signature for GET `path` with these raw parameter texts, signed with
    steppe's key over the base those very texts make."""
    steppe = identity(pki, "trader-steppe")
    key = serialization.load_pem_private_key(steppe.key_pem, password=None)
    assert isinstance(key, PrivateKey)
    values = {'"@method"': "GET", '"@path"': path, '"@query"': "?", '"@authority"': "localhost"}
    params = (
        f"({' '.join(covered)});created={created};expires={expires};"
        f'keyid="{keyid_of(steppe)}";nonce="{nonce}";tag="{TRADER_TAG}"'
    )
    lines = [f"{c}: {values[c]}\n" for c in covered] + [f'"@signature-params": {params}']
    signature = algorithm_for(key)(private_key=key).sign("".join(lines).encode())
    return {"Signature-Input": f"nsw={params}", "Signature": f"nsw={byte_sequence(signature)}"}


SHAPES: dict[str, Callable[[dict[str, str]], dict[str, str]]] = {
    "the profile's shape": lambda h: h,
    "another covered component": lambda h: h,  # made with WITH_AUTHORITY below
    "a Content-Digest field": lambda h: {
        **h,
        "Content-Digest": "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:",
    },
    "a second, untagged member": lambda h: {
        "Signature-Input": h["Signature-Input"] + ', x=("@method");created=1;keyid="k"',
        "Signature": h["Signature"] + ", x=:AAAA:",
    },
    "a signature that does not verify": lambda h: {
        **h,
        "Signature": h["Signature"][:5]
        + ("B" if h["Signature"][5] == "A" else "A")
        + h["Signature"][6:],
    },
}


@pytest.mark.parametrize("shape", SHAPES, ids=SHAPES.keys())
@pytest.mark.parametrize("which", ["created", "expires", "both"])
def test_a_hostile_timestamp_is_401_not_500(
    client: FlaskClient, lodged: str, pki: DevPki, shape: str, which: str
) -> None:
    covered = WITH_AUTHORITY if shape == "another covered component" else PROFILE
    now = int(time.time())
    for n, (name, value) in enumerate(HOSTILE.items()):
        created = value if which != "expires" else str(now)
        expires = value if which != "created" else str(now + 60)  # both: past check_params' order
        headers = SHAPES[shape](_headers(pki, lodged, covered, created, expires, f"n-{which}-{n}"))
        response = client.get(lodged, headers=headers)
        assert response.status_code == 401, (name, response.status_code, response.data[:300])
        assert problem_code(response) == "unauthenticated", name
        assert "declarant_bin" not in json_of(response)


@pytest.mark.parametrize("covered", [PROFILE, WITH_AUTHORITY], ids=["profile", "library"])
def test_the_same_signatures_with_sane_timestamps_are_read(
    client: FlaskClient,
    lodged: str,
    pki: DevPki,
    covered: tuple[str, ...],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The requests above differ from an accepted one only in the hostile value; the profile's
    shape is read by the one pass alone, as the web app sees the request."""
    if covered == PROFILE:

        def whole(*_args: object, **_kwargs: object) -> None:
            raise AssertionError("the library's whole verification was run for a profile read")

        monkeypatch.setattr(HTTPMessageVerifier, "verify", whole)
    now = dt.datetime.now(dt.UTC)
    created, expires = int(now.timestamp()), int(now.timestamp()) + 60
    headers = _headers(pki, lodged, covered, str(created), str(expires), f"ok-{len(covered)}")
    response = client.get(lodged, headers=headers)
    assert response.status_code == 200, response.data[:300]
    assert json_of(response)["declarant_bin"] == "210540012341"
