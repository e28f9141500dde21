"""Checkpoints (c2sp.org/tlog-checkpoint) and timestamped cosignatures (c2sp.org/tlog-cosignature)."""

from __future__ import annotations

import base64
import hashlib
import struct

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.trail.checkpoint import (
    Checkpoint,
    CheckpointError,
    CosignatureVerifier,
    Cosigner,
    cosignature_time,
    parse_checkpoint,
    verifier_from_vkey,
)
from gateway.trail.note import Ed25519Signer, NoteError, format_note, verify_note

# The cosignature spec's example body (c2sp.org/tlog-cosignature § Ed25519 signed message).
BODY = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"


def test_a_checkpoint_body_round_trips() -> None:
    cp = parse_checkpoint(BODY)
    assert (cp.origin, cp.size) == ("example.com/behind-the-sofa", 20852163)
    assert cp.root == base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
    assert cp.body() == BODY
    with_ext = Checkpoint(cp.origin, cp.size, cp.root, ("ext one",))
    assert parse_checkpoint(with_ext.body()) == with_ext


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("o\n12\n", "fewer than 3"),
        ("o\n012\n" + BODY.split("\n")[2] + "\n", "not a decimal"),
        ("o\n-1\n" + BODY.split("\n")[2] + "\n", "not a decimal"),
        ("o\n1\nAAAA\n", "not 32"),
        ("o\n1\n" + BODY.split("\n")[2] + "\n\n", "extension lines"),
        ("o\n1\n" + BODY.split("\n")[2], "newline"),
    ],
)
def test_malformed_checkpoints_are_refused(text: str, why: str) -> None:
    with pytest.raises(CheckpointError, match=why):
        parse_checkpoint(text)


def test_a_cosignature_signs_the_spec_message_with_its_timestamp() -> None:
    key = Ed25519PrivateKey.generate()
    cosigner = Cosigner("witness.example/w1", key)
    sig = cosigner.cosign(BODY, 1679315147)
    public = key.public_key().public_bytes_raw()
    # Built by hand from the spec, not from our code: key ID with type 0x04, u64 big-endian time,
    # and the signed message `cosignature/v1\ntime <t>\n` ‖ body.
    expected_id = hashlib.sha256(b"witness.example/w1\n\x04" + public).digest()[:4]
    assert sig.key_id == expected_id
    assert sig.signature[:8] == struct.pack(">Q", 1679315147)
    key.public_key().verify(sig.signature[8:], b"cosignature/v1\ntime 1679315147\n" + BODY.encode())
    assert cosignature_time(sig) == 1679315147


def test_a_cosigned_checkpoint_verifies_with_log_and_witness_keys() -> None:
    log = Ed25519Signer("example.com/behind-the-sofa", Ed25519PrivateKey.generate())
    witness = Cosigner("witness.example/w1", Ed25519PrivateKey.generate())
    note = format_note(BODY, [log.sign(BODY), witness.cosign(BODY, 1700000000)])
    witness_verifier = verifier_from_vkey(witness.verifier.vkey)
    assert isinstance(witness_verifier, CosignatureVerifier)
    _note, verified = verify_note(note, [verifier_from_vkey(log.verifier.vkey), witness_verifier])
    assert [s.name for s in verified.signatures] == [log.name, witness.name]
    # A cosignature moved to another time does not verify: the timestamp is signed.
    tampered_sig = witness.cosign(BODY, 1700000000)
    bad = type(tampered_sig)(
        tampered_sig.name,
        tampered_sig.key_id,
        struct.pack(">Q", 1700000001) + tampered_sig.signature[8:],
    )
    with pytest.raises(NoteError, match="does not verify"):
        verify_note(format_note(BODY, [bad]), [witness_verifier])


def test_a_log_key_is_not_a_cosigning_key() -> None:
    key = Ed25519PrivateKey.generate()
    as_log = Ed25519Signer("same.example", key)
    as_witness = Cosigner("same.example", key)
    assert as_log.verifier.key_id != as_witness.verifier.key_id
    with pytest.raises(NoteError, match="no signature by a trusted key"):
        verify_note(format_note(BODY, [as_log.sign(BODY)]), [as_witness.verifier])
