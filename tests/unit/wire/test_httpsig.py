"""The HTTP message signature profile (wire/httpsig.py): what it writes is what the library
writes, and each check of an answer refuses what it exists to refuse."""

from __future__ import annotations

from typing import Any

import pytest
from http_message_signatures import HTTPMessageSigner, MappingKeyResolver

from tests.unit.wire.conftest import BODY, NOW, SKEW, Keys
from wire import httpsig
from wire.httpsig import HttpMessage, UntrustedHttpMessage


def request(keys: Keys) -> HttpMessage:
    message = HttpMessage(
        {"Content-Type": "application/json"}, method="POST", url="http://127.0.0.1:9/cases"
    )
    view = message.view()  # shares the headers: the fields signed are set on `message`
    httpsig.sign(view, b'{"a":1}', *keys, now=NOW, components=httpsig.REQUEST_COMPONENTS)
    return message


def answer(keys: Keys, sent: HttpMessage, components: tuple[str, ...], body: bytes = BODY) -> Any:
    """An answer to `sent` signed by the library itself over `components`, as an agency might."""
    key, cert = keys
    kid = httpsig.key_id(cert)
    view: Any = HttpMessage({"Content-Type": "application/json"}, status_code=200).view()
    view.request = sent.view()
    HTTPMessageSigner(
        signature_algorithm=httpsig.ALGORITHM,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={kid: key}),
    ).sign(view, key_id=kid, created=NOW, label="nsw", covered_component_ids=components, body=body)
    return view


def verify(keys: Keys, sent: HttpMessage, message: Any, body: bytes = BODY, **kw: Any) -> Any:
    kw.setdefault("components", httpsig.RESPONSE_COMPONENTS)
    return httpsig.verify(message, body, keys[1], now=NOW, skew=SKEW, request=sent.view(), **kw)


def test_the_fields_set_are_those_the_library_applies(gateway_keys: Keys) -> None:
    # sign() sets Signature-Input and Signature itself instead of calling the library's apply()
    # (which would build the signature base again): the fields must be byte for byte the same.
    key, cert = gateway_keys
    signer = HTTPMessageSigner(signature_algorithm=httpsig.ALGORITHM)
    ours = HttpMessage({"Content-Type": "application/json"}, method="POST", url="http://a/b")
    prepared = signer.prepare(
        ours.view(),
        key_id=httpsig.key_id(cert),
        created=NOW,
        nonce="n0nce",
        label=httpsig.LABEL,
        covered_component_ids=httpsig.REQUEST_COMPONENTS,
        body=b"{}",
    )
    signature = httpsig.ALGORITHM(private_key=key).sign(prepared.signature_base)
    theirs = HttpMessage(dict(ours.headers), method="POST", url="http://a/b")
    signer.apply(theirs.view(), prepared, signature)
    httpsig.attach(ours.view(), prepared, signature)
    assert ours.headers == theirs.headers
    assert ours.headers["Signature-Input"].startswith('nsw=("@method" "@target-uri"')


def test_a_signed_request_verifies_and_its_signature_is_fresh_each_time(
    gateway_keys: Keys,
) -> None:
    first, second = request(gateway_keys), request(gateway_keys)
    for message in (first, second):
        verified = httpsig.verify(
            message.view(),
            b'{"a":1}',
            gateway_keys[1],
            now=NOW,
            skew=SKEW,
            components=httpsig.REQUEST_COMPONENTS,
        )
        assert verified.body == b'{"a":1}' and verified.created == int(NOW.timestamp())
    assert first.headers["Signature"] != second.headers["Signature"]  # the nonce


def test_a_genuine_answer_verifies(gateway_keys: Keys, agency_keys: Keys) -> None:
    sent = request(gateway_keys)
    message = answer(agency_keys, sent, httpsig.RESPONSE_COMPONENTS)
    assert verify(agency_keys, sent, message).body == BODY


def test_an_answer_covering_the_components_with_parameters_reordered_verifies(
    gateway_keys: Keys, agency_keys: Keys
) -> None:
    # The profile's exact serialisation is checked first; the same components written another
    # way are still the same components (RFC 9421 §2): the library's own check accepts them.
    sent = request(gateway_keys)
    components = tuple(
        '"signature";req;key="nsw"' if c == '"signature";key="nsw";req' else c
        for c in httpsig.RESPONSE_COMPONENTS
    )
    assert verify(agency_keys, sent, answer(agency_keys, sent, components)).body == BODY


@pytest.mark.parametrize("left_out", httpsig.RESPONSE_COMPONENTS)
def test_an_answer_not_covering_a_profile_component_is_refused(
    gateway_keys: Keys, agency_keys: Keys, left_out: str
) -> None:
    sent = request(gateway_keys)
    components = tuple(c for c in httpsig.RESPONSE_COMPONENTS if c != left_out)
    message = answer(agency_keys, sent, components)
    # Leaving out the digest makes the library add it back (a body is signed): still covered.
    if left_out == "content-digest":
        assert verify(agency_keys, sent, message).body == BODY
        return
    with pytest.raises(UntrustedHttpMessage, match="Required component"):
        verify(agency_keys, sent, message)


def test_a_body_other_than_the_signed_digest_is_refused(
    gateway_keys: Keys, agency_keys: Keys
) -> None:
    sent = request(gateway_keys)
    message = answer(agency_keys, sent, httpsig.RESPONSE_COMPONENTS)
    with pytest.raises(UntrustedHttpMessage, match="Content-Digest does not match"):
        verify(agency_keys, sent, message, body=BODY.replace(b"granted", b"refused"))


def test_a_digest_covered_only_as_a_structured_field_is_still_checked(
    gateway_keys: Keys, agency_keys: Keys
) -> None:
    # A caller whose components leave the digest out still gets the body checked: a digest
    # covered in another form (`;sf`) goes through the library's body check.
    sent = request(gateway_keys)
    message = answer(agency_keys, sent, ("@status", '"content-digest";sf'))
    assert verify(agency_keys, sent, message, components=("@status",)).body == BODY
    with pytest.raises(UntrustedHttpMessage, match="Content-Digest does not match"):
        verify(agency_keys, sent, message, body=b"{}", components=("@status",))


def test_an_answer_signed_with_another_key_is_refused(
    gateway_keys: Keys, agency_keys: Keys
) -> None:
    sent = request(gateway_keys)
    message = answer(agency_keys, sent, httpsig.RESPONSE_COMPONENTS)
    with pytest.raises(UntrustedHttpMessage, match="does not verify"):
        verify(gateway_keys, sent, message)
