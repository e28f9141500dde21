"""Who is in the dev PKI and what their certificates look like.

The parties (`PARTIES`) and the certificate and CRL profiles used by `gateway.pki.dev`. Profiles follow
RFC 5280: CAs carry a critical BasicConstraints with a path length and keyCertSign + cRLSign
(§4.2.1.9, §4.2.1.3); every certificate has SKI, and every issued one an AKI naming its issuer's
key (§4.2.1.1-2); CRLs carry AKI and a CRL number (§5.2.1, §5.2.3). Trader subjects imitate a Kazakh
NCA legal-entity signing certificate: C=KZ, O=company, OU=BIN…, CN=person, serialNumber=IIN….
OMC officers hold an authentication certificate instead: extended key usage clientAuth only, key
usage digitalSignature only (RFC 5280 §4.2.1.12), for signing in to the OMC through a TLS proxy.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

Role = Literal["root-ca", "issuing-ca", "gateway", "agency", "trader", "device", "officer"]
KeyType = Literal["rsa2048", "p256"]
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

ROOT_CA, ISSUING_CA = "root-ca", "issuing-ca"
CA_YEARS = {ROOT_CA: 10, ISSUING_CA: 5}
LEAF_VALIDITY = dt.timedelta(days=730)  # "2 years unless said otherwise"
CRL_LIFETIME = dt.timedelta(days=7)
# Backdate a little so a verifier whose clock lags ours by a few minutes still accepts new certs.
CLOCK_SKEW = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class PartySpec:
    """One party: slug (file stem), role, subject and key type; traders and agencies add ids."""

    slug: str
    role: Role
    subject: x509.Name
    key_type: KeyType = "rsa2048"
    bin: str | None = None
    iin: str | None = None
    agency: str | None = None
    expired: bool = False  # validity ended yesterday (not_before ~400 days ago)
    revoked: bool = False  # listed in crl.pem


def _name(*pairs: tuple[x509.ObjectIdentifier, str]) -> x509.Name:
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in pairs])


def _ca(slug: str, cn: str) -> PartySpec:
    subject = _name(
        (NameOID.COUNTRY_NAME, "KZ"),
        (NameOID.ORGANIZATION_NAME, "National Single Window"),
        (NameOID.COMMON_NAME, cn),
    )
    return PartySpec(slug, "root-ca" if slug == ROOT_CA else "issuing-ca", subject)


def _agency(code: str, cn: str, ministry: str) -> PartySpec:
    subject = _name(
        (NameOID.COUNTRY_NAME, "KZ"),
        (NameOID.ORGANIZATION_NAME, ministry),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, code),
        (NameOID.COMMON_NAME, cn),
    )
    return PartySpec(f"agency-{code}", "agency", subject, agency=code)


def _trader(
    slug: str,
    company: str,
    bin_: str,
    person: str,
    iin: str,
    *,
    key_type: KeyType = "rsa2048",
    expired: bool = False,
    revoked: bool = False,
) -> PartySpec:
    subject = _name(
        (NameOID.COUNTRY_NAME, "KZ"),
        (NameOID.ORGANIZATION_NAME, company),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, f"BIN{bin_}"),
        (NameOID.COMMON_NAME, person),
        (NameOID.SERIAL_NUMBER, f"IIN{iin}"),
    )
    return PartySpec(
        f"trader-{slug}", "trader", subject, key_type, bin_, iin, expired=expired, revoked=revoked
    )


def _device(
    slug: str, checkpoint: str, cn: str, *, expired: bool = False, revoked: bool = False
) -> PartySpec:
    """A checkpoint device (or a transit tracker): it signs its readings (RFC 9421), never
    documents for a company, so its subject names a checkpoint (OU), not a BIN. P-256 keys: a
    device signs every reading, and ECDSA signing is cheap."""
    subject = _name(
        (NameOID.COUNTRY_NAME, "KZ"),
        (NameOID.ORGANIZATION_NAME, "State Revenue Committee (Customs) devices"),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, checkpoint),
        (NameOID.COMMON_NAME, cn),
    )
    return PartySpec(slug, "device", subject, "p256", expired=expired, revoked=revoked)


def officer(slug: str, person: str, iin: str, *, expired: bool = False,
            revoked: bool = False) -> PartySpec:  # fmt: skip
    """An OMC officer's authentication certificate (a person of the OMC, not of a company)."""
    subject = _name(
        (NameOID.COUNTRY_NAME, "KZ"),
        (NameOID.ORGANIZATION_NAME, "National Single Window"),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, "Operative Management Centre"),
        (NameOID.COMMON_NAME, person),
        (NameOID.SERIAL_NUMBER, f"IIN{iin}"),
    )
    return PartySpec(slug, "officer", subject, "p256", iin=iin, expired=expired, revoked=revoked)


