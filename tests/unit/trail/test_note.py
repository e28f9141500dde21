"""C2SP signed notes: the spec's and Go sumdb/note's published vectors, and the verifier's rules."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.trail.note import (
    Ed25519Signer,
    NoteError,
    ed25519_verifier_from_vkey,
    format_note,
    parse_note,
    verify_note,
)

# c2sp.org/signed-note § Verifier keys, "Example".
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = (
    "This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONnc"
    "AlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
)
# golang.org/x/mod/sumdb/note's documented example: Go's private key encoding is
# PRIVATE+KEY+<name>+<id>+base64(0x01 ‖ 32-byte seed); Ed25519 is deterministic, so our signature
# must be the published one byte for byte.
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_SIGNED = (
    GO_TEXT + "\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKv"
    "qfqdngotpRZb6KE6RyyBwJnAM=\n"
)


def _go_signer() -> Ed25519Signer:
    seed = base64.b64decode(GO_SKEY.split("+", 4)[4])[1:]
    return Ed25519Signer("PeterNeumann", Ed25519PrivateKey.from_private_bytes(seed))


def test_the_spec_example_verifies() -> None:
    _note, verified = verify_note(SPEC_NOTE, [ed25519_verifier_from_vkey(SPEC_VKEY)])
    assert verified.text == "This is an example message.\n"
    assert [s.key_id.hex() for s in verified.signatures] == ["530d903a"]


def test_signing_reproduces_go_sumdb_note_byte_for_byte() -> None:
    signer = _go_signer()
    assert signer.verifier.vkey == GO_VKEY
    assert format_note(GO_TEXT, [signer.sign(GO_TEXT)]) == GO_SIGNED
    verify_note(GO_SIGNED, [ed25519_verifier_from_vkey(GO_VKEY)])


def test_unknown_keys_are_ignored_and_several_signatures_are_read() -> None:
    other = Ed25519Signer("other.example/key", Ed25519PrivateKey.generate())
    # Same name as a trusted key but another key ID: an unknown key, ignored.
    impostor = Ed25519Signer("PeterNeumann", Ed25519PrivateKey.generate())
    signed = format_note(
        GO_TEXT, [other.sign(GO_TEXT), impostor.sign(GO_TEXT), _go_signer().sign(GO_TEXT)]
    )
    note, verified = verify_note(signed, [ed25519_verifier_from_vkey(GO_VKEY)])
    assert len(note.signatures) == 3
    assert [s.name for s in verified.signatures] == ["PeterNeumann"]


def test_a_note_without_a_trusted_signature_is_rejected() -> None:
    other = Ed25519Signer("other.example/key", Ed25519PrivateKey.generate())
    with pytest.raises(NoteError, match="no signature by a trusted key"):
        verify_note(format_note(GO_TEXT, [other.sign(GO_TEXT)]), [_go_signer().verifier])


def test_a_failing_signature_of_a_known_key_rejects_the_note() -> None:
    forged = GO_SIGNED.replace("cryptography", "cryptographY")
    with pytest.raises(NoteError, match="does not verify"):
        verify_note(forged, [ed25519_verifier_from_vkey(GO_VKEY)])


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (GO_TEXT + "— PeterNeumann AAAA\n", "no blank line"),
        (GO_SIGNED[:-1], "does not end with a newline"),
        (GO_SIGNED.replace("then", "th\ten"), "control character"),
        (GO_TEXT + "\n- PeterNeumann AAAAAAAA\n", "malformed signature line"),
        (GO_TEXT + "\n— PeterNeumann AAAA!AAA\n", "not base64"),
        (GO_TEXT + "\n— Peter+Neumann AAAAAAAA\n", "key name"),
    ],
)
def test_malformed_notes_are_refused(data: str, why: str) -> None:
    with pytest.raises(NoteError, match=why):
        parse_note(data)


def test_a_vkey_whose_base64_holds_a_plus_is_read() -> None:
    # transparency-dev/formats' test key: the key material's base64 contains '+'.
    verifier = ed25519_verifier_from_vkey(
        "TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6"
    )
    assert verifier.name == "TEST"
    assert verifier.key_id.hex() == "7997405c"


def test_vkeys_with_a_wrong_id_or_type_are_refused() -> None:
    name, _kid, material = GO_VKEY.split("+")
    with pytest.raises(NoteError, match="does not match"):
        ed25519_verifier_from_vkey(f"{name}+00000000+{material}")
    with pytest.raises(NoteError, match="not hex"):
        ed25519_verifier_from_vkey(f"{name}+zzzzzzzz+{material}")
