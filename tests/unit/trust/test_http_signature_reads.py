"""A trader's signed read (RFC 9421, no body) is verified in one pass, and that pass accepts
nothing the library's whole verification refuses."""

from __future__ import annotations

import datetime as dt
from base64 import b64encode
from collections.abc import Callable

import http_sf
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from http_message_signatures import HTTPMessageVerifier
from werkzeug.datastructures import Headers

from gateway.trust import http_signatures
from gateway.trust.http_signatures import (
    TRADER_TAG,
    PrivateKey,
    RequestView,
    SignatureRefused,
    algorithm_for,
    requested_keyid,
    sign_request,
    verify_request,
)

NOW = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)
KEYID = "cd" * 32
URLS = [
    "http://127.0.0.1/api/v1/applications/NSW-20261207-A37A8EF537",
    "http://127.0.0.1/api/v1/applications/NSW-20261207-A37A8EF537/decision",
    "http://127.0.0.1/api/v1/applications?declarant=123456789012&state=decided&limit=5",
    "http://gw.example:8443/api/v1/traders/123456789012/notification-url?x=%20a%2Fb",
]
KEYS: list[Callable[[], PrivateKey]] = [
    lambda: ec.generate_private_key(ec.SECP256R1()),
    lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
]


def _signed_get(key: PrivateKey, url: str = URLS[0], now: dt.datetime = NOW) -> RequestView:
    view = RequestView("GET", url, {"Accept": "application/json"})
    sign_request(view, key, KEYID, tag=TRADER_TAG, now=now)
    return view