# Checkpoint devices (issue 9): one per stage of the electronic checkpoint at Nur Zholy, the entry
# camera at Zhibek Zholy (closes transits there) and a GNSS tracker service for transit vehicles;
# then two retired units, like the expired and revoked traders: no mapping binds them, tests do.
# Appended after the traders: `init_dev_pki` adds missing parties to an existing PKI in this order.
DEVICES: tuple[PartySpec, ...] = (
    _device("device-nurzholy-anpr", "KZ-NURZHOLY", "Nur Zholy entry plate recognition"),
    _device("device-nurzholy-radiation", "KZ-NURZHOLY", "Nur Zholy radiation portal"),
    _device("device-nurzholy-wim", "KZ-NURZHOLY", "Nur Zholy weigh-in-motion and dimensions"),
    _device("device-nurzholy-xray", "KZ-NURZHOLY", "Nur Zholy X-ray scanner"),
    _device("device-nurzholy-docs", "KZ-NURZHOLY", "Nur Zholy document registration"),
    _device("device-nurzholy-exit", "KZ-NURZHOLY", "Nur Zholy exit barrier"),
    _device("device-zhibekzholy-anpr", "KZ-ZHIBEKZHOLY", "Zhibek Zholy entry plate recognition"),
    _device("device-gnss-tracker", "KZ-TRANSIT", "Transit GNSS and e-seal tracker service"),
    _device("device-expired", "KZ-NURZHOLY", "Nur Zholy radiation portal, old unit", expired=True),
    _device("device-revoked", "KZ-NURZHOLY", "Nur Zholy radiation portal, lost unit", revoked=True),
    # The other four China-border road crossings (issue 21): six stage devices each, like Nur Zholy.
    _device("device-dostyk-anpr", "KZ-DOSTYK", "Dostyk entry plate recognition"),
    _device("device-dostyk-radiation", "KZ-DOSTYK", "Dostyk radiation portal"),
    _device("device-dostyk-wim", "KZ-DOSTYK", "Dostyk weigh-in-motion and dimensions"),
    _device("device-dostyk-xray", "KZ-DOSTYK", "Dostyk X-ray scanner"),
    _device("device-dostyk-docs", "KZ-DOSTYK", "Dostyk document registration"),
    _device("device-dostyk-exit", "KZ-DOSTYK", "Dostyk exit barrier"),
    _device("device-bakhty-anpr", "KZ-BAKHTY", "Bakhty entry plate recognition"),
    _device("device-bakhty-radiation", "KZ-BAKHTY", "Bakhty radiation portal"),
    _device("device-bakhty-wim", "KZ-BAKHTY", "Bakhty weigh-in-motion and dimensions"),
    _device("device-bakhty-xray", "KZ-BAKHTY", "Bakhty X-ray scanner"),
    _device("device-bakhty-docs", "KZ-BAKHTY", "Bakhty document registration"),
    _device("device-bakhty-exit", "KZ-BAKHTY", "Bakhty exit barrier"),
    _device("device-maikapshagai-anpr", "KZ-MAIKAPSHAGAI", "Maikapshagai entry plate recognition"),
    _device("device-maikapshagai-radiation", "KZ-MAIKAPSHAGAI", "Maikapshagai radiation portal"),
    _device(
        "device-maikapshagai-wim", "KZ-MAIKAPSHAGAI", "Maikapshagai weigh-in-motion and dimensions"
    ),
    _device("device-maikapshagai-xray", "KZ-MAIKAPSHAGAI", "Maikapshagai X-ray scanner"),
    _device("device-maikapshagai-docs", "KZ-MAIKAPSHAGAI", "Maikapshagai document registration"),
    _device("device-maikapshagai-exit", "KZ-MAIKAPSHAGAI", "Maikapshagai exit barrier"),
    _device("device-kolzhat-anpr", "KZ-KOLZHAT", "Kolzhat entry plate recognition"),
    _device("device-kolzhat-radiation", "KZ-KOLZHAT", "Kolzhat radiation portal"),
    _device("device-kolzhat-wim", "KZ-KOLZHAT", "Kolzhat weigh-in-motion and dimensions"),
    _device("device-kolzhat-xray", "KZ-KOLZHAT", "Kolzhat X-ray scanner"),
    _device("device-kolzhat-docs", "KZ-KOLZHAT", "Kolzhat document registration"),
    _device("device-kolzhat-exit", "KZ-KOLZHAT", "Kolzhat exit barrier"),
)

