"""Trader certificates and request nonces in the database (the `TraderCertificates` and
`NonceLedger` ports of gateway.trust.trader_keys)."""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import Engine, delete, select
from sqlalchemy.exc import IntegrityError

from gateway.clock import Clock
from gateway.storage.db import read_session_factory, session_factory, unavailable_on_disconnect
from gateway.storage.models import RequestNonceRow, TraderCertificateRow
from gateway.trust.certificates import TrustedSigner
from gateway.trust.trader_keys import RegisteredCertificate
from wire import certificates


class StoredTraderCertificates:
    """`gateway.trust.trader_keys.TraderCertificates` in the database. Thread-safe."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._sessions = session_factory(engine)
        self._readers = read_session_factory(engine)
        self._clock = clock
        # Fingerprints known to be stored: a trader's every submission registers its key, and
        # the answer is "known" from the second on (set.add and `in` are atomic under the GIL).
        self._known: set[str] = set()

    def register(self, signer: TrustedSigner, source: str) -> bool:
        """Record `signer`'s certificate (already judged by the trust store); False if known."""
        if signer.bin is None:
            raise ValueError("only certificates that name a BIN can be registered for a trader")
        fingerprint = signer.fingerprint_sha256
        if fingerprint in self._known:  # registered rows are never removed: no need to look
            return False
        with unavailable_on_disconnect(), self._readers.begin() as s:
            if s.get(TraderCertificateRow, fingerprint) is not None:
                self._known.add(fingerprint)
                return False
        der = signer.certificate.public_bytes(serialization.Encoding.DER)
        try:
            with unavailable_on_disconnect(), self._sessions.begin() as s:
                s.add(
                    TraderCertificateRow(
                        fingerprint=signer.fingerprint_sha256,
                        bin=signer.bin,
                        subject=signer.subject,
                        der=der,
                        source=source,
                        registered_at=self._clock(),
                    )
                )
        except IntegrityError:  # registered concurrently by another request
            self._known.add(fingerprint)
            return False
        self._known.add(fingerprint)
        return True

    def certificate(self, fingerprint: str) -> x509.Certificate | None:
        with unavailable_on_disconnect(), self._readers.begin() as s:
            row = s.get(TraderCertificateRow, fingerprint.lower())
            # Read back through the one reader: the bytes came from a trader's KeyInfo.
            return certificates.certificate_from_der(row.der) if row is not None else None

    def list(self, bin_: str | None = None) -> list[RegisteredCertificate]:
        query = select(TraderCertificateRow).order_by(TraderCertificateRow.registered_at)
        if bin_ is not None:
            query = query.where(TraderCertificateRow.bin == bin_)
        with unavailable_on_disconnect(), self._sessions.begin() as s:
            return [
                RegisteredCertificate(r.fingerprint, r.bin, r.subject, r.source, r.registered_at)
                for r in s.scalars(query)
            ]


class StoredNonceLedger:
    """Nonces of accepted signed requests, per key, until their replay window closes.

    Shared through the database so every web node refuses a request another node already served."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._sessions = session_factory(engine)
        self._clock = clock

    def first_use(self, keyid: str, nonce: str, keep_until: dt.datetime) -> bool:
        """Record the nonce; False if it was already used with this key (a replay)."""
        try:
            with unavailable_on_disconnect(), self._sessions.begin() as s:
                s.execute(delete(RequestNonceRow).where(RequestNonceRow.expires_at < self._clock()))
                if s.get(RequestNonceRow, (keyid, nonce)) is not None:
                    return False
                s.add(RequestNonceRow(keyid=keyid, nonce=nonce, expires_at=keep_until))
        except IntegrityError:  # the same nonce raced in through another request
            return False
        return True
