"""The keys an adapter works with: ours to sign, the agency's pinned certificate to verify.

Read from files the composition root names (the gateway's key and certificate, and the one
certificate configured for the agency). A missing or unreadable file is an error at start-up, never
a silently unsigned exchange.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from wire import certificates


@dataclass(frozen=True)
class Credentials:
    """`key`/`cert` sign what we send; `peer` is the agency's pinned certificate: an answer is
    believed only when signed with exactly this certificate's key. `skew` is the clock difference
    allowed when judging the freshness of a signature."""

    key: rsa.RSAPrivateKey
    cert: x509.Certificate
    peer: x509.Certificate
    clock: Callable[[], dt.datetime]
    skew: dt.timedelta = dt.timedelta(minutes=2)

    @classmethod
    def from_files(
        cls,
        key: Path,
        cert: Path,
        peer: Path,
        *,
        clock: Callable[[], dt.datetime],
        skew: dt.timedelta = dt.timedelta(minutes=2),
    ) -> Credentials:
        """Raises `ValueError` naming the file that is missing or not what it should be."""
        return cls(load_rsa_key(key), load_certificate(cert), load_certificate(peer), clock, skew)


def load_certificate(path: Path) -> x509.Certificate:
    try:
        return certificates.certificate_from_pem(Path(path).read_bytes())
    except (OSError, ValueError) as exc:
        raise ValueError(f"no certificate can be read from {path}: {exc}") from exc


def load_rsa_key(path: Path) -> rsa.RSAPrivateKey:
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
