"""Trader certificates registered for signed HTTP requests, and the nonces already seen.

A trader proves who is asking for an application's status with an RFC 9421 signature made by the
key of a certificate registered here (keyid = the certificate's SHA-256 fingerprint, hex). A
certificate is registered when it signs an accepted application (intake has then proved its chain,
validity, revocation and that it may act for the declarant), or by an operator with
`nsw traders register CERT.pem`. Registration only makes the key findable by its fingerprint:
every request still re-checks the certificate with the trust store, so a revoked or expired
certificate stops working at once.

`TraderCertificates` and `NonceLedger` are the ports; gateway/storage/trader_keys.py keeps both in
the database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from cryptography import x509

from gateway.trust.certificates import TrustedSigner


@dataclass(frozen=True)
class RegisteredCertificate:
    fingerprint: str
    bin: str
    subject: str
    source: str
    registered_at: dt.datetime


class TraderCertificates(Protocol):
    """fingerprint -> certificate, for certificates that carry a BIN. Thread-safe."""

    def register(self, signer: TrustedSigner, source: str) -> bool:
        """Record `signer`'s certificate (already judged by the trust store); False if known.
        ValueError for a certificate that names no BIN."""
        ...

    def certificate(self, fingerprint: str) -> x509.Certificate | None: ...

    def list(self, bin_: str | None = None) -> list[RegisteredCertificate]: ...


class NonceLedger(Protocol):
    """Nonces of accepted signed requests, per key, until their replay window closes; shared
    by every web node, so each refuses a request another node already served."""

    def first_use(self, keyid: str, nonce: str, keep_until: dt.datetime) -> bool:
        """Record the nonce; False if it was already used with this key (a replay)."""
        ...
