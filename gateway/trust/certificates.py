"""The one place that decides whether a certificate is trusted.

`TrustStore.verify(leaf, extra_chain)` runs the checks below as numbered steps (the numbers are
repeated in the code) and returns a `TrustedSigner`, or raises a `gateway.errors` exception whose
detail tells the trader what to do:

0. every certificate presented can be read whole (`UnreadableCertificate`);
1. a path leaf -> intermediates -> anchor exists, each link matched by name and signature
   (`UntrustedCertificate`);
2. every CA on the path is a CA allowed to issue: BasicConstraints CA=true, keyCertSign, path
   length respected (RFC 5280 §4.2.1.9, §4.2.1.3) (`UntrustedCertificate`);
3. every certificate on the path is valid at `clock()` (`ExpiredCertificate`);
4. the leaf may be used for what it is presented for: by default signing documents (not a CA, key
   usage digitalSignature or contentCommitment: `CertificateNotForSigning`); the OMC's sign-in by
   certificate passes `usage=check_client_auth_use` (clientAuth: `CertificateNotForClientAuth`);
5. no certificate below the anchor is revoked, per a current CRL signed by its issuer (RFC 5280
   §6.3) (`RevokedCertificate`, `StaleRevocationList`).

A store holds no per-call state; CRL files are re-read when their stat changes, under a lock, so
one store can be shared by every request thread.

A verdict of trust is remembered (`_Verdict`), keyed by the DER digests of the certificates
presented, the step-4 check and the digests of the CRLs in force, for as long as it can hold: until
the first `notAfter` on the path or `nextUpdate` of a CRL used, and never before the last
`notBefore`. A new CRL file changes the key, so every certificate is judged again against it (a
revocation takes effect on the first request after the file is replaced); refusals are never
remembered.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import logging
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPublicKeyTypes
from cryptography.x509.oid import NameOID

from gateway.clock import iso
from gateway.errors import (
    ConfigurationError,
    RevokedCertificate,
    StaleRevocationList,
    UnreadableCertificate,
    UntrustedCertificate,
)
from gateway.i18n import Text
from gateway.i18n.library import library_words
from gateway.trust.checks import (
    check_ca,
    check_signing_use,
    check_validity,
    describe_name,
    extension,
    issued_by,
    subject_id,
)
from wire import certificates

log = logging.getLogger(__name__)
_K = TypeVar("_K")
_V = TypeVar("_V")

MAX_PATH_LENGTH = 6  # certificates, leaf and anchor included; ends the search on looping bundles


@dataclass(frozen=True)
class TrustedSigner:
    """A certificate that passed every step, with the path that proved it (leaf first, anchor
    last). `bin` is the valid BIN from a subject OU "BIN…" (None if there is none or more than
    one); `iin` likewise from subject serialNumber "IIN…"."""

    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    bin: str | None
    iin: str | None
    subject: str
    fingerprint_sha256: str


def load_certificates(path: Path) -> list[x509.Certificate]:
    """Every certificate in a PEM bundle; `ConfigurationError` if unreadable or there is none."""
    try:
        return certificates.certificates_from_pem(Path(path).read_bytes())
    except (OSError, ValueError) as exc:
        raise ConfigurationError(
            Text("No certificate can be read from %(path)s: %(exc)s", path=path, exc=exc)
        ) from exc


@dataclass(frozen=True)
class _CrlFile:
    stamp: tuple[int, int, int]  # (inode, mtime_ns, size): a change means "read it again"
    crl: x509.CertificateRevocationList | None  # None: missing or unreadable
    digest: bytes = b""  # SHA-256 of the CRL's DER: its identity in a verdict's key


@dataclass(frozen=True)
class _Verdict:
    """A certificate judged trusted by every step, and the times between which that holds."""

    signer: TrustedSigner
    valid_from: dt.datetime  # the latest notBefore on the path
    valid_until: dt.datetime  # the earliest notAfter on the path or nextUpdate of a CRL used


class TrustStore:
    """Trust anchors, known intermediates and CRL files, judged at the injected clock's time."""

    def __init__(
        self,
        anchors: Sequence[x509.Certificate],
        intermediates: Sequence[x509.Certificate],
        crl_paths: Sequence[Path],
        clock: Callable[[], dt.datetime],
        *,
        require_crl: bool = True,
    ) -> None:
        """`require_crl=False` only lets through certificates whose issuer has no CRL file at all;
        a stale or unverifiable CRL from an issuer is refused either way."""
        if not anchors:
            raise ConfigurationError(
                Text("The trust store needs at least one trust anchor (root CA).")
            )
        self._anchors = tuple(anchors)
        self._intermediates = tuple(intermediates)
        self._crl_paths = tuple(Path(p) for p in crl_paths)
        self._clock = clock
        self._require_crl = require_crl
        self._lock = threading.Lock()
        self._crl_files: dict[Path, _CrlFile] = {}
        # Pure functions of bytes, remembered (bounded): the same signer, CA and CRL arrive with
        # every request. Validity, usage and revocation are still judged on every call.
        self._paths: dict[tuple[bytes, ...], tuple[x509.Certificate, ...]] = {}
        self._crl_signed: dict[tuple[bytes, bytes], bool] = {}
        self._verdicts: dict[tuple[object, ...], _Verdict] = {}

    @classmethod
    def from_directory(
        cls, directory: Path, clock: Callable[[], dt.datetime], *, require_crl: bool = True
    ) -> TrustStore:
        """The dev PKI layout: root-ca.pem anchors, issuing-ca.pem, crl.pem and root-crl.pem."""
        directory = Path(directory)
        return cls(
            load_certificates(directory / "root-ca.pem"),
            load_certificates(directory / "issuing-ca.pem"),
            [directory / "crl.pem", directory / "root-crl.pem"],
            clock,
            require_crl=require_crl,
        )

    def verify(
        self,
        leaf: x509.Certificate,
        extra_chain: Sequence[x509.Certificate] = (),
        *,
        usage: Callable[[x509.Certificate], None] = check_signing_use,
    ) -> TrustedSigner:
        """Judge `leaf`, using `extra_chain` (e.g. from the signature's KeyInfo) only as
        candidate intermediates: nothing in it is trusted unless it chains to an anchor. `usage` is
        step 4: it raises unless the leaf may be used for what it is presented for."""
        now = self._clock()
        if now.tzinfo is None:
            raise ValueError("the trust store's clock must return an aware datetime")

        # A verdict reached before stands while no CRL changed and its times hold (see above).
        crl_files = self._current_crl_files()
        digests = tuple(_sha256(c) for c in (leaf, *extra_chain))
        key = (digests, usage, tuple(f.digest for f in crl_files))
        known = self._verdicts.get(key)
        if known is not None and known.valid_from <= now <= known.valid_until:
            return known.signer

        # Step 0: every certificate presented can be read whole (`wire.certificates`), whoever
        # loaded it: a lazily parsed part that fails in the steps below would be a 500.
        for cert in (leaf, *extra_chain):
            try:
                certificates.check_readable(cert)
            except certificates.UnreadableCertificate as exc:
                raise UnreadableCertificate(
                    Text(
                        "A certificate presented to the gateway cannot be read (%(why)s). Use the "
                        "certificate your certification authority issued, unchanged.",
                        why=library_words(str(exc)),
                    )
                ) from exc

        # Step 1: build the path leaf -> intermediates -> anchor.
        path = self._remembered_path(leaf, extra_chain, digests)

        # Step 2: every CA on the path may issue certificates, to this depth.
        for below, ca in enumerate(path[1:]):  # `below`: intermediates between this CA and leaf
            check_ca(ca, below)

        # Step 3: every certificate on the path is valid now.
        for cert in path:
            check_validity(cert, now)

        # Step 4: the leaf may be used for this purpose (by default: signing).
        usage(leaf)

        # Step 5: nothing below the anchor is revoked, per a current CRL from its issuer.
        crls = [f.crl for f in crl_files if f.crl is not None]
        used = [
            self._check_revocation(cert, issuer, crls, now)
            for cert, issuer in itertools.pairwise(path)
        ]

        signer = TrustedSigner(
            certificate=leaf,
            chain=path,
            bin=subject_id(leaf, NameOID.ORGANIZATIONAL_UNIT_NAME, "BIN"),
            iin=subject_id(leaf, NameOID.SERIAL_NUMBER, "IIN"),
            subject=describe_name(leaf.subject),
            fingerprint_sha256=digests[0].hex(),
        )
        until = [c.not_valid_after_utc for c in path]
        until += [crl.next_update_utc for crl in used if crl is not None and crl.next_update_utc]
        verdict = _Verdict(signer, max(c.not_valid_before_utc for c in path), min(until))
        _remember(self._verdicts, key, verdict, self._lock)
        return signer

    # --- step 1 --------------------------------------------------------------------------------

    def _remembered_path(
        self,
        leaf: x509.Certificate,
        extra_chain: Sequence[x509.Certificate],
        key: tuple[bytes, ...],
    ) -> tuple[x509.Certificate, ...]:
        """`_build_path`, remembered by `key`, the DER digests of the leaf and the extra
        certificates (the anchors and known intermediates are fixed for the store's life)."""
        path = self._paths.get(key)
        if path is None:
            path = self._build_path(leaf, tuple(self._intermediates) + tuple(extra_chain))
            _remember(self._paths, key, path, self._lock)
        return path

    def _build_path(
        self, leaf: x509.Certificate, pool: tuple[x509.Certificate, ...]
    ) -> tuple[x509.Certificate, ...]:
        if leaf in self._anchors:
            return (leaf,)
        path = self._extend((leaf,), pool)
        if path is None:
            raise UntrustedCertificate(
                Text(
                    "The certificate '%(name)s', issued by '%(issuer)s', does not chain to a "
                    "certification authority the gateway trusts. Sign with a certificate issued "
                    "by the "
                    "National Certification Authority and include its issuing CA certificate in "
                    "the "
                    "signature.",
                    name=describe_name(leaf.subject),
                    issuer=describe_name(leaf.issuer),
                )
            )
        return path

    def _extend(
        self, path: tuple[x509.Certificate, ...], pool: tuple[x509.Certificate, ...]
    ) -> tuple[x509.Certificate, ...] | None:
        """Depth-first: anchors first at every level, then any candidate not already on the path
        (several CAs may share a name, so a name match alone decides nothing)."""
        child = path[-1]
        for anchor in self._anchors:
            if issued_by(child, anchor):
                return (*path, anchor)
        if len(path) >= MAX_PATH_LENGTH - 1:
            return None
        for candidate in pool:
            if candidate not in path and issued_by(child, candidate):
                found = self._extend((*path, candidate), pool)
                if found is not None:
                    return found
        return None

    # --- step 5 --------------------------------------------------------------------------------

    def _check_revocation(
        self,
        cert: x509.Certificate,
        issuer: x509.Certificate,
        crls: Sequence[x509.CertificateRevocationList],
        now: dt.datetime,
    ) -> x509.CertificateRevocationList | None:
        """Step 5 for one link; the CRL that cleared `cert` (None if the issuer has none and
        none is required)."""
        who, by = describe_name(cert.subject), describe_name(issuer.subject)
        named = [crl for crl in crls if crl.issuer == issuer.subject]
        key = _issuer_key(issuer)
        # A CRL is believed only if the issuer may sign CRLs and its key signed this one: anyone
        # can write a CRL with the issuer's name in it.
        believed = [
            crl
            for crl in named
            if key is not None and _may_sign_crls(issuer) and self._crl_signed_by(crl, issuer, key)
        ]
        if not believed:
            if named:
                raise StaleRevocationList(
                    Text(
                        "The revocation list naming '%(by)s' is not signed by that authority, so "
                        "the "
                        "revocation status of '%(who)s' cannot be checked. Try again later; the "
                        "gateway's operators have to install a genuine revocation list.",
                        by=by,
                        who=who,
                    )
                )
            if self._require_crl:
                raise StaleRevocationList(
                    Text(
                        "The gateway has no revocation list from '%(by)s', so the revocation "
                        "status "
                        "of '%(who)s' cannot be checked. Try again later; the gateway's operators "
                        "have to install that authority's revocation list.",
                        by=by,
                        who=who,
                    )
                )
            return None
        crl = max(believed, key=_crl_order)
        # A serial on the newest believed CRL is revoked even if that CRL is past its next update
        # (revocation is permanent): check it before freshness so the trader hears the reason.
        entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
        if entry is not None:
            raise RevokedCertificate(
                Text(
                    "The certificate '%(who)s' (serial %(serial)s) was revoked by '%(by)s' on "
                    "%(when)s. Obtain a new certificate from your certification authority and "
                    "sign again.",
                    who=who,
                    serial=format(cert.serial_number, "x"),
                    by=by,
                    when=iso(entry.revocation_date_utc),
                ),
                revoked_at=iso(entry.revocation_date_utc),
            )
        if crl.next_update_utc is None or crl.next_update_utc < now:
            due = iso(crl.next_update_utc) if crl.next_update_utc else "never"
            # The trader is told to try later; the operator, who can act, is told what to do (a
            # server path is no business of the trader's, so it goes to the log, not the problem).
            log.error(
                "The revocation list %s from '%s' was due for renewal at %s, so every certificate "
                "that authority issued is refused. Fetch a fresh CRL from '%s' and put it in "
                "place of that file (in NSW_PKI_DIR); the gateway reads it again without a "
                "restart.",
                self._source_of(crl) or "(unknown file)", by, due, by,
            )  # fmt: skip
            raise StaleRevocationList(
                Text(
                    "The gateway's revocation list from '%(by)s' was due for renewal at %(due)s, "
                    "so the revocation status of '%(who)s' cannot be checked now. Try again later.",
                    by=by,
                    due=due,
                    who=who,
                ),
            )
        return crl

    def _crl_signed_by(
        self,
        crl: x509.CertificateRevocationList,
        issuer: x509.Certificate,
        key: CertificateIssuerPublicKeyTypes,
    ) -> bool:
        """`crl.is_signature_valid(key)`, remembered by the CRL's and the issuer's digests."""
        pair = (crl.fingerprint(hashes.SHA256()), issuer.fingerprint(hashes.SHA256()))
        known = self._crl_signed.get(pair)
        if known is None:
            known = crl.is_signature_valid(key)
            _remember(self._crl_signed, pair, known, self._lock)
        return known

    def _source_of(self, crl: x509.CertificateRevocationList) -> Path | None:
        with self._lock:
            return next((p for p, f in self._crl_files.items() if f.crl is crl), None)

    def _current_crl_files(self) -> list[_CrlFile]:
        """The configured CRL files, re-read only for those whose stat changed."""
        with self._lock:
            for path in self._crl_paths:
                stamp = _stamp(path)
                cached = self._crl_files.get(path)
                if cached is None or cached.stamp != stamp:
                    crl = _read_crl(path)
                    digest = crl.fingerprint(hashes.SHA256()) if crl is not None else b""
                    self._crl_files[path] = _CrlFile(stamp, crl, digest)
            return [self._crl_files[path] for path in self._crl_paths]


