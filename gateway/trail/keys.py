"""Loading the trail log's Ed25519 signing key."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.errors import ConfigurationError
from gateway.i18n.text import Text
from gateway.trail.note import Ed25519Signer, NoteError


def load_log_signer(path: Path, origin: str) -> Ed25519Signer:
    """The log's note signer: the Ed25519 key at `path`, named by the checkpoint `origin`
    (tlog-checkpoint: the log's key name SHOULD match the origin line)."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise ConfigurationError(
            Text(
                "The trail log's signing key %(path)s cannot be read (%(exc)s). For development "
                "run `nsw pki init`; in production set NSW_LOG_KEY to an Ed25519 key (PKCS#8 PEM).",
                path=path,
                exc=exc,
            )
        ) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigurationError(
            Text("The trail log's signing key %(path)s is not an Ed25519 key.", path=path)
        )
    try:
        return Ed25519Signer(origin, key)
    except NoteError as exc:
        raise ConfigurationError(
            Text("NSW_LOG_ORIGIN %(origin)r cannot name a key: %(exc)s", origin=origin, exc=exc)
        ) from exc