@pytest.mark.parametrize("make_key", KEYS, ids=["p256", "rsa"])
@pytest.mark.parametrize("url", URLS)
def test_a_signed_read_verifies_without_the_librarys_second_parse(
    make_key: Callable[[], PrivateKey], url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = make_key()
    view = _signed_get(key, url)

    def whole(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the library's whole verification was run for a profile read")

    monkeypatch.setattr(HTTPMessageVerifier, "verify", whole)
    signed = verify_request(view, KEYID, key.public_key(), lambda: NOW, tag=TRADER_TAG)
    assert signed.keyid == KEYID and signed.created == NOW
    assert f'nonce="{signed.nonce}"' in view.headers["Signature-Input"]


def _other_path(view: RequestView) -> RequestView:
    return RequestView("GET", view.url + "/decision", view.headers)


def _other_method(view: RequestView) -> RequestView:
    return RequestView("DELETE", view.url, view.headers)


def _other_query(view: RequestView) -> RequestView:
    return RequestView("GET", view.url + "?declarant=999999999999", view.headers)


def _headers(change: Callable[[dict[str, str]], None]) -> Callable[[RequestView], RequestView]:
    def changed(view: RequestView) -> RequestView:
        headers = dict(view.headers)
        change(headers)
        return RequestView(view.method, view.url, headers)

    return changed


def _replace(name: str, old: str, new: str) -> Callable[[RequestView], RequestView]:
    return _headers(lambda h: h.__setitem__(name, h[name].replace(old, new, 1)))


TAMPERED: dict[str, Callable[[RequestView], RequestView]] = {
    "another path": _other_path,
    "another method": _other_method,
    "another query": _other_query,
    "another nonce": _replace("Signature-Input", 'nonce="', 'nonce="x'),
    "a later created": _replace("Signature-Input", "created=", "created=1"),
    "an unknown parameter": _replace("Signature-Input", ";tag=", ';foo="1";tag='),
    "alg of another key type": _replace("Signature-Input", ";tag=", ';alg="ed25519";tag='),
    "another label on the signature": _replace("Signature", "nsw=", "other="),
    "a second, duplicate label": _headers(
        lambda h: h.__setitem__(
            "Signature-Input", f"{h['Signature-Input']}, {h['Signature-Input']}"
        )
    ),
    "fewer components": _replace("Signature-Input", ' "@query"', ""),
    "a token, not bytes": _headers(lambda h: h.__setitem__("Signature", "nsw=abc")),
    "a Content-Digest with no body": _headers(
        lambda h: h.__setitem__(
            "Content-Digest", "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:"
        )
    ),
}


@pytest.mark.parametrize("tamper", TAMPERED.values(), ids=TAMPERED.keys())
def test_a_changed_read_is_refused_by_both_passes(
    tamper: Callable[[RequestView], RequestView],
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    view = tamper(_signed_get(key))
    _refused_by_both_passes(view, key.public_key())


@pytest.mark.parametrize(
    ("signed_at", "why"),
    [
        (NOW - dt.timedelta(minutes=6), "older than"),
        (NOW + dt.timedelta(minutes=1), "in the future"),
    ],
)
def test_a_read_out_of_the_replay_window_is_refused(signed_at: dt.datetime, why: str) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    view = _signed_get(key, now=signed_at)
    public = key.public_key()
    assert (
        http_signatures._one_profile_signature(view, KEYID, public, lambda: NOW, b"", TRADER_TAG)
        is None
    )
    with pytest.raises(SignatureRefused, match=why):
        verify_request(view, KEYID, public, lambda: NOW, tag=TRADER_TAG)


def test_a_read_signed_with_another_key_or_keyid_is_refused() -> None:
    key, other = (ec.generate_private_key(ec.SECP256R1()) for _ in range(2))
    view = _signed_get(key)
    with pytest.raises(SignatureRefused):
        verify_request(view, KEYID, other.public_key(), lambda: NOW, tag=TRADER_TAG)
    with pytest.raises(SignatureRefused):
        verify_request(view, "ef" * 32, key.public_key(), lambda: NOW, tag=TRADER_TAG)


def _signed_as(params: str, key: PrivateKey, url: str = URLS[2]) -> RequestView:
    """A GET of `url` whose Signature-Input parameters are `params` (after the components),
    really signed with `key`: what a trader holding the key may send, however odd."""
    head = '("@method" "@path" "@query")'
    path, _, query = url.partition("://")[2].partition("/")[2].partition("?")
    signed = f'"@method": GET\n"@path": /{path}\n"@query": ?{query}\n"@signature-params": {head}'
    signature = algorithm_for(key)(private_key=key).sign((signed + params).encode())
    return RequestView(
        "GET",
        url,
        {
            "Signature-Input": f"nsw={head}{params}",
            "Signature": f"nsw=:{b64encode(signature).decode()}:",
        },
    )


T = int(NOW.timestamp())
GOOD = f';created={T};expires={T + 60};keyid="{KEYID}";nonce="n-1";tag="nsw-trader"'
SIGNED_BUT_REFUSED = {
    "an unknown parameter": GOOD + ';foo="1"',
    "alg of another key type": GOOD + ';alg="ed25519"',
    "alg as an integer": GOOD + ";alg=5",
    "no nonce": GOOD.replace(';nonce="n-1"', ""),
    "a nonce as an integer": GOOD.replace('"n-1"', "7"),
    "a nonce with a space": GOOD.replace('"n-1"', '"n 1"'),
    "the device tag": GOOD.replace("nsw-trader", "nsw-device"),
    "no tag": GOOD.replace(';tag="nsw-trader"', ""),
    "another keyid": GOOD.replace(KEYID, "ef" * 32),
    "no expires": GOOD.replace(f";expires={T + 60}", ""),
    "an expires passed": GOOD.replace(
        f"created={T};expires={T + 60}", f"created={T - 200};expires={T - 100}"
    ),
    "an expires past year 9999": GOOD.replace(f"expires={T + 60}", "expires=253402300800"),
    "a huge created and expires": GOOD.replace(
        f"created={T};expires={T + 60}", "created=999999999999999;expires=999999999999999"
    ),
    "created as a string": GOOD.replace(f"created={T}", f'created="{T}"'),
}


def test_the_helper_signs_what_the_one_pass_accepts() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    view = _signed_as(GOOD, key)
    signed = http_signatures._one_profile_signature(
        view, KEYID, key.public_key(), lambda: NOW, b"", TRADER_TAG
    )
    assert signed is not None and signed.nonce == "n-1" and signed.created == NOW


@pytest.mark.parametrize("params", SIGNED_BUT_REFUSED.values(), ids=SIGNED_BUT_REFUSED.keys())
def test_each_check_holds_for_a_genuinely_signed_read(params: str) -> None:
    """The key really signed these parameters: only the check named refuses them, in the one
    pass (which leaves them to the library) and in the whole verification the web app runs
    (`requested_keyid`, then the library's `verify_request`)."""
    key = ec.generate_private_key(ec.SECP256R1())
    view = _signed_as(params, key)
    _refused_by_both_passes(view, key.public_key())


def test_a_read_with_an_unsigned_body_or_a_second_field_line_is_refused() -> None:
    """A body no Content-Digest covers, or a second Signature-Input field line (the library
    joins the lines: here a duplicate label), is never taken by the one pass."""
    key = ec.generate_private_key(ec.SECP256R1())
    view, public = _signed_get(key), key.public_key()
    lines = Headers(view.headers)
    lines.add("Signature-Input", view.headers["Signature-Input"])
    for request, body in ((view, b"unsigned"), (RequestView("GET", view.url, lines), b"")):
        assert (
            http_signatures._one_profile_signature(
                request, KEYID, public, lambda: NOW, body, TRADER_TAG
            )
            is None
        )
        with pytest.raises(SignatureRefused):
            verify_request(request, KEYID, public, lambda: NOW, body, tag=TRADER_TAG)


def _refused_by_both_passes(view: RequestView, public: ec.EllipticCurvePublicKey) -> None:
    """The one pass leaves `view` to the library, and the whole verification the web app runs
    (`requested_keyid`, then `verify_request`) refuses it."""
    assert (
        http_signatures._one_profile_signature(view, KEYID, public, lambda: NOW, b"", TRADER_TAG)
        is None
    )
    with pytest.raises(SignatureRefused):
        requested_keyid(view.headers.items(), TRADER_TAG)
        verify_request(view, KEYID, public, lambda: NOW, tag=TRADER_TAG)


def _keyid_or_why(view: RequestView) -> str:
    try:
        return "keyid " + requested_keyid(view.headers.items(), TRADER_TAG)
    except SignatureRefused as exc:
        return f"refused: {exc}"


def _variants() -> dict[str, RequestView]:
    key = ec.generate_private_key(ec.SECP256R1())
    lines = Headers(_signed_get(key).headers)
    lines.add("Signature-Input", lines["Signature-Input"])
    return {
        "as signed": _signed_get(key),
        "as signed, another url": _signed_get(key, URLS[3]),
        "good parameters": _signed_as(GOOD, key),
        "a second field line": RequestView("GET", URLS[0], lines),
        "no Signature-Input": RequestView("GET", URLS[0], {"Signature": "nsw=:AA==:"}),
        "folded": _headers(lambda h: h.__setitem__("Signature-Input", "nsw=(\r\n )"))(
            _signed_get(key)
        ),
        "keyid a number": _signed_as(GOOD.replace(f'keyid="{KEYID}"', "keyid=7"), key),
        "a huge keyid": _signed_as(GOOD.replace(KEYID, "a" * 5000), key),
        **{f"tampered: {n}": tamper(_signed_get(key)) for n, tamper in TAMPERED.items()},
        **{f"odd: {n}": _signed_as(p, key) for n, p in SIGNED_BUT_REFUSED.items()},
    }


def test_the_keyid_is_read_as_the_whole_parse_reads_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """`requested_keyid` reads a profile read's Signature-Input with `wire.sigbase`'s patterns
    and everything else with the whole Structured Fields parse: for each variant it answers the
    same keyid, or refuses in the same words, as the whole parse alone; and the profile read
    never reaches the whole parse."""
    variants = _variants()
    quick = {name: _keyid_or_why(view) for name, view in variants.items()}
    monkeypatch.setattr(http_signatures, "_profile_keyid", lambda *_: None)
    whole = {name: _keyid_or_why(view) for name, view in variants.items()}
    assert quick == whole
    assert whole["as signed"] == f"keyid {KEYID}"
    assert whole["odd: the device tag"].startswith("refused")
    monkeypatch.undo()

    def no_whole_parse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the whole Structured Fields parse was run for a profile read")

    monkeypatch.setattr(http_sf, "parse", no_whole_parse)
    assert _keyid_or_why(variants["as signed"]) == f"keyid {KEYID}"