_REMEMBERED = 1024


@functools.lru_cache(maxsize=4096)
def _sha256(cert: x509.Certificate) -> bytes:
    """A certificate's SHA-256 fingerprint, once per certificate: the same objects come back with
    every document (`xmlsig._certificate`'s cache) and `fingerprint` encodes the certificate
    again each time (issue 17: fingerprints computed once)."""
    return cert.fingerprint(hashes.SHA256())


def _remember(memo: dict[_K, _V], key: _K, value: _V, lock: threading.Lock) -> None:
    with lock:
        memo[key] = value
        if len(memo) > _REMEMBERED:
            del memo[next(iter(memo))]  # the oldest first


# --- step 5 helpers ------------------------------------------------------------------------------


def _issuer_key(issuer: x509.Certificate) -> CertificateIssuerPublicKeyTypes | None:
    key = issuer.public_key()
    issuer_types = (
        rsa.RSAPublicKey,
        ec.EllipticCurvePublicKey,
        ed25519.Ed25519PublicKey,
        ed448.Ed448PublicKey,
    )
    return key if isinstance(key, issuer_types) else None


def _may_sign_crls(issuer: x509.Certificate) -> bool:
    usage = extension(issuer, x509.KeyUsage)
    return usage is not None and usage.crl_sign


def _crl_order(crl: x509.CertificateRevocationList) -> tuple[int, dt.datetime]:
    """Sort key, larger is newer: CRL number (RFC 5280 §5.2.3: it increases), then thisUpdate."""
    number = extension(crl, x509.CRLNumber)
    return (number.crl_number if number is not None else -1, crl.last_update_utc)


def _stamp(path: Path) -> tuple[int, int, int]:
    try:
        st = os.stat(path)
    except OSError:
        return (0, 0, -1)
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def _read_crl(path: Path) -> x509.CertificateRevocationList | None:
    """PEM or DER, read whole (`wire.certificates`); None when missing or unreadable, which step 5
    reports as no CRL."""
    try:
        return certificates.crl_from_bytes(path.read_bytes())
    except (OSError, certificates.UnreadableCertificate):
        return None
