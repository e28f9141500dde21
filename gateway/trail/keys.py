"""Loading the trail log's Ed25519 signing key."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.errors import ConfigurationError
from gateway.trail.note import Ed25519Signer, NoteError


def load_log_signer(path: Path, origin: str) -> Ed25519Signer:
    """The log's note signer: the Ed25519 key at `path`, named by the checkpoint `origin`
    (tlog-checkpoint: the log's key name SHOULD match the origin line)."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise ConfigurationError(
            f"The trail log's signing key {path} cannot be read ({exc}). For development run "
            "`nsw pki init`; in production set NSW_LOG_KEY to an Ed25519 key (PKCS#8 PEM)."
        ) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigurationError(f"The trail log's signing key {path} is not an Ed25519 key.")
    try:
        return Ed25519Signer(origin, key)
    except NoteError as exc:
        raise ConfigurationError(f"NSW_LOG_ORIGIN {origin!r} cannot name a key: {exc}") from exc
