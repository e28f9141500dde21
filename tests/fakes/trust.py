"""The trust registries (gateway.trust.representatives.Representatives,
gateway.trust.trader_keys.TraderCertificates and NonceLedger) in memory."""

from __future__ import annotations

import builtins
import datetime as dt
import threading

from cryptography import x509

from gateway.clock import Clock
from gateway.domain.identifiers import Bin
from gateway.trust.certificates import TrustedSigner
from gateway.trust.representatives import Registration, Representatives, Role
from gateway.trust.trader_keys import NonceLedger, RegisteredCertificate, TraderCertificates


class MemoryRepresentatives:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.registrations: list[Registration] = []

    def register(self, principal: Bin, representative: Bin, role: Role, note: str = "") -> bool:
        if principal == representative:
            raise ValueError("a company does not need to be registered as its own representative")
        if self._active(str(principal), str(representative), role):
            return False
        self.registrations.append(
            Registration(str(principal), str(representative), role, self.clock(), None, note)
        )
        return True

    def revoke(self, principal: Bin, representative: Bin, role: Role | None = None) -> int:
        ended = 0
        for i, r in enumerate(self.registrations):
            if (r.principal, r.representative) == (str(principal), str(representative)) and (
                r.active and (role is None or r.role is role)
            ):
                self.registrations[i] = Registration(
                    r.principal, r.representative, r.role, r.registered_at, self.clock(), r.note
                )
                ended += 1
        return ended

    def may_act_for(self, representative: str, principal: str) -> Role | None:
        found = self._active(principal, representative, None)
        return found[0].role if found else None

    def list(self, bin_: str | None = None, *, include_revoked: bool = False) -> list[Registration]:
        return [
            r
            for r in self.registrations
            if (bin_ is None or bin_ in (r.principal, r.representative))
            and (include_revoked or r.active)
        ]

    def _active(
        self, principal: str, representative: str, role: Role | None
    ) -> builtins.list[Registration]:
        return [
            r
            for r in self.registrations
            if (r.principal, r.representative) == (principal, representative)
            and r.active
            and (role is None or r.role is role)
        ]


class MemoryTraderCertificates:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.registered: dict[str, tuple[RegisteredCertificate, x509.Certificate]] = {}

    def register(self, signer: TrustedSigner, source: str) -> bool:
        if signer.bin is None:
            raise ValueError("only certificates that name a BIN can be registered for a trader")
        if signer.fingerprint_sha256 in self.registered:
            return False
        record = RegisteredCertificate(
            signer.fingerprint_sha256, signer.bin, signer.subject, source, self.clock()
        )
        self.registered[signer.fingerprint_sha256] = (record, signer.certificate)
        return True

    def certificate(self, fingerprint: str) -> x509.Certificate | None:
        found = self.registered.get(fingerprint.lower())
        return found[1] if found else None

    def list(self, bin_: str | None = None) -> list[RegisteredCertificate]:
        return [r for r, _ in self.registered.values() if bin_ is None or r.bin == bin_]


class MemoryNonceLedger:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._seen: dict[tuple[str, str], dt.datetime] = {}
        self._lock = threading.Lock()

    def first_use(self, keyid: str, nonce: str, keep_until: dt.datetime) -> bool:
        with self._lock:
            now = self.clock()
            self._seen = {k: until for k, until in self._seen.items() if until >= now}
            if (keyid, nonce) in self._seen:
                return False
            self._seen[(keyid, nonce)] = keep_until
            return True


def _implements(
    r: MemoryRepresentatives, t: MemoryTraderCertificates, n: MemoryNonceLedger
) -> tuple[Representatives, TraderCertificates, NonceLedger]:
    """Never called: `mypy tests/fakes` checks the fakes against the ports here."""
    return r, t, n
