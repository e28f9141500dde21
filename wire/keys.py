"""Reading the keys both ends of an exchange sign with from files: a party's RSA private key and a
certificate (ours, or the one pinned for the other side).

A missing or unreadable file is a `ValueError` naming it, raised when the file is read (at start-up,
by the composition root), never a silently unsigned exchange later.
"""

from __future__ import annotations

import functools
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from wire import certificates


def load_certificate(path: Path) -> x509.Certificate:
    """The certificate in PEM file `path`, every part of it readable (`wire.certificates`)."""
    try:
        return certificates.certificate_from_pem(Path(path).read_bytes())
    except (OSError, ValueError) as exc:
        raise ValueError(f"no certificate can be read from {path}: {exc}") from exc


def load_rsa_key(path: Path) -> rsa.RSAPrivateKey:
    """The RSA private key in PEM file `path` (unencrypted): what the WS-Security and HTTP message
    signature profiles (`wire.wsse`, `wire.httpsig`) sign with."""
    try:
        key = _parse_key(Path(path).read_bytes())
    except (OSError, ValueError, TypeError) as exc:
        raise ValueError(f"no private key can be read from {path}: {exc}") from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{path}: the WS-Security and HTTP signature profiles need an RSA key")
    return key


@functools.lru_cache(maxsize=32)
def _parse_key(pem: bytes) -> PrivateKeyTypes:
    """Parsed once per distinct PEM: loading an RSA key validates it (~40 ms), and every agency's
    credentials hold the same gateway key, so each build of the services paid it four times."""
    return serialization.load_pem_private_key(pem, password=None)
