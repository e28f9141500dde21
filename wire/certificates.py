"""The one reader of certificates, CRLs and public keys that come from outside (a signature's
KeyInfo, a TLS proxy's header, a device's or an agency's file, a CA's revocation list, an evidence
bundle).

`cryptography` parses lazily: loading checks little more than the outer DER, and the parts are
parsed when first read — `version`, `public_key()`, `signature_hash_algorithm`, the extensions,
the names, the validity dates can each raise (`InvalidVersion`, `UnsupportedAlgorithm`,
`ValueError`, `DuplicateExtension`, ...) long after the load, in code that expects a certificate to
be a certificate. One changed base64 character in a KeyInfo certificate did just that and escaped
as a 500. So every reader here loads *and* reads each of those parts once; what passes can be read
again without surprise (the parse is deterministic), and what fails is `UnreadableCertificate`,
which callers turn into their certificate problem. `readable()` does the same for a certificate
that was loaded elsewhere.

Because the parse is deterministic, `readable()` remembers the SHA-256 of the DER of the last
certificates it read whole (the same CA and signer certificates arrive with every request) and
does not read those bytes again; a refusal is never remembered.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import threading
from collections.abc import Callable
from typing import TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.x509.oid import NameOID

_T = TypeVar("_T")
_LENGTH_LIMITS = {
    NameOID.COUNTRY_NAME: (2, 2),
    NameOID.JURISDICTION_COUNTRY_NAME: (2, 2),
    NameOID.COMMON_NAME: (1, 64),
}


_REMEMBERED = 4096  # DER digests of certificates read whole; 32 bytes each
_read_whole: dict[bytes, None] = {}  # insertion-ordered: the oldest is forgotten first
_read_whole_lock = threading.Lock()


class UnreadableCertificate(ValueError):
    """The bytes are not a certificate (or CRL, or public key) every part of which can be read."""


def certificate_from_der(data: bytes) -> x509.Certificate:
    """A DER certificate, read whole, or `UnreadableCertificate`."""
    return _read(lambda: readable(x509.load_der_x509_certificate(data)), "certificate")


def certificate_from_base64(text: str) -> x509.Certificate:
    """A base64 DER certificate (whitespace ignored, as in ds:X509Certificate), read whole."""
    try:
        data = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise UnreadableCertificate("the certificate is not base64") from exc
    return certificate_from_der(data)


def certificate_from_pem(data: bytes) -> x509.Certificate:
    """The first PEM certificate in `data`, read whole, or `UnreadableCertificate`."""
    return _read(lambda: readable(x509.load_pem_x509_certificate(data)), "certificate")


def certificates_from_pem(data: bytes) -> list[x509.Certificate]:
    """Every certificate of a PEM bundle (at least one), each read whole."""
    return _read(
        lambda: [readable(c) for c in x509.load_pem_x509_certificates(data)], "certificate bundle"
    )


def crl_from_bytes(data: bytes) -> x509.CertificateRevocationList:
    """A CRL, PEM or DER, with every entry read, or `UnreadableCertificate`."""

    def load() -> x509.CertificateRevocationList:
        if data.lstrip().startswith(b"-----BEGIN"):
            crl = x509.load_pem_x509_crl(data)
        else:
            crl = x509.load_der_x509_crl(data)
        _ = (crl.issuer.rfc4514_string(), crl.last_update_utc, crl.next_update_utc)
        _check_name_lengths(crl.issuer)
        _ = (crl.extensions, crl.signature_hash_algorithm, crl.signature, crl.tbs_certlist_bytes)
        for entry in crl:
            _ = (entry.serial_number, entry.revocation_date_utc, entry.extensions)
        return crl

    return _read(load, "revocation list")


def public_key_from_der(data: bytes) -> PublicKeyTypes:
    """A DER SubjectPublicKeyInfo (e.g. XML-DSig 1.1 DEREncodedKeyValue), or
    `UnreadableCertificate`: an unknown key type raises `UnsupportedAlgorithm`, not ValueError."""
    return _read(lambda: serialization.load_der_public_key(data), "public key")


def readable(cert: x509.Certificate) -> x509.Certificate:
    """`cert` after reading every lazily parsed part the gateway uses; raises what
    `cryptography` raises (call it through one of the readers above, or catch it)."""
    digest = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).digest()
    if digest in _read_whole:
        return cert
    _ = (cert.version, cert.not_valid_before_utc, cert.not_valid_after_utc)
    _ = (cert.subject.rfc4514_string(), cert.issuer.rfc4514_string())
    # Two defects `cryptography` only warns about, on every read: refused here, so the answer does
    # not depend on the warnings filter (tests turn warnings into errors; production does not).
    if cert.serial_number <= 0:
        raise ValueError("its serial number is not positive (RFC 5280 §4.1.2.2)")
    _check_name_lengths(cert.subject, cert.issuer)
    _ = (cert.signature_hash_algorithm, cert.signature_algorithm_parameters, cert.signature)
    _ = (cert.public_key(), cert.extensions, cert.tbs_certificate_bytes)
    _ = cert.fingerprint(hashes.SHA256())
    with _read_whole_lock:
        _read_whole[digest] = None
        if len(_read_whole) > _REMEMBERED:
            del _read_whole[next(iter(_read_whole))]
    return cert


def _check_name_lengths(*names: x509.Name) -> None:
    """Every attribute within the length X.520 gives it (a country is two letters)."""
    for name in names:
        for attribute in name:
            limits = _LENGTH_LIMITS.get(attribute.oid)
            size = len(str(attribute.value).encode())
            if limits is not None and not limits[0] <= size <= limits[1]:
                label = attribute.rfc4514_attribute_name
                raise ValueError(f"its {label} has {size} bytes, outside {limits[0]}..{limits[1]}")


def check_readable(cert: x509.Certificate) -> x509.Certificate:
    """`readable(cert)`, with any failure as `UnreadableCertificate`."""
    return _read(lambda: readable(cert), "certificate")


def _read(load: Callable[[], _T], what: str) -> _T:
    try:
        return load()
    # Anything at all: these bytes are an attacker's, and `cryptography` raises a family of
    # unrelated types (ValueError, UnsupportedAlgorithm, InvalidVersion, DuplicateExtension,
    # UnsupportedGeneralNameType, TypeError, ...). Its Rust core may even panic, which PyO3 raises
    # as a BaseException; only the interpreter's own control exceptions go through.
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException as exc:
        raise UnreadableCertificate(f"the {what} cannot be read: {exc}") from exc