# Issuing order matters: the root first, then the issuing CA, then the leaves it issues.
# IINs are synthetic but pass the check digit (reference §2); tests assert that.
PARTIES: tuple[PartySpec, ...] = (
    _ca(ROOT_CA, "NSW Dev Root CA"),
    _ca(ISSUING_CA, "NSW Dev Issuing CA"),
    PartySpec(
        "gateway",
        "gateway",
        _name(
            (NameOID.COUNTRY_NAME, "KZ"),
            (NameOID.ORGANIZATION_NAME, "National Single Window"),
            (NameOID.COMMON_NAME, "NSW Gateway"),
        ),
    ),
    _agency("customs", "State Revenue Committee (Customs)", "Ministry of Finance"),
    _agency("health", "Sanitary-Epidemiological Control Committee", "Ministry of Health"),
    _agency("transport", "Transport Control Inspection", "Ministry of Transport"),
    # The stand-in treasury/bank (issue 20): signs payment callbacks and statements.
    _agency("treasury", "Committee of Treasury (stand-in bank)", "Ministry of Finance"),
    _agency("police", "Road Police", "Ministry of Internal Affairs"),
    _agency("veterinary", "Veterinary Control and Supervision Committee", "Ministry of Agriculture"),
    _agency("phytosanitary", "State Inspection Committee in the AIC", "Ministry of Agriculture"),
    _trader("steppe", "Steppe Agro LLP", "210540012341", "Aigerim Sarsenova", "850312400128"),
    _trader(
        "altyn", "Altyn Logistics LLP", "190340025677", "Nurlan Abenov", "780921300454",
        key_type="p256",
    ),
    _trader("kaztrans", "KazTrans Carrier LLP", "181240044780", "Daniyar Seitkali", "900101300017"),
    _trader(
        "expired", "Kaspi Trade LLP", "221140008918", "Madina Ospanova", "920615402315",
        expired=True,
    ),
    _trader(
        "revoked", "Revoked Goods LLP", "200740033101", "Yerlan Tulegenov", "810207300581",
        revoked=True,
    ),
    *DEVICES,
    # An OMC operator who signs in by certificate (issue 10); added to older PKIs like the devices.
    officer("officer-nurpeisova", "Aliya Nurpeisova", "880407400121"),
)  # fmt: skip


def new_key(key_type: KeyType) -> PrivateKey:
    """A fresh private key of the given type."""
    if key_type == "p256":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def validity(spec: PartySpec, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """(not_before, not_after) for `spec` issued at `now`."""
    if spec.expired:
        return now - dt.timedelta(days=400), now - dt.timedelta(days=1)
    if spec.slug in CA_YEARS:
        return now - CLOCK_SKEW, now + dt.timedelta(days=365 * CA_YEARS[spec.slug])
    return now - CLOCK_SKEW, now + LEAF_VALIDITY


def issue_certificate(
    spec: PartySpec,
    key: PrivateKey,
    issuer: tuple[x509.Certificate, PrivateKey] | None,
    now: dt.datetime,
) -> x509.Certificate:
    """The certificate for `spec`, signed by `issuer` (cert, key), or self-signed when None."""
    public = key.public_key()
    issuer_name, signing_key = (issuer[0].subject, issuer[1]) if issuer else (spec.subject, key)
    ski = x509.SubjectKeyIdentifier.from_public_key(public)
    aki = (
        x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
            issuer[0].extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        )
        if issuer
        else x509.AuthorityKeyIdentifier.from_issuer_public_key(public)
    )
    not_before, not_after = validity(spec, now)
    builder = (
        x509.CertificateBuilder()
        .subject_name(spec.subject)
        .issuer_name(issuer_name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(ski, critical=False)
        .add_extension(aki, critical=False)
    )
    is_ca = spec.role in ("root-ca", "issuing-ca")
    path_length = (1 if spec.role == "root-ca" else 0) if is_ca else None
    builder = builder.add_extension(
        x509.BasicConstraints(ca=is_ca, path_length=path_length), critical=True
    )
    builder = builder.add_extension(
        _key_usage(ca=is_ca, commitment=spec.role != "officer"), critical=True
    )
    if spec.role == "trader":
        eku = [ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.EMAIL_PROTECTION]
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    elif spec.role == "officer":
        eku = [ExtendedKeyUsageOID.CLIENT_AUTH]
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    return builder.sign(signing_key, hashes.SHA256())


def _key_usage(*, ca: bool, commitment: bool = True) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=commitment and not ca,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def make_crl(
    issuer: x509.Certificate,
    issuer_key: PrivateKey,
    revoked: Sequence[tuple[int, dt.datetime]],
    *,
    now: dt.datetime,
    next_update: dt.datetime | None = None,
    number: int = 1,
) -> x509.CertificateRevocationList:
    """A CRL by `issuer` listing (serial, revocation date) pairs, fresh from `now`.

    `next_update` defaults to `now + CRL_LIFETIME`. Raise `number` for each newer CRL (RFC 5280
    §5.2.3: CRL numbers increase), so a verifier can tell which of two CRLs is newer.
    """
    ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.subject)
        .last_update(now)
        .next_update(next_update or now + CRL_LIFETIME)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), False)
        .add_extension(x509.CRLNumber(number), critical=False)
    )
    for serial, when in revoked:
        entry = (
            x509.RevokedCertificateBuilder()
            .serial_number(serial)
            .revocation_date(when)
            .add_extension(x509.CRLReason(x509.ReasonFlags.key_compromise), critical=False)
            .build()
        )
        builder = builder.add_revoked_certificate(entry)
    return builder.sign(issuer_key, hashes.SHA256())
