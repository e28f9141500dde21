"""`python -m simulators witness` keeps its key in a file: made once (readable by its owner only) and
read again on restart, so the vkey the gateway was configured with stays the witness's."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key

from simulators.witness import load_or_make_key


def _raw(key: object) -> bytes:
    return key.public_key().public_bytes_raw()  # type: ignore[attr-defined, no-any-return]


def test_a_restarted_witness_keeps_its_key_and_the_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "state" / "witness-a.key"
    first = load_or_make_key(path)
    assert path.stat().st_mode & 0o077 == 0
    assert _raw(load_or_make_key(path)) == _raw(first)


def test_a_key_file_that_is_not_ed25519_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "witness.key"
    pem = generate_private_key(SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.write_bytes(pem)
    with pytest.raises(ValueError, match="not an Ed25519 key"):
        load_or_make_key(path)
