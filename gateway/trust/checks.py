"""The certificate checks of `gateway.trust.certificates`, steps 1-4, as plain functions over one certificate.

Step 4 depends on what the certificate is presented for: `check_signing_use` (the default: signed
documents, device readings) or `check_client_auth_use` (signing in to the OMC over TLS).

Split out of `gateway.trust.certificates` to keep both modules small; `TrustStore.verify` is the only caller
that matters and decides the order. Each `check_*` returns None or raises the `gateway.errors`
exception for its step, with a sentence the trader can act on.
"""

from __future__ import annotations

import datetime as dt
from typing import TypeVar

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from gateway.clock import iso
from gateway.domain.identifiers import Bin
from gateway.errors import (
    CertificateNotForClientAuth,
    CertificateNotForSigning,
    ExpiredCertificate,
    InvalidValue,
    UntrustedCertificate,
)
from gateway.i18n import N_, Text

# An allow-list: SHA-1 and MD5 certificate signatures can be forged by collision, so a link signed
# with them (or any hash not listed) is no link at all.
ACCEPTED_HASHES = (hashes.SHA256, hashes.SHA384, hashes.SHA512)
_NAME_LABELS = {NameOID.SERIAL_NUMBER: "serialNumber"}
_E = TypeVar("_E", bound=x509.ExtensionType)


def describe_name(name: x509.Name) -> str:
    """RFC 4514 text of `name`, with serialNumber spelled out instead of its OID."""
    return name.rfc4514_string(_NAME_LABELS)


def extension(item: x509.Certificate | x509.CertificateRevocationList, kind: type[_E]) -> _E | None:
    """The value of `item`'s extension of type `kind`, or None if it has none."""
    try:
        return item.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def issued_by(child: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Step 1, one link: `issuer`'s name is `child`'s issuer and its key made `child`'s
    signature, with an accepted hash."""
    if child.issuer != issuer.subject:
        return False
    algorithm = child.signature_hash_algorithm  # None for Ed25519/Ed448, whose hash is fixed
    if algorithm is not None and not isinstance(algorithm, ACCEPTED_HASHES):
        return False
    try:
        child.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def check_ca(ca: x509.Certificate, below: int) -> None:
    """Step 2: `ca` may issue certificates with `below` intermediate CAs under it (RFC 5280
    §4.2.1.9 BasicConstraints and path length, §4.2.1.3 keyCertSign)."""
    name = describe_name(ca.subject)
    constraints = extension(ca, x509.BasicConstraints)
    if constraints is None or not constraints.ca:
        raise UntrustedCertificate(
            Text(
                "'%(name)s' issued a certificate on your chain but is not a certification authority "
                "(BasicConstraints CA=false). Sign with a certificate issued by a real CA.",
                name=name,
            )
        )
    usage = extension(ca, x509.KeyUsage)
    if usage is None or not usage.key_cert_sign:
        raise UntrustedCertificate(
            Text(
                "The CA '%(name)s' may not sign certificates (no keyCertSign key usage). Sign with a "
                "certificate issued by a CA that may issue certificates.",
                name=name,
            )
        )
    if constraints.path_length is not None and below > constraints.path_length:
        raise UntrustedCertificate(
            Text(
                "The CA '%(name)s' may have %(allowed)s CA(s) below it, but the chain has %(below)s. "
                "Sign with a certificate from a permitted chain.",
                name=name,
                allowed=constraints.path_length,
                below=below,
            )
        )


def check_validity(cert: x509.Certificate, now: dt.datetime) -> None:
    """Step 3: not_before <= now <= not_after; the error names the certificate and its dates."""
    start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
    if start <= now <= end:
        return
    sentence = (
        N_("The certificate '%(name)s' is not valid yet: it is valid from %(start)s to %(end)s, "
           "and now is %(now)s. Sign with a currently valid certificate.")
        if now < start
        else N_("The certificate '%(name)s' has expired: it is valid from %(start)s to %(end)s, "
                "and now is %(now)s. Sign with a currently valid certificate.")
    )  # fmt: skip
    raise ExpiredCertificate(
        Text(
            sentence, name=describe_name(cert.subject), start=iso(start), end=iso(end), now=iso(now)
        ),
        not_before=iso(start),
        not_after=iso(end),
    )


def check_signing_use(leaf: x509.Certificate) -> None:
    """Step 4: `leaf` is not a CA and its key usage has digitalSignature or contentCommitment
    (nonRepudiation). A missing KeyUsage extension is refused, not read as "any use"."""
    name = describe_name(leaf.subject)
    constraints = extension(leaf, x509.BasicConstraints)
    if constraints is not None and constraints.ca:
        raise CertificateNotForSigning(
            Text(
                "'%(name)s' is a certification authority's certificate, which may only issue other "
                "certificates. Sign with your personal signing certificate.",
                name=name,
            )
        )
    usage = extension(leaf, x509.KeyUsage)
    if usage is None or not (usage.digital_signature or usage.content_commitment):
        raise CertificateNotForSigning(
            Text(
                "The certificate '%(name)s' is not issued for signing (its key usage has neither "
                "digitalSignature nor nonRepudiation). Sign with your signing certificate, not the "
                "authentication or encryption one.",
                name=name,
            )
        )


def check_client_auth_use(leaf: x509.Certificate) -> None:
    """Step 4 for TLS client authentication: `leaf` is not a CA, its ExtendedKeyUsage lists
    id-kp-clientAuth, and its KeyUsage, if any, has digitalSignature or keyAgreement, the bits
    consistent with clientAuth (RFC 5280 §4.2.1.12). A missing ExtendedKeyUsage is refused, not read
    as "any purpose": a document-signing certificate does not open the OMC by accident."""
    name = describe_name(leaf.subject)
    constraints = extension(leaf, x509.BasicConstraints)
    if constraints is not None and constraints.ca:
        raise CertificateNotForClientAuth(
            Text(
                "'%(name)s' is a certification authority's certificate, which may only issue other "
                "certificates. Present your personal authentication certificate.",
                name=name,
            )
        )
    purposes = extension(leaf, x509.ExtendedKeyUsage)
    if purposes is None or ExtendedKeyUsageOID.CLIENT_AUTH not in purposes:
        raise CertificateNotForClientAuth(
            Text(
                "The certificate '%(name)s' is not issued for TLS client authentication (its extended "
                "key usage does not list clientAuth). Present your authentication certificate, not "
                "a signing, server or device one.",
                name=name,
            )
        )
    usage = extension(leaf, x509.KeyUsage)
    if usage is not None and not (usage.digital_signature or usage.key_agreement):
        raise CertificateNotForClientAuth(
            Text(
                "The certificate '%(name)s' lists clientAuth, but its key usage allows neither "
                "digitalSignature nor keyAgreement, so it cannot authenticate a TLS client.",
                name=name,
            )
        )


def subject_id(cert: x509.Certificate, oid: x509.ObjectIdentifier, prefix: str) -> str | None:
    """The one valid BIN/IIN written as `prefix` + 12 digits among the subject's `oid`
    attributes (NCA style: OU=BIN…, serialNumber=IIN…). None if there is none, or several differ."""
    found: set[str] = set()
    for attribute in cert.subject.get_attributes_for_oid(oid):
        value = attribute.value
        if isinstance(value, str) and value.startswith(prefix):
            try:
                found.add(Bin(value[len(prefix) :]).value)
            except InvalidValue:
                continue
    return found.pop() if len(found) == 1 else None
